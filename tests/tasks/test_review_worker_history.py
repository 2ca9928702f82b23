"""`GET /api/v1/worker/assignments`: a worker's own answered work, newest first, with how it was
reviewed (the rejection reason included) and what it pays."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tasks import selectors
from tasks import services as queue
from tasks.models import Assignment
from tasks.services import review
from tests.conftest import bearer_client
from tests.factories import WorkerFactory, job_in_progress
from workforce.models import TeamMember
from workforce.services import teams

pytestmark = pytest.mark.django_db

ANSWER = {"crowd-image-classifier": {"label": "cat"}}
URL = "/api/v1/worker/assignments"


def answered(job, worker) -> Assignment:
    assignment, _ = queue.assignment_claim(worker=worker, job=job)
    return queue.assignment_submit(assignment=assignment, answer=ANSWER)


def stamp(moment) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def row(assignment: Assignment, reward: str | None) -> dict:
    assignment.refresh_from_db()
    return {
        "id": assignment.pk,
        "job_id": assignment.job_id,
        "job_title": assignment.job.title,
        "status": assignment.status,
        "submitted_at": stamp(assignment.submitted_at),
        "reviewed_at": stamp(assignment.reviewed_at),
        "rejection_reason": assignment.rejection_reason,
        "rejection_reversed_at": stamp(assignment.rejection_reversed_at),
        "reward": reward,
        "bonuses": [],
    }


@pytest.fixture
def history(organization):
    """One worker's work on a public job and on their team's job, and another worker's."""
    worker, other = WorkerFactory(), WorkerFactory()
    team = teams.team_create(owner=organization, name="staff")
    TeamMember.objects.create(team=team, worker=worker)
    public = job_in_progress(organization, objects=4, name="pub", workers_per_object=2)
    private = job_in_progress(
        organization,
        objects=2,
        name="priv",
        workforce="private:staff",
        reward_per_task=None,
        title="Team sorting",
    )
    approved = answered(public, worker)
    rejected = answered(public, worker)
    reversed_ = answered(public, worker)
    waiting = answered(private, worker)
    theirs = answered(public, other)
    lease, _ = queue.assignment_claim(worker=worker, job=public)
    review.assignment_approve(assignment=approved)
    review.assignment_reject(assignment=rejected, reason="The photo shows a dog.")
    review.assignment_approve(
        assignment=review.assignment_reject(assignment=reversed_, reason="Too quick.")
    )
    return {
        "worker": worker,
        "approved": approved,
        "rejected": rejected,
        "reversed": reversed_,
        "waiting": waiting,
        "theirs": theirs,
        "lease": lease,
    }


def test_a_worker_sees_their_own_answers_newest_first_with_the_rejection_reason(history):
    response = bearer_client(history["worker"].user).get(URL)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 4
    assert body["results"] == [
        row(history["waiting"], None),
        row(history["reversed"], "0.050"),
        row(history["rejected"], "0.050"),
        row(history["approved"], "0.050"),
    ]
    assert body["results"][2]["rejection_reason"] == "The photo shows a dog."
    reversed_ = body["results"][1]
    assert (reversed_["status"], reversed_["rejection_reason"]) == ("approved", "Too quick.")
    assert reversed_["rejection_reversed_at"] is not None


def test_other_workers_see_none_of_it(history):
    response = bearer_client(history["theirs"].worker.user).get(URL)

    assert [result["id"] for result in response.json()["results"]] == [history["theirs"].pk]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("rejected", ["rejected"]),
        ("approved", ["reversed", "approved"]),
        ("submitted", ["waiting"]),
    ],
)
def test_the_list_filters_by_status(history, status, expected):
    response = bearer_client(history["worker"].user).get(URL, {"status": status})

    assert [result["id"] for result in response.json()["results"]] == [
        history[name].pk for name in expected
    ]


def test_a_status_that_is_never_listed_is_refused(history):
    response = bearer_client(history["worker"].user).get(URL, {"status": "reserved"})

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["status"]


def test_the_list_is_paginated(history):
    response = bearer_client(history["worker"].user).get(URL, {"page_size": 3, "page": 2})

    assert response.json()["count"] == 4
    assert [result["id"] for result in response.json()["results"]] == [history["approved"].pk]


def test_requesters_cannot_list_worker_history(requester_client):
    response = requester_client.get(reverse("api:worker-assignment-list"))

    assert response.status_code == 403


def test_the_selector_returns_the_workers_answers_with_their_job(
    history, django_assert_num_queries
):
    with django_assert_num_queries(2):  # the answers with their jobs, then their bonuses
        titles = [
            assignment.job.title
            for assignment in selectors.assignment_list_for_worker(worker=history["worker"])
        ]
    assert titles == ["Team sorting", "Cat or dog?", "Cat or dog?", "Cat or dog?"]


def test_the_list_reads_a_fixed_number_of_queries(organization):
    worker = WorkerFactory()
    client = bearer_client(worker.user)
    job = job_in_progress(organization, objects=6, name="many")
    answered(job, worker)
    client.get(URL)  # the API key notes its first use

    with CaptureQueriesContext(connection) as one:
        client.get(URL)
    for _ in range(4):
        answered(job, worker)
    with CaptureQueriesContext(connection) as five:
        response = client.get(URL)

    assert response.json()["count"] == 5
    assert len(five) == len(one)
