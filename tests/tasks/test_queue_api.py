"""The worker's side of the queue over the API: claim, decline, release, submit with the next
task, and the job board's tasks available and estimated hourly rate."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from marketplace.errors import ApplicationError
from tasks import selectors, services
from tasks.models import Assignment, DataObject
from tests.conftest import bearer_client
from tests.factories import WorkerFactory, job_in_progress
from workforce.models import TeamMember
from workforce.services import teams, workers

pytestmark = pytest.mark.django_db

CAT = {"crowd-image-classifier": {"label": "cat"}}


def claim_url(job) -> str:
    return f"/api/v1/worker/jobs/{job.pk}/assignments"


def snapshot() -> list:
    return list(Assignment.objects.order_by("pk").values_list("pk", "status", "answer"))


# --- claim --------------------------------------------------------------------------------------


def test_a_claim_answers_201_with_the_task_and_204_when_nothing_is_left(
    organization, worker, worker_client
):
    job = job_in_progress(
        organization,
        objects=1,
        instructions={
            "short": "<p>Pick one.</p>",
            "full": "",
            "good_example": "<p>A <b>cat</b></p><script>alert(1)</script>",
            "bad_example": "",
        },
    )

    created = worker_client.post(claim_url(job))
    again = worker_client.post(claim_url(job))
    other = bearer_client(WorkerFactory().user).post(claim_url(job))

    assert created.status_code == 201
    body = created.json()
    assignment = Assignment.objects.get()
    assert body["id"] == assignment.pk
    assert body["status"] == "reserved"
    assert body["expires_at"].replace("Z", "+00:00") == assignment.expires_at.isoformat()
    assert "/groundwork-test/images/0.png?" in body["task_input"]["taskObject"]
    assert "X-Amz-Expires=" in body["task_input"]["taskObject"]
    assert body["job"] == {
        "id": job.pk,
        "title": "Cat or dog?",
        "task_type": "image_classification",
        "labels": ["cat", "dog"],
        "short_instructions": "<p>Pick one.</p>",
        "full_instructions": "",
        "good_example": "<p>A <b>cat</b></p>",
        "bad_example": "",
        "reward_per_task": "0.050",
    }
    assert (again.status_code, again.json()["id"]) == (200, assignment.pk)
    assert (other.status_code, other.content) == (204, b"")


def test_a_blocked_worker_cannot_claim(organization, requester, worker, worker_client):
    job = job_in_progress(organization, objects=1)
    workers.worker_block_create(
        organization=organization, worker=worker, reason="Spam.", created_by=requester
    )

    response = worker_client.post(claim_url(job))

    assert response.status_code == 404
    assert not Assignment.objects.exists()


# --- decline and release ------------------------------------------------------------------------


def test_a_declined_object_is_never_offered_again_to_the_worker(
    organization, worker, worker_client
):
    job = job_in_progress(organization, objects=1, workers_per_object=2)
    lease, _ = services.assignment_claim(worker=worker, job=job)
    url = reverse("api:worker-decline", kwargs={"pk": lease.pk})

    declined = worker_client.post(url)
    repeated = worker_client.post(url)

    assert (declined.status_code, declined.json()["status"]) == (200, "declined")
    assert (repeated.status_code, repeated.json()["status"]) == (200, "declined")
    assert declined.json()["task_input"] is None
    assert worker_client.post(claim_url(job)).status_code == 204
    # the slot is free: two other workers still get the object
    for _ in range(2):
        taken, created = services.assignment_claim(worker=WorkerFactory(), job=job)
        assert created and taken.data_object_id == lease.data_object_id


def test_a_released_lease_goes_back_to_the_queue_at_once(organization, worker, worker_client):
    job = job_in_progress(organization, objects=1)
    lease, _ = services.assignment_claim(worker=worker, job=job)
    url = reverse("api:worker-release", kwargs={"pk": lease.pk})

    released = worker_client.post(url)
    repeated = worker_client.post(url)
    taken, created = services.assignment_claim(worker=WorkerFactory(), job=job)

    assert (released.status_code, released.json()["status"]) == (200, "returned")
    assert repeated.status_code == 200
    assert created and (taken.data_object_id, taken.slot) == (lease.data_object_id, lease.slot)


def test_the_worker_who_released_a_lease_may_resume_it(organization, worker):
    job = job_in_progress(organization, objects=2)
    lease, _ = services.assignment_claim(worker=worker, job=job)

    services.assignment_release(assignment=lease)
    resumed, created = services.assignment_claim(worker=worker, job=job)

    assert created and resumed.data_object_id == lease.data_object_id


@pytest.mark.parametrize("action", ["decline", "release"])
def test_decline_and_release_refuse_work_already_submitted_or_ended(organization, worker, action):
    job = job_in_progress(organization, objects=3)
    service = getattr(services, f"assignment_{action}")
    submitted, _ = services.assignment_claim(worker=worker, job=job)
    services.assignment_submit(assignment=submitted, answer=CAT)
    expired, _ = services.assignment_claim(worker=worker, job=job)
    Assignment.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    before = snapshot()

    with pytest.raises(ApplicationError) as answered:
        service(assignment=submitted)
    with pytest.raises(ApplicationError) as ended:
        service(assignment=expired)

    assert (answered.value.code, answered.value.status) == ("already_submitted", 409)
    assert (ended.value.code, ended.value.status) == ("lease_ended", 409)
    assert snapshot() == before


def test_a_released_lease_cannot_be_declined_nor_the_other_way_round(organization, worker):
    job = job_in_progress(organization, objects=2)
    released, _ = services.assignment_claim(worker=worker, job=job)
    services.assignment_release(assignment=released)
    declined, _ = services.assignment_claim(worker=WorkerFactory(), job=job)
    services.assignment_decline(assignment=declined)

    with pytest.raises(ApplicationError) as first:
        services.assignment_decline(assignment=released)
    with pytest.raises(ApplicationError) as second:
        services.assignment_release(assignment=declined)

    assert first.value.code == second.value.code == "lease_ended"


@pytest.mark.parametrize("action", ["decline", "release"])
def test_only_the_holder_may_decline_or_release(organization, worker, worker_client, action):
    job = job_in_progress(organization, objects=1)
    lease, _ = services.assignment_claim(worker=worker, job=job)
    stranger = bearer_client(WorkerFactory().user)
    before = snapshot()

    response = stranger.post(reverse(f"api:worker-{action}", kwargs={"pk": lease.pk}))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert snapshot() == before
    submitted = worker_client.post(
        f"/api/v1/worker/assignments/{lease.pk}/submit", CAT, format="json"
    )
    assert submitted.status_code == 200


def test_a_submit_after_a_decline_or_release_is_refused(organization, worker, worker_client):
    job = job_in_progress(organization, objects=1)
    lease, _ = services.assignment_claim(worker=worker, job=job)
    worker_client.post(reverse("api:worker-decline", kwargs={"pk": lease.pk}))

    response = worker_client.post(
        f"/api/v1/worker/assignments/{lease.pk}/submit", CAT, format="json"
    )

    assert (response.status_code, response.json()["code"]) == (409, "lease_ended")
    lease.refresh_from_db()
    assert (lease.status, lease.answer) == (Assignment.Status.DECLINED, None)


# --- submit with the next task ------------------------------------------------------------------


def test_submit_with_next_returns_the_answer_and_the_next_lease(
    organization, worker, worker_client, django_capture_on_commit_callbacks
):
    job = job_in_progress(organization, objects=2)
    lease, _ = services.assignment_claim(worker=worker, job=job)
    url = f"/api/v1/worker/assignments/{lease.pk}/submit?next=1"

    with django_capture_on_commit_callbacks(execute=True):
        first = worker_client.post(url, CAT, format="json")
    following = Assignment.objects.get(worker=worker, status=Assignment.Status.RESERVED)
    with django_capture_on_commit_callbacks(execute=True):
        last = worker_client.post(
            f"/api/v1/worker/assignments/{following.pk}/submit?next=1", CAT, format="json"
        )

    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"submitted", "next"}
    assert (body["submitted"]["id"], body["submitted"]["status"]) == (lease.pk, "submitted")
    assert body["submitted"]["answer"] == CAT
    assert body["next"]["id"] == following.pk
    assert following.data_object.position == 1
    assert "/groundwork-test/images/1.png?" in body["next"]["task_input"]["taskObject"]
    assert last.status_code == 200
    assert (last.json()["submitted"]["status"], last.json()["next"]) == ("submitted", None)


def test_submit_without_next_answers_as_before(organization, worker, worker_client):
    job = job_in_progress(organization, objects=2)
    lease, _ = services.assignment_claim(worker=worker, job=job)

    response = worker_client.post(
        f"/api/v1/worker/assignments/{lease.pk}/submit?next=0", CAT, format="json"
    )

    assert (response.json()["id"], response.json()["status"]) == (lease.pk, "submitted")
    assert not Assignment.objects.filter(status=Assignment.Status.RESERVED).exists()


def test_a_blocked_worker_gets_no_next_task(organization, requester, worker, worker_client):
    job = job_in_progress(organization, objects=2)
    lease, _ = services.assignment_claim(worker=worker, job=job)
    workers.worker_block_create(
        organization=organization, worker=worker, reason="Spam.", created_by=requester
    )

    response = worker_client.post(
        f"/api/v1/worker/assignments/{lease.pk}/submit?next=1", CAT, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["submitted"]["status"], response.json()["next"]) == ("submitted", None)
    assert Assignment.objects.count() == 1


def test_a_refused_submit_with_next_leases_nothing(organization, worker, worker_client):
    job = job_in_progress(organization, objects=2)
    lease, _ = services.assignment_claim(worker=worker, job=job)
    Assignment.objects.filter(pk=lease.pk).update(expires_at=timezone.now())

    response = worker_client.post(
        f"/api/v1/worker/assignments/{lease.pk}/submit?next=1", CAT, format="json"
    )

    assert (response.status_code, response.json()["code"]) == (409, "lease_ended")
    assert Assignment.objects.count() == 1


# --- the job board ------------------------------------------------------------------------------


def answered_in(job, seconds: float) -> Assignment:
    assignment, _ = services.assignment_claim(worker=WorkerFactory(), job=job)
    assignment = services.assignment_submit(assignment=assignment, answer=CAT)
    Assignment.objects.filter(pk=assignment.pk).update(
        accepted_at=assignment.submitted_at - timedelta(seconds=seconds)
    )
    return assignment


def test_the_board_estimates_the_hourly_rate_from_the_median_task_time(
    organization, worker, worker_client
):
    job = job_in_progress(organization, objects=5, workers_per_object=3, name="rated")
    fresh = job_in_progress(organization, objects=1, name="fresh")
    team = teams.team_create(owner=organization, name="staff")
    TeamMember.objects.create(team=team, worker=worker)
    team_job = job_in_progress(
        organization,
        objects=1,
        workers_per_object=3,
        name="team",
        workforce="private:staff",
        reward_per_task=None,
    )
    for rated in (job, team_job):
        for seconds in (10, 30, 20):
            answered_in(rated, seconds)

    board = {row["id"]: row for row in worker_client.get("/api/v1/worker/jobs").json()["results"]}

    # 0.050 USD in a median of 20 s: 9.000 USD an hour
    assert board[job.pk]["estimated_hourly_rate"] == "9.000"
    assert board[fresh.pk]["estimated_hourly_rate"] is None
    assert board[team_job.pk]["estimated_hourly_rate"] is None
    rows = {row.pk: row for row in selectors.job_board_for(worker=worker)}
    assert rows[job.pk].estimated_hourly_usd == "9.000"


def test_the_board_rounds_the_hourly_rate_half_up_to_a_tenth_of_a_cent(organization, worker):
    job = job_in_progress(organization, objects=1, workers_per_object=2, reward_per_task="0.001")
    for seconds in (7, 7):
        answered_in(job, seconds)

    (row,) = selectors.job_board_for(worker=worker)

    # 1 mill * 3600 / 7 s = 514.29 mills
    assert row.estimated_hourly_usd == "0.514"


def test_the_board_counts_objects_in_flight_or_waiting(
    organization, worker, worker_client, django_capture_on_commit_callbacks
):
    job = job_in_progress(organization, objects=5, max_concurrent_task_count=2)
    with django_capture_on_commit_callbacks(execute=True):
        answered_in(job, 5)  # one answer of one: the object is labeled, the next one let in
    DataObject.objects.filter(job=job, position=1).update(
        in_flight_since=timezone.now() - timedelta(seconds=job.task_availability_lifetime_seconds)
    )

    (row,) = worker_client.get("/api/v1/worker/jobs").json()["results"]

    # 0 labeled, 1 past its lifetime, 2 in flight, 3 and 4 waiting
    assert row["tasks_available"] == 3
