"""allauth's headless API for app clients, mounted at /_allauth/ (HEADLESS_CLIENTS "app" and
"browser"). App clients carry the session in an `X-Session-Token` header instead of a cookie."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client

from tests.factories import UserFactory
from tests.workforce.test_security_mfa import finance_user, totp_activate, totp_code
from workforce.models import User

pytestmark = pytest.mark.django_db

APP = "/_allauth/app/v1"
PASSWORD = "correct-horse-battery-staple"  # UserFactory's password  # noqa: S105
NEW_PASSWORD = "a-long-and-unusual-passphrase"  # noqa: S105


def app_client() -> Client:
    """An app has no cookies: every request is made by a fresh client."""
    return Client()


def post(path: str, data: dict, token: str | None = None):
    headers = {"X-Session-Token": token} if token else {}
    return app_client().post(f"{APP}{path}", data, content_type="application/json", headers=headers)


def get(path: str, token: str | None = None):
    headers = {"X-Session-Token": token} if token else {}
    return app_client().get(f"{APP}{path}", headers=headers)


def user_data(user: User) -> dict:
    return {"id": user.pk, "display": user.email, "email": user.email, "has_usable_password": True}


def test_config():
    response = get("/config")

    assert response.status_code == 200
    assert response.json() == {
        "status": 200,
        "data": {
            "account": {
                "login_methods": ["email"],
                "is_open_for_signup": True,
                "email_verification_by_code_enabled": False,
                "login_by_code_enabled": False,
                "password_reset_by_code_enabled": False,
                "authentication_method": "email",
            },
            "socialaccount": {"providers": []},
            "mfa": {"supported_types": ["totp", "recovery_codes"], "passkey_login_enabled": False},
        },
    }


def test_login_returns_a_session_token_that_authenticates_the_session():
    # Given a user with a verified email
    user = UserFactory()

    # When the app signs in with email and password
    response = post("/auth/login", {"email": user.email, "password": PASSWORD})

    # Then it gets a session token
    assert response.status_code == 200
    body = response.json()
    token = body["meta"]["session_token"]
    assert re.fullmatch(r"[a-z0-9]{32}", token)
    assert body["meta"]["is_authenticated"] is True
    assert body["data"]["user"] == user_data(user)
    assert [m["method"] for m in body["data"]["methods"]] == ["password"]

    # And the session, asked with that token only, is the user's
    session = get("/auth/session", token)
    assert session.status_code == 200
    assert session.json()["meta"] == {"is_authenticated": True}
    assert session.json()["data"]["user"] == user_data(user)

    # And without the token the app is not signed in
    anonymous = get("/auth/session")
    assert anonymous.status_code == 401
    assert anonymous.json()["meta"] == {"is_authenticated": False}

    # When the app signs out, the token stops working
    signed_out = app_client().delete(f"{APP}/auth/session", headers={"X-Session-Token": token})
    assert signed_out.status_code == 401
    assert get("/auth/session", token).status_code == 410


def test_login_with_a_wrong_password_is_refused_without_a_token():
    user = UserFactory()

    response = post("/auth/login", {"email": user.email, "password": "wrong-password"})

    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "errors": [
            {
                "message": "The email address and/or password you specified are not correct.",
                "code": "email_password_mismatch",
                "param": "password",
            }
        ],
    }


def test_login_of_an_unverified_email_waits_for_verification():
    from workforce.services import accounts

    user = accounts.user_create(email="new@example.com", password=PASSWORD)

    response = post("/auth/login", {"email": user.email, "password": PASSWORD})

    assert response.status_code == 401
    body = response.json()
    assert body["meta"]["is_authenticated"] is False
    assert {"id": "verify_email", "is_pending": True} in body["data"]["flows"]
    assert get("/auth/session", body["meta"]["session_token"]).status_code == 401


def test_login_of_an_mfa_user_asks_for_the_code():
    # Given a finance user with an authenticator app
    user = finance_user()
    secret = totp_activate(user)

    # When the app signs in with the password, the session waits for the code
    first = post("/auth/login", {"email": user.email, "password": PASSWORD})
    assert first.status_code == 401
    token = first.json()["meta"]["session_token"]
    assert {"id": "mfa_authenticate", "is_pending": True, "types": ["totp"]} in first.json()[
        "data"
    ]["flows"]

    # When it sends the code from the app, the session is signed in
    second = post("/auth/2fa/authenticate", {"code": totp_code(secret)}, token)
    assert second.status_code == 200
    assert second.json()["meta"]["is_authenticated"] is True
    # And signing in gave the session a new token
    signed_in_token = second.json()["meta"]["session_token"]
    assert signed_in_token != token
    assert get("/auth/session", signed_in_token).json()["data"]["user"] == user_data(user)


def confirmation_key(message) -> str:
    return re.search(r"/accounts/confirm-email/([^/\s]+)/", message.body).group(1)


def test_signup_sends_a_confirmation_and_verifying_signs_in():
    # When an app signs up a new user
    response = post("/auth/signup", {"email": "new@example.com", "password": NEW_PASSWORD})

    # Then the user exists, unverified, and the session waits for the email to be verified
    assert response.status_code == 401
    body = response.json()
    assert body["meta"]["is_authenticated"] is False
    assert {"id": "verify_email", "is_pending": True} in body["data"]["flows"]
    token = body["meta"]["session_token"]
    user = User.objects.get(email="new@example.com")
    assert user.check_password(NEW_PASSWORD)
    assert list(EmailAddress.objects.filter(user=user).values_list("email", "verified")) == [
        ("new@example.com", False)
    ]
    # And a confirmation email was sent. Its link is the site's own confirmation page
    # (HEADLESS_FRONTEND_URLS is not set); the app can post the key from it instead.
    assert [m.to for m in mail.outbox] == [["new@example.com"]]
    assert mail.outbox[0].subject == "[Groundwork] Please Confirm Your Email Address"
    key = confirmation_key(mail.outbox[0])

    # When the app verifies the email with the key
    verified = post("/auth/email/verify", {"key": key}, token)

    # Then the address is verified and the session signed in
    assert verified.status_code == 200
    assert verified.json()["meta"]["is_authenticated"] is True
    assert verified.json()["data"]["user"]["email"] == "new@example.com"
    assert EmailAddress.objects.get(user=user).verified is True
    # And signing in gave the session a new token; the pending one is gone
    signed_in_token = verified.json()["meta"]["session_token"]
    assert signed_in_token != token
    assert get("/auth/session", signed_in_token).status_code == 200
    assert get("/auth/session", token).status_code == 410


@pytest.mark.parametrize(
    ("payload", "param", "message"),
    [
        (
            {"email": "new@example.com", "password": "short"},
            "password",
            "This password is too short. It must contain at least 8 characters.",
        ),
        (
            {"email": "not-an-email", "password": NEW_PASSWORD},
            "email",
            "Enter a valid email address.",
        ),
        ({"password": NEW_PASSWORD}, "email", "This field is required."),
    ],
)
def test_signup_with_bad_input_creates_no_user(payload, param, message):
    response = post("/auth/signup", payload)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {"param": param, "message": message} in [
        {"param": e.get("param"), "message": e["message"]} for e in errors
    ]
    assert User.objects.count() == 0
    assert mail.outbox == []


def test_signup_with_a_taken_email_creates_nothing_and_reveals_nothing():
    # allauth prevents account enumeration: the answer looks like a fresh sign-up, and the
    # owner of the address is told by email instead
    UserFactory(email="taken@example.com")

    response = post("/auth/signup", {"email": "TAKEN@example.com", "password": NEW_PASSWORD})

    assert response.status_code == 401
    assert {"id": "verify_email", "is_pending": True} in response.json()["data"]["flows"]
    assert User.objects.count() == 1
    assert [m.to for m in mail.outbox] == [["taken@example.com"]]
    assert "/accounts/confirm-email/" not in mail.outbox[0].body


def test_the_session_token_of_an_app_calls_the_api(worker):
    # Given a worker signed in through the app API
    token = post("/auth/login", {"email": worker.user.email, "password": PASSWORD}).json()["meta"][
        "session_token"
    ]

    # Then the token works on the REST API as the worker, and a made-up one does not
    board = app_client().get("/api/v1/worker/jobs", headers={"X-Session-Token": token})
    forged = app_client().get("/api/v1/worker/jobs", headers={"X-Session-Token": "x" * 32})
    assert (board.status_code, board.json()["count"]) == (200, 0)
    assert forged.status_code in (401, 403)
