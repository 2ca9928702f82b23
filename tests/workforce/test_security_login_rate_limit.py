"""Sign-in rate limits (settings.ACCOUNT_RATE_LIMITS, enforced by allauth).

What allauth really does: a wrong password counts against `login_failed` ("5/5m/ip,5/5m/key":
five per address and five per account in five minutes). Once either is used up, the sign-in
form is answered again (HTTP 200) with "Too many failed login attempts. Try again later." and
no password is checked at all, so the right one is refused too. HTTP 429 (allauth's ratelimit
page) comes only from the `login` limit, "30/m/ip": thirty sign-in posts a minute from one
address, whatever they contain.
"""

import time

import pytest
from allauth.core.internal import ratelimit

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
PASSWORD = "correct-horse-battery-staple"  # UserFactory's password  # noqa: S105
TOO_MANY = "Too many failed login attempts. Try again later."
INVALID = "The email address and/or password you specified are not correct."


class Clock:
    """Stands in for the `time` module inside allauth's rate limiter, so a test can move past
    the limit's window without waiting."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(ratelimit, "time", clock)
    return clock


def attempt(client, email: str, password: str, ip: str = "203.0.113.7"):
    return client.post(LOGIN, {"login": email, "password": password}, REMOTE_ADDR=ip)


def signed_in(client) -> bool:
    return client.get("/").wsgi_request.user.is_authenticated


def test_wrong_passwords_for_one_account_are_refused_after_five(client, clock, settings):
    assert settings.ACCOUNT_RATE_LIMITS["login_failed"] == "5/5m/ip,5/5m/key"
    user = UserFactory()

    # Five wrong passwords, each from another address, are each told the password is wrong
    for n in range(5):
        wrong = attempt(client, user.email, "wrong-password", ip=f"198.51.100.{n}")
        assert wrong.status_code == 200
        assert wrong.context["form"].errors == {"__all__": [INVALID]}

    # The sixth, from yet another address, is refused without checking the password
    sixth = attempt(client, user.email, "wrong-password", ip="198.51.100.99")
    assert sixth.status_code == 200
    assert sixth.context["form"].errors == {"__all__": [TOO_MANY]}
    assert TOO_MANY in sixth.content.decode()

    # And so is the right password, from any address, while the window lasts
    right = attempt(client, user.email, PASSWORD, ip="192.0.2.1")
    assert right.status_code == 200
    assert right.context["form"].errors == {"__all__": [TOO_MANY]}
    assert not signed_in(client)
    clock.offset = 4 * 60 + 50  # 4 min 50 s later: still inside the five minutes
    assert attempt(client, user.email, PASSWORD, ip="192.0.2.1").context["form"].errors == {
        "__all__": [TOO_MANY]
    }
    assert not signed_in(client)

    # Once five minutes have passed since the failures, the right password signs in
    clock.offset = 5 * 60 + 1
    passed = attempt(client, user.email, PASSWORD, ip="192.0.2.1")
    assert (passed.status_code, passed.url) == (302, "/")
    assert signed_in(client)


def test_the_account_limit_does_not_lock_out_other_accounts(client, clock):
    target, bystander = UserFactory(), UserFactory()
    for n in range(6):
        attempt(client, target.email, "wrong-password", ip=f"198.51.100.{n}")

    response = attempt(client, bystander.email, PASSWORD, ip="192.0.2.1")

    assert (response.status_code, response.url) == (302, "/")


def test_the_account_limit_ignores_the_case_of_the_email(client, clock):
    UserFactory(email="ada@example.com")
    for n, email in enumerate(["ada@example.com", "ADA@example.com", "Ada@Example.com"] * 2):
        attempt(client, email, "wrong-password", ip=f"198.51.100.{n}")

    response = attempt(client, "ADA@EXAMPLE.COM", PASSWORD, ip="192.0.2.1")

    assert response.context["form"].errors == {"__all__": [TOO_MANY]}
    assert not signed_in(client)


def test_five_wrong_passwords_from_one_address_block_that_address_for_every_account(client, clock):
    first, second = UserFactory(), UserFactory()
    for _ in range(5):
        attempt(client, first.email, "wrong-password", ip="203.0.113.7")

    from_there = attempt(client, second.email, PASSWORD, ip="203.0.113.7")
    from_elsewhere = attempt(client, second.email, PASSWORD, ip="192.0.2.1")

    assert from_there.context["form"].errors == {"__all__": [TOO_MANY]}
    assert (from_elsewhere.status_code, from_elsewhere.url) == (302, "/")


def test_a_successful_sign_in_does_not_count_against_the_limit(client, clock):
    user = UserFactory()
    for _ in range(4):
        attempt(client, user.email, "wrong-password", ip="192.0.2.1")
    for n in range(3):
        assert attempt(client, user.email, PASSWORD, ip="192.0.2.1").status_code == 302
        client.post("/accounts/logout/")
        assert not signed_in(client), n

    # Four failures so far: one more wrong password is still checked, the sixth is not
    fifth = attempt(client, user.email, "wrong-password", ip="192.0.2.1")
    sixth = attempt(client, user.email, PASSWORD, ip="192.0.2.1")

    assert fifth.context["form"].errors == {"__all__": [INVALID]}
    assert sixth.context["form"].errors == {"__all__": [TOO_MANY]}


def test_thirty_sign_in_posts_a_minute_from_one_address_get_429(client, clock, settings):
    assert settings.ACCOUNT_RATE_LIMITS["login"] == "30/m/ip"
    user = UserFactory()
    # Posts without a password are not authentication attempts, but each is a sign-in post
    for _ in range(30):
        assert (
            client.post(LOGIN, {"login": user.email}, REMOTE_ADDR="203.0.113.9").status_code == 200
        )

    blocked = client.post(
        LOGIN, {"login": user.email, "password": PASSWORD}, REMOTE_ADDR="203.0.113.9"
    )

    # allauth answers 429, rendered with the project's 429 page
    assert blocked.status_code == 429
    assert b"Too many attempts" in blocked.content
    assert not signed_in(client)
    # Another address is unaffected, and a minute later so is this one
    assert attempt(client, user.email, PASSWORD, ip="192.0.2.1").status_code == 302
    client.post("/accounts/logout/")
    clock.offset = 61
    assert attempt(client, user.email, PASSWORD, ip="203.0.113.9").status_code == 302
