"""API keys: stored hashed, `Authorization: Bearer <key>`, revocation, the create command."""

import hashlib
import io
import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import UserFactory, WorkerFactory
from workforce.models import ApiKey
from workforce.services import accounts as services

pytestmark = pytest.mark.django_db

BOARD = "/api/v1/worker/jobs"
EMPTY_PAGE = {"count": 0, "next": None, "previous": None, "results": []}
KEY_PATTERN = re.compile(r"gw_(?P<prefix>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{43})")
INVALID_KEY = {
    "code": "authentication_failed",
    "detail": "The API key is not valid or was revoked.",
    "fields": {},
}
NOT_AUTHENTICATED = {
    "code": "not_authenticated",
    "detail": "Authentication credentials were not provided.",
    "fields": {},
}


def client_with(header: str | None) -> APIClient:
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    return client


def stored_row_text(key: ApiKey) -> str:
    """The whole database row of a key, every column, as PostgreSQL holds it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT row_to_json(k)::text FROM workforce_apikey k WHERE id = %s", [key.pk]
        )
        return cursor.fetchone()[0]


# --- creation and storage ------------------------------------------------------------------------


def test_api_key_create_stores_only_a_sha256_hash_of_the_secret(worker):
    # When a key is created
    key, raw_key = services.api_key_create(user=worker.user, name="laptop")

    # Then the plain key has the documented shape
    match = KEY_PATTERN.fullmatch(raw_key)
    assert match is not None, raw_key
    # And the row holds the prefix and the SHA-256 of the secret, never the secret itself
    key.refresh_from_db()
    assert key.prefix == match["prefix"]
    assert key.hashed_secret == hashlib.sha256(match["secret"].encode()).hexdigest()
    assert (key.user, key.name, key.last_used_at, key.revoked_at) == (
        worker.user,
        "laptop",
        None,
        None,
    )
    row = stored_row_text(key)
    assert match["secret"] not in row
    assert raw_key not in row


def test_each_key_is_different(worker):
    keys = [services.api_key_create(user=worker.user, name=f"k{n}") for n in range(5)]

    assert len({raw for _, raw in keys}) == 5
    assert len({key.prefix for key, _ in keys}) == 5


# --- authenticating requests ---------------------------------------------------------------------


def test_bearer_key_authenticates_a_worker_on_the_job_board(worker):
    _, raw_key = services.api_key_create(user=worker.user, name="tests")

    response = client_with(f"Bearer {raw_key}").get(BOARD)

    assert response.status_code == 200
    assert response.json() == EMPTY_PAGE


def test_bearer_key_authenticates_a_requester_on_the_job_list(requester):
    _, raw_key = services.api_key_create(user=requester, name="tests")

    response = client_with(f"Bearer {raw_key}").get("/api/v1/labeling-jobs")

    assert response.status_code == 200
    assert response.json() == EMPTY_PAGE


def test_authentication_records_last_used_at(worker):
    # Given a key never used
    key, raw_key = services.api_key_create(user=worker.user, name="tests")
    client = client_with(f"Bearer {raw_key}")

    # When it is used
    before = timezone.now()
    assert client.get(BOARD).status_code == 200
    after = timezone.now()

    # Then the time of use is recorded
    key.refresh_from_db()
    assert before <= key.last_used_at <= after
    first_use = key.last_used_at

    # And a second use within the minute does not write again
    assert client.get(BOARD).status_code == 200
    key.refresh_from_db()
    assert key.last_used_at == first_use

    # But a use more than a minute after the recorded one does
    # (moving the recorded time back stands in for waiting a minute)
    long_ago = timezone.now() - timedelta(minutes=2)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=long_ago)
    before = timezone.now()
    assert client.get(BOARD).status_code == 200
    key.refresh_from_db()
    assert key.last_used_at >= before


def test_a_wrong_secret_with_a_right_prefix_is_refused(worker):
    # Given a real key, and a forged one that reuses its prefix
    key, raw_key = services.api_key_create(user=worker.user, name="tests")
    forged = f"gw_{key.prefix}_{'A' * 43}"
    assert forged != raw_key

    # When the forged key is used
    response = client_with(f"Bearer {forged}").get(BOARD)

    # Then it is refused in the one error shape, and the key is not marked as used
    assert response.status_code == 401
    assert response.json() == INVALID_KEY
    assert response["WWW-Authenticate"] == "Bearer"
    key.refresh_from_db()
    assert key.last_used_at is None


def test_a_revoked_key_is_refused(worker):
    # Given a key that worked, then was revoked
    key, raw_key = services.api_key_create(user=worker.user, name="tests")
    client = client_with(f"Bearer {raw_key}")
    assert client.get(BOARD).status_code == 200
    services.api_key_revoke(key=key)

    # When it is used again
    response = client.get(BOARD)

    # Then it is refused
    assert response.status_code == 401
    assert response.json() == INVALID_KEY


def test_revoking_twice_keeps_the_first_revocation_time(worker):
    key, _ = services.api_key_create(user=worker.user, name="tests")
    services.api_key_revoke(key=key)
    key.refresh_from_db()
    revoked_at = key.revoked_at

    services.api_key_revoke(key=key)

    key.refresh_from_db()
    assert key.revoked_at == revoked_at
    assert key.is_active is False


def test_a_key_of_a_deactivated_user_is_refused(worker):
    _, raw_key = services.api_key_create(user=worker.user, name="tests")
    worker.user.is_active = False
    worker.user.save(update_fields=["is_active"])

    response = client_with(f"Bearer {raw_key}").get(BOARD)

    assert response.status_code == 401
    assert response.json() == INVALID_KEY


@pytest.mark.parametrize(
    ("header", "status", "body"),
    [
        # No credentials at all: DRF answers 401 with the first scheme, "Bearer"
        (None, 401, NOT_AUTHENTICATED),
        # A scheme this API does not know is ignored, so the request is anonymous
        ("Token abc", 401, NOT_AUTHENTICATED),
        ("Basic dXNlcjpwYXNz", 401, NOT_AUTHENTICATED),
        # "Bearer" with a missing or malformed key is a failed authentication
        ("Bearer", 401, INVALID_KEY),
        ("Bearer ", 401, INVALID_KEY),
        ("Bearer not-a-key", 401, INVALID_KEY),
        ("Bearer gw_only-two-parts", 401, INVALID_KEY),
        ("Bearer xx_abcdef012345_secret", 401, INVALID_KEY),
        ("Bearer gw_abcdef012345_secret extra", 401, INVALID_KEY),
        ("Bearer gw_ffffffffffff_" + "A" * 43, 401, INVALID_KEY),
    ],
)
def test_malformed_or_unknown_credentials_are_refused(worker, header, status, body):
    response = client_with(header).get(BOARD)

    assert response.status_code == status
    assert response.json() == body
    assert response["WWW-Authenticate"] == "Bearer"
    assert ApiKey.objects.filter(last_used_at__isnull=False).count() == 0


def test_the_bearer_scheme_name_is_case_insensitive(worker):
    # RFC 7235 section 2.1: the authentication scheme is a case-insensitive token, so
    # "bearer <key>" must authenticate as "Bearer <key>" does (DRF's TokenAuthentication does so).
    _, raw_key = services.api_key_create(user=worker.user, name="tests")

    response = client_with(f"bearer {raw_key}").get(BOARD)

    assert response.status_code == 200
    assert response.json() == EMPTY_PAGE


# --- the create_api_key command ------------------------------------------------------------------


def test_create_api_key_command_prints_a_working_key(worker):
    # When the command is run for the worker's email
    out = io.StringIO()
    call_command("create_api_key", "--email", worker.user.email, stdout=out)

    # Then it prints one key, on one line, that authenticates as that user
    printed = out.getvalue()
    assert printed.endswith("\n")
    raw_key = printed.strip()
    match = KEY_PATTERN.fullmatch(raw_key)
    assert match is not None, printed
    key = ApiKey.objects.get(user=worker.user, prefix=match["prefix"])
    assert key.name == "command line"
    assert match["secret"] not in stored_row_text(key)
    response = client_with(f"Bearer {raw_key}").get(BOARD)
    assert response.status_code == 200
    assert response.json() == EMPTY_PAGE


def test_create_api_key_command_finds_the_email_case_insensitively_and_takes_a_name():
    user = WorkerFactory(user=UserFactory(email="Ada.Lovelace@example.com")).user
    out = io.StringIO()

    call_command(
        "create_api_key", "--email", "ADA.LOVELACE@EXAMPLE.COM", "--name", "ci", stdout=out
    )

    key = ApiKey.objects.get()
    assert (key.user, key.name) == (user, "ci")
    assert services.api_key_authenticate(raw_key=out.getvalue().strip()) == key


def test_create_api_key_command_refuses_an_unknown_email(worker):
    out = io.StringIO()

    with pytest.raises(CommandError) as refused:
        call_command("create_api_key", "--email", "nobody@example.com", stdout=out)

    assert str(refused.value) == "No user has the email address nobody@example.com."
    assert out.getvalue() == ""
    assert ApiKey.objects.count() == 0
