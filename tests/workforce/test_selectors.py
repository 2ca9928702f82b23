"""Who counts as a worker: worker_for, the IsWorker permission, and the job board by role."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from tests.conftest import bearer_client
from tests.factories import UserFactory, WorkerFactory
from workforce.models import ApiKey, Worker
from workforce.selectors import accounts as selectors
from workforce.services import accounts as services

pytestmark = pytest.mark.django_db

BOARD = "/api/v1/worker/jobs"


def ban(worker: Worker) -> Worker:
    # There is no ban service yet; the field is what worker_for reads.
    worker.banned_at = timezone.now()
    worker.ban_reason = "gold failures"
    worker.save(update_fields=["banned_at", "ban_reason"])
    return worker


def test_worker_for_returns_the_profile_of_a_worker_who_accepted_the_terms(worker):
    assert selectors.worker_for(user=worker.user) == worker


def test_worker_for_a_user_without_a_profile_is_none():
    assert selectors.worker_for(user=UserFactory()) is None


def test_worker_for_a_worker_who_did_not_accept_the_terms_is_none():
    user = UserFactory()
    services.worker_register(user=user, display_name="Ada", accept_terms=False)

    assert selectors.worker_for(user=user) is None


def test_worker_for_a_banned_worker_is_none(worker):
    ban(worker)

    assert selectors.worker_for(user=worker.user) is None


def test_worker_for_an_anonymous_user_is_none():
    assert selectors.worker_for(user=AnonymousUser()) is None


def test_api_key_list_for_lists_only_the_users_keys_newest_first(worker):
    other = WorkerFactory()
    first, _ = services.api_key_create(user=worker.user, name="first")
    second, _ = services.api_key_create(user=worker.user, name="second")
    services.api_key_create(user=other.user, name="not theirs")
    # created_at is set by the database clock; make the order explicit
    ApiKey.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(minutes=5))

    assert list(selectors.api_key_list_for(user=worker.user)) == [second, first]


def client_for(role: str, request):
    if role == "anonymous":
        return request.getfixturevalue("api_client")
    if role == "user without a profile":
        return bearer_client(UserFactory())
    if role == "unaccepted terms":
        user = UserFactory()
        services.worker_register(user=user, accept_terms=False)
        return bearer_client(user)
    if role == "banned":
        return bearer_client(ban(WorkerFactory()).user)
    if role == "requester":
        return request.getfixturevalue("requester_client")
    return request.getfixturevalue("worker_client")


@pytest.mark.parametrize(
    ("role", "status", "body"),
    [
        (
            "anonymous",
            401,
            {
                "code": "not_authenticated",
                "detail": "Authentication credentials were not provided.",
                "fields": {},
            },
        ),
        *[
            (
                role,
                403,
                {
                    "code": "permission_denied",
                    "detail": "Only workers who accepted the worker terms can do this.",
                    "fields": {},
                },
            )
            for role in ["user without a profile", "unaccepted terms", "banned", "requester"]
        ],
        ("worker", 200, {"count": 0, "next": None, "previous": None, "results": []}),
    ],
)
def test_job_board_by_role(request, role, status, body):
    response = client_for(role, request).get(BOARD)

    assert response.status_code == status
    assert response.json() == body
