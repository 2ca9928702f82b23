"""Signing up, confirming the email address, signing in and resetting a password (allauth)."""

import re

import pytest
from django.core import mail

from workforce.services import accounts, workers

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-and-unusual-passphrase"  # noqa: S105


def link_in(message) -> str:
    return re.search(r"https?://[^/\s]+(/\S+)", message.body).group(1)


def test_sign_up_confirm_and_sign_in(client):
    signed_up = client.post(
        "/accounts/signup/",
        {"email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert signed_up.status_code == 302
    assert not client.get("/work/", follow=False).wsgi_request.user.is_authenticated

    # The user must confirm the address before signing in
    assert [m.to for m in mail.outbox] == [["new@example.com"]]
    assert mail.outbox[0].subject == "[Groundwork] Please Confirm Your Email Address"
    blocked = client.post("/accounts/login/", {"login": "new@example.com", "password": PASSWORD})
    assert blocked.url == "/accounts/confirm-email/"

    confirmed = client.post(link_in(mail.outbox[0]))
    assert confirmed.status_code == 302
    client.logout()
    signed_in = client.post("/accounts/login/", {"login": "new@example.com", "password": PASSWORD})
    assert signed_in.url == "/"
    assert client.get("/").context["user"].email == "new@example.com"


def test_password_reset_by_email(client):
    user = accounts.user_create(
        email="forgetful@example.com", password="old-password-1234", email_verified=True
    )

    client.post("/accounts/password/reset/", {"email": "forgetful@example.com"})
    # The emailed link leads to the form for a new password (allauth hides the key behind a
    # redirect); posting the form there sets it.
    form = client.get(link_in(mail.outbox[0]), follow=True)
    changed = client.post(form.request["PATH_INFO"], {"password1": PASSWORD, "password2": PASSWORD})

    assert changed.status_code == 302
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


@pytest.mark.parametrize(
    "path",
    ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/", "/"],
)
def test_account_pages_use_the_product_layout(client, path):
    page = client.get(path)

    assert page.status_code == 200
    assert b"Groundwork" in page.content
    assert b"marketplace/app.css" in page.content


def test_an_address_with_capitals_signs_in_however_it_is_typed(client):
    accounts.user_create(email="Ana@Example.com", password=PASSWORD, email_verified=True)

    for typed in ("Ana@Example.com", "ana@example.com"):
        client.logout()
        signed_in = client.post("/accounts/login/", {"login": typed, "password": PASSWORD})
        assert signed_in.status_code == 302, typed
        assert signed_in.url == "/"


def test_a_banned_worker_is_told_so_instead_of_the_join_form(client, worker):
    workers.worker_ban(worker=worker, reason="Copying answers between accounts.")
    client.force_login(worker.user)

    page = client.get("/work/join")

    assert page.status_code == 403
    assert b"Copying answers between accounts." in page.content
    assert b"accept_terms" not in page.content


def test_a_key_for_a_user_without_any_role_is_refused(capsys):
    from django.core.management import CommandError, call_command

    accounts.user_create(email="nobody@example.com", password=PASSWORD, email_verified=True)

    with pytest.raises(CommandError, match="holds no role yet"):
        call_command("create_api_key", "--email", "nobody@example.com")
