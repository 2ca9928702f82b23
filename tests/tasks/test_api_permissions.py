"""Who may call the queue and review endpoints; every refusal changes nothing."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tasks import services
from tasks.models import Assignment
from tests.conftest import bearer_client
from tests.factories import OrganizationFactory, UserFactory, WorkerFactory, job_in_progress
from workforce.models import Worker
from workforce.services import accounts

pytestmark = pytest.mark.django_db

ANSWER = {"crowd-image-classifier": {"label": "cat"}}


@pytest.fixture
def held(organization, worker):
    """An assignment the `worker` fixture holds on a running job of `organization`."""
    job = job_in_progress(organization, objects=2)
    assignment, _ = services.assignment_claim(worker=worker, job=job)
    return assignment


def snapshot():
    return list(Assignment.objects.order_by("pk").values_list("pk", "status", "answer"))


def test_another_worker_sees_neither_the_assignment_nor_its_image(held):
    stranger = bearer_client(WorkerFactory().user)
    before = snapshot()

    fetched = stranger.get(f"/api/v1/worker/assignments/{held.pk}")
    submitted = stranger.post(f"/api/v1/worker/assignments/{held.pk}/submit", ANSWER, format="json")

    assert (fetched.status_code, submitted.status_code) == (404, 404)
    assert fetched.json() == {"code": "not_found", "detail": "Not found.", "fields": {}}
    assert "task_input" not in fetched.json()
    assert snapshot() == before


def test_the_holder_gets_a_presigned_url_for_its_own_object_only(held, worker_client):
    task = worker_client.get(f"/api/v1/worker/assignments/{held.pk}").json()

    url = task["task_input"]["taskObject"]
    assert url.startswith("http://127.0.0.1:")
    assert "/groundwork-test/images/0.png?" in url
    assert "X-Amz-Expires=" in url


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 401), ("requester", 403), ("unaccepted_worker", 403), ("banned", 403)],
)
def test_only_active_workers_may_claim(organization, held, who, status):
    if who == "anonymous":
        client = APIClient()
    elif who == "requester":
        client = bearer_client(OrganizationFactory().memberships.get().user)
    elif who == "unaccepted_worker":
        user = UserFactory()
        accounts.worker_register(user=user, accept_terms=False)
        client = bearer_client(user)
    else:
        banned = WorkerFactory()
        Worker.objects.filter(pk=banned.pk).update(banned_at=timezone.now())
        client = bearer_client(banned.user)
    before = snapshot()

    response = client.post(f"/api/v1/worker/jobs/{held.job_id}/assignments")

    assert response.status_code == status
    assert set(response.json()) == {"code", "detail", "fields"}
    assert snapshot() == before


def test_review_is_scoped_to_the_requesters_organisation(held, worker_client):
    worker_client.post(f"/api/v1/worker/assignments/{held.pk}/submit", ANSWER, format="json")
    outsider = bearer_client(OrganizationFactory().memberships.get().user)
    before = snapshot()

    listed = outsider.get("/api/v1/labeling-jobs/pets/assignments")
    approved = outsider.post(f"/api/v1/labeling-jobs/pets/assignments/{held.pk}/approve")
    rejected = outsider.post(
        f"/api/v1/labeling-jobs/pets/assignments/{held.pk}/reject", {"reason": "no"}
    )
    by_worker = worker_client.post(f"/api/v1/labeling-jobs/pets/assignments/{held.pk}/approve")

    assert [r.status_code for r in (listed, approved, rejected, by_worker)] == [404, 404, 404, 403]
    assert snapshot() == before


def test_reject_needs_a_reason(held, worker_client, requester_client):
    worker_client.post(f"/api/v1/worker/assignments/{held.pk}/submit", ANSWER, format="json")

    response = requester_client.post(
        f"/api/v1/labeling-jobs/pets/assignments/{held.pk}/reject", {"reason": ""}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "detail": "The request is not valid.",
        "fields": {"reason": ["This field may not be blank."]},
    }
    held.refresh_from_db()
    assert held.status == Assignment.Status.SUBMITTED


def test_a_bad_answer_names_the_field(held, worker_client):
    response = worker_client.post(
        f"/api/v1/worker/assignments/{held.pk}/submit", {"label": "cat"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "non_field_errors": ['The answer must be {"crowd-image-classifier": {"label": ...}}.']
    }
