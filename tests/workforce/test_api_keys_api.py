"""`/api/v1/api-keys`: any signed-in user lists, creates and revokes their own keys, scoped to
the roles they hold. The plain key is shown once; finance staff and vendor managers need MFA."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.conftest import bearer_client
from tests.factories import OrganizationFactory, UserFactory, WorkerFactory
from tests.workforce.test_security_mfa import finance_user, totp_activate, vendor_manager
from workforce.models import ApiKey, User
from workforce.services import accounts as services

pytestmark = pytest.mark.django_db

URL = "/api/v1/api-keys"
KEY_PATTERN = re.compile(r"gw_(?P<prefix>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{43})")
NOT_AUTHENTICATED = {
    "code": "not_authenticated",
    "detail": "Authentication credentials were not provided.",
    "fields": {},
}
NOT_FOUND = {"code": "not_found", "detail": "Not found.", "fields": {}}
MFA_REQUIRED = {
    "code": "mfa_required",
    "detail": "Set up two-factor authentication (an authenticator app) to create API keys.",
    "fields": {},
}


def session_client(user: User) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def requester_and_worker() -> User:
    """A user who is both a requester (organisation owner) and a worker."""
    user = OrganizationFactory().memberships.get().user
    services.worker_register(user=user, display_name="Both", accept_terms=True)
    return user


def as_json_time(moment) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def output(key: ApiKey) -> dict:
    key.refresh_from_db()
    return {
        "id": key.pk,
        "name": key.name,
        "prefix": key.prefix,
        "roles": key.roles,
        "created_at": as_json_time(key.created_at),
        "last_used_at": as_json_time(key.last_used_at),
        "revoked_at": as_json_time(key.revoked_at),
    }


def keys_state() -> list[tuple]:
    return list(ApiKey.objects.order_by("pk").values_list("user", "name", "roles", "revoked_at"))


# --- listing --------------------------------------------------------------------------------------


def test_list_shows_only_the_users_own_keys_newest_first_paginated():
    # Given a user with two keys (one revoked) and another user's key
    user = requester_and_worker()
    older, _ = services.api_key_create(user=user, name="older", roles=["requester"])
    newer, _ = services.api_key_create(user=user, name="newer")
    services.api_key_revoke(key=older)
    ApiKey.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(days=1))
    services.api_key_create(user=WorkerFactory().user, name="someone else's")

    # When the user lists their keys with a session
    response = session_client(user).get(URL)

    # Then they see their own two, newest first, without any secret
    assert response.status_code == 200
    assert response.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [output(newer), output(older)],
    }
    assert output(newer)["roles"] == ["requester", "worker"]
    assert "hashed_secret" not in response.content.decode()


def test_list_pages():
    user = WorkerFactory().user
    for n in range(3):
        services.api_key_create(user=user, name=f"k{n}")

    response = session_client(user).get(URL, {"page_size": 2})

    body = response.json()
    assert (body["count"], len(body["results"])) == (3, 2)
    assert body["next"] == "http://testserver/api/v1/api-keys?page=2&page_size=2"


def role_client(role: str, request) -> APIClient | None:
    """A client per role, each with one key already (the key it signs in with, or one
    made for the session user) so the list's count is 1 for all but the anonymous."""
    if role == "anonymous":
        return APIClient()
    users = {
        "no role": UserFactory,
        "worker": lambda: WorkerFactory().user,
        "requester": lambda: OrganizationFactory().memberships.get().user,
        "vendor manager with MFA": lambda: _with_mfa(vendor_manager()),
        "finance with MFA": lambda: _with_mfa(finance_user()),
        "vendor manager without MFA": vendor_manager,
        "finance without MFA": finance_user,
    }
    user = users[role]()
    if role.endswith("without MFA"):
        # Their keys were made before MFA was required (the create command, an admin)
        services.api_key_create(user=user, name="tests")
        return session_client(user)
    return bearer_client(user)


def _with_mfa(user: User) -> User:
    totp_activate(user)
    return user


SIGNED_IN = [
    "no role",
    "worker",
    "requester",
    "vendor manager with MFA",
    "finance with MFA",
    "vendor manager without MFA",
    "finance without MFA",
]


@pytest.mark.parametrize(
    ("role", "status"), [("anonymous", 401), *[(role, 200) for role in SIGNED_IN]]
)
def test_list_by_role(request, role, status):
    response = role_client(role, request).get(URL)

    assert response.status_code == status
    if status == 401:
        assert response.json() == NOT_AUTHENTICATED
    else:
        assert [k["name"] for k in response.json()["results"]] == ["tests"]


# --- creating -------------------------------------------------------------------------------------

CREATE_BY_ROLE = {
    "anonymous": (401, None),
    "no role": (400, None),
    "worker": (201, ["worker"]),
    "requester": (201, ["requester"]),
    "vendor manager with MFA": (201, ["vendor_manager"]),
    "finance with MFA": (201, ["finance"]),
    "vendor manager without MFA": (403, None),
    "finance without MFA": (403, None),
}


@pytest.mark.parametrize(("role", "expected"), CREATE_BY_ROLE.items())
def test_create_by_role(request, role, expected):
    status, roles = expected
    client = role_client(role, request)
    before = keys_state()

    response = client.post(URL, {"name": "ci"}, format="json")

    assert response.status_code == status
    body = response.json()
    if status == 201:
        key = ApiKey.objects.get(pk=body["id"])
        assert body == {**output(key), "key": body["key"]}
        assert (key.name, key.roles) == ("ci", roles)
        assert keys_state() == [*before, (key.user_id, "ci", roles, None)]
    else:
        assert keys_state() == before
    if status == 401:
        assert body == NOT_AUTHENTICATED
    if status == 403:
        assert body == MFA_REQUIRED
    if role == "no role":
        assert body == {
            "code": "no_roles",
            "detail": "A key must act in at least one role.",
            "fields": {"roles": ["A key must act in at least one role."]},
        }


def test_create_shows_the_plain_key_once_and_it_works():
    # Given a requester who is also a worker, signed in with a session
    user = requester_and_worker()
    client = session_client(user)

    # When they create a key without naming roles
    response = client.post(URL, {"name": "laptop"}, format="json")

    # Then the key acts in every role they hold, and the plain key is in the answer only
    assert response.status_code == 201
    body = response.json()
    match = KEY_PATTERN.fullmatch(body["key"])
    assert match is not None, body["key"]
    key = ApiKey.objects.get()
    assert body == {
        "id": key.pk,
        "name": "laptop",
        "prefix": match["prefix"],
        "roles": ["requester", "worker"],
        "created_at": as_json_time(key.created_at),
        "last_used_at": None,
        "revoked_at": None,
        "key": body["key"],
    }
    assert services.api_key_authenticate(raw_key=body["key"]) == key
    # And no later answer shows it again
    listed = client.get(URL).json()["results"]
    assert listed == [output(key)]
    assert body["key"] not in client.get(URL).content.decode()
    # And the key works on the API in both roles
    with_key = APIClient()
    with_key.credentials(HTTP_AUTHORIZATION=f"Bearer {body['key']}")
    assert with_key.get("/api/v1/labeling-jobs").status_code == 200
    assert with_key.get("/api/v1/worker/jobs").status_code == 200


def test_a_key_with_a_subset_of_roles_acts_only_in_them():
    user = requester_and_worker()

    response = session_client(user).post(
        URL, {"name": "labeler", "roles": ["worker"]}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["roles"] == ["worker"]
    with_key = APIClient()
    with_key.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['key']}")
    assert with_key.get("/api/v1/worker/jobs").status_code == 200
    refused = with_key.get("/api/v1/labeling-jobs")
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"


def test_a_role_the_user_does_not_hold_is_refused_on_roles():
    worker = WorkerFactory()
    client = session_client(worker.user)

    response = client.post(URL, {"name": "x", "roles": ["worker", "finance"]}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "code": "role_not_held",
        "detail": "A key can act only in roles its user holds (worker).",
        "fields": {"roles": ["A key can act only in roles its user holds (worker)."]},
    }
    assert ApiKey.objects.count() == 0


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, {"name": ["This field is required."]}),
        ({"name": ""}, {"name": ["This field may not be blank."]}),
        ({"name": "x" * 101}, {"name": ["Ensure this field has no more than 100 characters."]}),
        ({"name": "x", "roles": []}, {"roles": ["This list may not be empty."]}),
        ({"name": "x", "roles": ["boss"]}, {"roles[0]": ['"boss" is not a valid choice.']}),
        (
            {"name": "x", "roles": "worker"},
            {"roles": ['Expected a list of items but got type "str".']},
        ),
    ],
)
def test_invalid_input_is_refused_naming_the_field(worker, payload, fields):
    response = session_client(worker.user).post(URL, payload, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "detail": "The request is not valid.",
        "fields": fields,
    }
    assert ApiKey.objects.count() == 0


def test_a_key_creates_keys_only_within_its_own_roles():
    # Given a requester-and-worker whose key acts only as a worker
    user = requester_and_worker()
    _, raw_key = services.api_key_create(user=user, name="worker only", roles=["worker"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")

    # When the key creates a key without naming roles, the new key is a worker key too
    default = client.post(URL, {"name": "child"}, format="json")
    assert default.status_code == 201
    assert default.json()["roles"] == ["worker"]

    # And it cannot create a key stronger than itself
    before = keys_state()
    stronger = client.post(URL, {"name": "escalate", "roles": ["requester"]}, format="json")
    assert stronger.status_code == 400
    assert stronger.json() == {
        "code": "role_not_held",
        "detail": "A key can create keys only in its own roles (worker).",
        "fields": {"roles": ["A key can create keys only in its own roles (worker)."]},
    }
    assert keys_state() == before


def test_vendor_manager_without_mfa_creates_no_key_even_for_another_role():
    user = vendor_manager()
    services.worker_register(user=user, accept_terms=True)

    response = session_client(user).post(URL, {"name": "x", "roles": ["worker"]}, format="json")

    assert response.status_code == 403
    assert response.json() == MFA_REQUIRED
    assert ApiKey.objects.count() == 0


# --- revoking -------------------------------------------------------------------------------------


def test_revoke_own_key():
    # Given a worker's key that works
    worker = WorkerFactory()
    key, raw_key = services.api_key_create(user=worker.user, name="old laptop")
    with_key = APIClient()
    with_key.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert with_key.get("/api/v1/worker/jobs").status_code == 200
    client = session_client(worker.user)

    # When they revoke it
    before = timezone.now()
    response = client.post(f"{URL}/{key.pk}/revoke")

    # Then it is revoked now, shown as such, and no longer authenticates
    assert response.status_code == 200
    assert response.json() == output(key)
    key.refresh_from_db()
    assert key.revoked_at >= before
    assert with_key.get("/api/v1/worker/jobs").status_code == 401

    # And revoking again keeps the first time
    again = client.post(f"{URL}/{key.pk}/revoke")
    assert again.status_code == 200
    assert again.json()["revoked_at"] == as_json_time(key.revoked_at)


def test_a_key_can_revoke_itself():
    worker = WorkerFactory()
    key, raw_key = services.api_key_create(user=worker.user, name="self")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")

    assert client.post(f"{URL}/{key.pk}/revoke").status_code == 200
    assert client.get(URL).status_code == 401


@pytest.mark.parametrize("how", ["session", "key"])
def test_revoking_another_users_key_is_not_found_and_changes_nothing(how):
    theirs, _ = services.api_key_create(user=WorkerFactory().user, name="theirs")
    me = WorkerFactory().user
    client = session_client(me) if how == "session" else bearer_client(me)
    before = keys_state()

    response = client.post(f"{URL}/{theirs.pk}/revoke")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert keys_state() == before


def test_revoking_an_unknown_key_is_not_found(worker):
    response = session_client(worker.user).post(f"{URL}/999999/revoke")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_revoking_needs_a_signed_in_user():
    key, _ = services.api_key_create(user=WorkerFactory().user, name="k")

    response = APIClient().post(f"{URL}/{key.pk}/revoke")

    assert response.status_code == 401
    assert response.json() == NOT_AUTHENTICATED
    key.refresh_from_db()
    assert key.revoked_at is None


def test_vendor_manager_without_mfa_can_still_revoke_a_key():
    # Revoking only takes power away; it needs no MFA
    user = vendor_manager()
    key, _ = services.api_key_create(user=user, name="old")

    response = session_client(user).post(f"{URL}/{key.pk}/revoke")

    assert response.status_code == 200
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_list_makes_one_query_for_the_keys(django_assert_num_queries, worker):
    for n in range(5):
        services.api_key_create(user=worker.user, name=f"k{n}")
    client = session_client(worker.user)
    client.get(URL)  # warm the session

    # session + user + count + page of keys
    with django_assert_num_queries(4):
        response = client.get(URL)

    assert response.json()["count"] == 5
