"""Qualification requirements, end to end: a job's requirements decide which workers see it on
the board (GET /api/v1/worker/jobs) and may claim its tasks (POST
/api/v1/worker/jobs/{id}/assignments); system qualifications follow the review services."""

import pytest

from marketplace.models import Job
from payments.services import ledger as payments
from tasks import services as queue
from tasks.models import Assignment
from tests.conftest import bearer_client
from tests.factories import (
    OrganizationFactory,
    WorkerFactory,
    job_in_progress,
    job_spec,
    put_manifest,
)
from tests.workforce.test_qualifications_services import QUESTIONS, make_type
from workforce.models import Worker
from workforce.services import qualifications
from workforce.services import workers as worker_services

pytestmark = pytest.mark.django_db

JOBS = "/api/v1/labeling-jobs"
BOARD = "/api/v1/worker/jobs"
NOT_FOUND = {"code": "not_found", "detail": "Not found.", "fields": {}}
ANSWER = {"crowd-image-classifier": {"label": "cat"}}


def board_ids(worker) -> list[int]:
    response = bearer_client(worker.user).get(BOARD)
    assert response.status_code == 200
    return [job["id"] for job in response.json()["results"]]


def claim(worker, job):
    return bearer_client(worker.user).post(f"{BOARD}/{job.pk}/assignments")


def assert_eligible(worker, job, eligible: bool) -> None:
    """On the board and claimable, or neither (a 404 that leaves no assignment)."""
    assert (job.pk in board_ids(worker)) is eligible
    before = Assignment.objects.filter(worker=worker).count()
    response = claim(worker, job)
    if eligible:
        assert response.status_code == 201, response.json()
        assert Assignment.objects.filter(worker=worker, job=job).count() == 1
    else:
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
        assert Assignment.objects.filter(worker=worker).count() == before


def reviewed(worker, *, approved: int = 0, rejected: int = 0) -> Worker:
    for _ in range(approved):
        worker_services.worker_record_review(worker=worker, approved=True)
    for _ in range(rejected):
        worker_services.worker_record_review(worker=worker, approved=False)
    worker.refresh_from_db()
    return worker


# --- a job created through the API ---------------------------------------------------------------


def test_a_job_created_through_the_api_is_open_only_to_workers_meeting_every_requirement(
    organization, requester_client, django_capture_on_commit_callbacks
):
    # Given a type with a test, and a job that requires it at 80 or more and a 90% approval rate
    pets = requester_client.post(
        "/api/v1/qualification-types",
        {"name": "Pet expert", "test": {"questions": QUESTIONS, "passing_score_percent": 75}},
        format="json",
    ).json()
    spec = job_spec(
        workers_per_object=3,
        qualification_requirements=[
            {"qualification": "approval_rate", "comparator": ">=", "value": 90},
            {"qualification": "pet expert", "comparator": ">=", "value": 80},
        ],
    )
    put_manifest(spec["input_manifest_uri"], [{"source-ref": "s3://groundwork-test/a.png"}])
    payments.funding_record(
        owner=organization.ledger_owner, amount_mills=1_000_000, reference="fund"
    )
    with django_capture_on_commit_callbacks(execute=True):
        created = requester_client.post(JOBS, spec, format="json")
    assert created.status_code == 201, created.json()
    job = Job.objects.get(pk=created.json()["id"])
    assert job.status == Job.Status.IN_PROGRESS, job.failure_reason
    assert job.qualification_requirements == [
        {"qualification": "system:approval_rate", "comparator": ">=", "value": 90},
        {"qualification": f"type:{pets['id']}", "comparator": ">=", "value": 80},
    ]

    # And workers who took the test through the API
    def took_test(answers: list[str], **reviews) -> Worker:
        worker = reviewed(WorkerFactory(), **reviews)
        response = bearer_client(worker.user).post(
            f"/api/v1/worker/qualification-types/{pets['id']}/test",
            {"answers": answers},
            format="json",
        )
        assert response.status_code == 201, response.json()
        return worker

    expert = took_test(["dog", "cat", "fish", "4"])  # 100, approval rate 100 (no reviews yet)
    just_passed = took_test(["dog", "cat", "fish", "2"])  # passed at 75: below 80
    sloppy = took_test(["dog", "cat", "fish", "4"], approved=8, rejected=2)  # 80% approved
    careful = took_test(["dog", "cat", "fish", "4"], approved=9, rejected=1)  # 90% approved
    untested = WorkerFactory()

    # Then only the workers meeting both requirements see the job and can claim its tasks
    assert_eligible(expert, job, True)
    assert_eligible(careful, job, True)
    assert_eligible(just_passed, job, False)
    assert_eligible(sloppy, job, False)
    assert_eligible(untested, job, False)

    # And a hand grant by the requester opens it to the untested worker
    response = requester_client.post(
        f"/api/v1/qualification-types/{pets['id']}/grants",
        {"worker_id": untested.public_id, "value": 80},
        format="json",
    )
    assert response.status_code == 201
    assert_eligible(untested, job, True)


# --- each comparator -----------------------------------------------------------------------------

VALUES = [4, 5, 6, None]  # one worker per value; None holds no grant


@pytest.mark.parametrize(
    ("requirement", "eligible"),
    [
        ({"comparator": ">=", "value": 5}, [False, True, True, False]),
        ({"comparator": "<=", "value": 5}, [True, True, False, False]),
        ({"comparator": "==", "value": 5}, [False, True, False, False]),
        ({"comparator": "exists"}, [True, True, True, False]),
        ({"comparator": "in", "values": [4, 6]}, [True, False, True, False]),
    ],
)
def test_each_comparator_on_a_custom_type(organization, requirement, eligible):
    level = make_type(organization, name="Level", test=None)
    job = job_in_progress(
        organization,
        objects=4,
        qualification_requirements=[{"qualification": "Level", **requirement}],
    )
    workers = []
    for value in VALUES:
        worker = WorkerFactory()
        if value is not None:
            qualifications.qualification_grant_set(
                qualification_type=level, worker=worker, value=value
            )
        workers.append(worker)

    for worker, expected in zip(workers, eligible, strict=True):
        assert_eligible(worker, job, expected)


@pytest.mark.parametrize(
    ("requirement", "eligible"),
    [
        # approved counts 0, 3, 10 (approval rates 100, 75, 100)
        ({"qualification": "approved_count", "comparator": "<=", "value": 3}, [True, True, False]),
        ({"qualification": "approved_count", "comparator": "==", "value": 3}, [False, True, False]),
        (
            {"qualification": "approval_rate", "comparator": "in", "values": [100]},
            [True, False, True],
        ),
        ({"qualification": "approval_rate", "comparator": "exists"}, [True, True, True]),
        # gold accuracy exists only once a worker answered a gold task: 50 for the second one
        ({"qualification": "gold_accuracy", "comparator": "exists"}, [False, True, False]),
        ({"qualification": "gold_accuracy", "comparator": "<=", "value": 50}, [False, True, False]),
    ],
)
def test_each_comparator_on_system_qualifications(organization, requirement, eligible):
    job = job_in_progress(organization, objects=3, qualification_requirements=[requirement])
    workers = [
        WorkerFactory(),
        reviewed(WorkerFactory(), approved=3, rejected=1),
        reviewed(WorkerFactory(), approved=10),
    ]
    # No service records gold answers yet; set the counters as the gold pipeline will.
    Worker.objects.filter(pk=workers[1].pk).update(gold_answered_count=4, gold_correct_count=2)

    for worker, expected in zip(workers, eligible, strict=True):
        assert_eligible(worker, job, expected)


def test_a_job_without_requirements_is_open_to_every_worker(organization):
    job = job_in_progress(organization, objects=2)

    assert_eligible(reviewed(WorkerFactory(), rejected=5), job, True)


# --- bad requirements in a job spec --------------------------------------------------------------


def jobs_state() -> list:
    return sorted(Job.objects.values_list("organization_id", "name"))


def test_an_unknown_qualification_is_named_by_its_index(organization, requester_client):
    make_type(organization, name="Pet expert", test=None)
    make_type(OrganizationFactory(), name="Bird expert", test=None)  # another organisation's
    spec = job_spec(
        qualification_requirements=[
            {"qualification": "Pet expert", "comparator": "exists"},
            {"qualification": "Bird expert", "comparator": "exists"},
        ]
    )

    response = requester_client.post(JOBS, spec, format="json")

    assert response.status_code == 400
    message = "'Bird expert' is neither a system qualification nor one of your types."
    assert response.json() == {
        "code": "unknown_qualification",
        "detail": message,
        "fields": {"qualification_requirements[1].qualification": [message]},
    }
    assert jobs_state() == []


def test_more_than_ten_requirements_are_refused(requester_client):
    requirement = {"qualification": "approval_rate", "comparator": ">=", "value": 50}

    response = requester_client.post(
        JOBS, job_spec(qualification_requirements=[requirement] * 11), format="json"
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    # An error of the list as a whole is named by the list.
    assert body["fields"] == {
        "qualification_requirements": ["Ensure this field has no more than 10 elements."]
    }
    assert jobs_state() == []


def test_ten_requirements_are_allowed(requester_client):
    requirement = {"qualification": "approval_rate", "comparator": ">=", "value": 50}

    response = requester_client.post(
        JOBS, job_spec(qualification_requirements=[requirement] * 10), format="json"
    )

    assert response.status_code == 201, response.json()


@pytest.mark.parametrize(
    ("requirement", "fields"),
    [
        (
            {"qualification": "approval_rate", "comparator": ">="},
            {"qualification_requirements[0].value": ["'>=' needs a value."]},
        ),
        (
            {"qualification": "approval_rate", "comparator": "in"},
            {"qualification_requirements[0].values": ["'in' needs a list of values."]},
        ),
        (
            {"qualification": "approval_rate", "comparator": ">", "value": 1},
            {"qualification_requirements[0].comparator": ['"\u003e" is not a valid choice.']},
        ),
    ],
)
def test_a_malformed_requirement_is_named(requester_client, requirement, fields):
    response = requester_client.post(
        JOBS, job_spec(qualification_requirements=[requirement]), format="json"
    )

    assert response.status_code == 400
    assert response.json()["fields"] == fields
    assert jobs_state() == []


# --- system qualifications follow the reviews ----------------------------------------------------


def test_a_worker_whose_approval_rate_falls_below_the_requirement_loses_the_job(organization):
    # Given a job to do work on, and a job that requires an approval rate of 75% or more
    work = job_in_progress(organization, objects=8, workers_per_object=1)
    gated = job_in_progress(
        organization,
        name="gated",
        objects=2,
        qualification_requirements=[
            {"qualification": "approval_rate", "comparator": ">=", "value": 75}
        ],
    )
    worker = WorkerFactory()
    assert gated.pk in board_ids(worker)  # 100% before any review

    def do_task(*, approve: bool) -> None:
        assignment, created = queue.assignment_claim(worker=worker, job=work)
        assert created
        assignment = queue.assignment_submit(assignment=assignment, answer=ANSWER)
        if approve:
            queue.assignment_approve(assignment=assignment)
        else:
            queue.assignment_reject(assignment=assignment, reason="Wrong label.")

    # When three tasks are approved and one rejected: 75%
    for approve in (True, True, True, False):
        do_task(approve=approve)

    # Then the gated job is still on the board
    worker.refresh_from_db()
    assert (worker.approved_count, worker.rejected_count) == (3, 1)
    assert board_ids(worker) == [gated.pk, work.pk]

    # When one more is rejected: 3 of 5, 60%
    do_task(approve=False)

    # Then the gated job is gone from the board and cannot be claimed
    assert board_ids(worker) == [work.pk]
    assert_eligible(worker, gated, False)

    # And approvals bring it back: 6 of 8 is 75%
    for _ in range(3):
        do_task(approve=True)
    assert gated.pk in board_ids(worker)
