"""Bulk review: `POST /api/v1/labeling-jobs/{name}/assignments/approve|reject` with up to 1000
ids, each reviewed on its own, with a result per id; other jobs' and organisations' ids are
not found."""

import pytest
from django.db.models import Sum
from django.urls import reverse

from payments.models import LedgerEntry, LedgerTransaction
from tasks import services as queue
from tasks.models import Assignment
from tasks.services import review
from tests.conftest import bearer_client
from tests.factories import OrganizationFactory, WorkerFactory, job_in_progress

pytestmark = pytest.mark.django_db

ANSWER = {"crowd-image-classifier": {"label": "cat"}}


def answered(job, worker=None) -> Assignment:
    assignment, _ = queue.assignment_claim(worker=worker or WorkerFactory(), job=job)
    return queue.assignment_submit(assignment=assignment, answer=ANSWER)


def approvals() -> list[str]:
    return sorted(
        LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.EARNING).values_list(
            "idempotency_key", flat=True
        )
    )


def ok(pk: int, status: str) -> dict:
    return {"id": pk, "status": status, "error": None}


NOT_FOUND = {"code": "not_found", "message": "No such assignment."}


@pytest.fixture
def job(organization):
    return job_in_progress(organization, objects=6, name="pets")


@pytest.fixture
def client(requester):
    return bearer_client(requester)


def approve_url(job) -> str:
    return reverse("api:review-approve-bulk", kwargs={"name": job.name})


def reject_url(job) -> str:
    return reverse("api:review-reject-bulk", kwargs={"name": job.name})


def test_bulk_approval_reports_what_happened_to_each_id(organization, job, client):
    first, second, done, rejected = (answered(job) for _ in range(4))
    review.assignment_approve(assignment=done)
    review.assignment_reject(assignment=rejected, reason="Blurry.")
    lease, _ = queue.assignment_claim(worker=WorkerFactory(), job=job)
    sibling_job = job_in_progress(organization, objects=1, name="birds")
    sibling = answered(sibling_job)
    foreign = answered(job_in_progress(OrganizationFactory(), objects=1, name="pets"))
    missing = foreign.pk + 1000

    ids = [first.pk, done.pk, rejected.pk, lease.pk, sibling.pk, foreign.pk, missing, second.pk]
    response = client.post(approve_url(job), {"ids": [*ids, first.pk]}, format="json")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "results": [
            ok(first.pk, "approved"),
            ok(done.pk, "approved"),
            ok(rejected.pk, "approved"),  # a rejection of today, reversed
            {"id": lease.pk, "status": None, "error": NOT_FOUND},
            {"id": sibling.pk, "status": None, "error": NOT_FOUND},
            {"id": foreign.pk, "status": None, "error": NOT_FOUND},
            {"id": missing, "status": None, "error": NOT_FOUND},
            ok(second.pk, "approved"),
        ]
    }
    assert approvals() == sorted(
        f"assignment:{a.pk}:approval" for a in (first, second, done, rejected)
    )
    statuses = dict(Assignment.objects.values_list("pk", "status"))
    assert (statuses[lease.pk], statuses[sibling.pk], statuses[foreign.pk]) == (
        "reserved",
        "submitted",
        "submitted",
    )
    assert LedgerEntry.objects.aggregate(total=Sum("amount_mills"))["total"] == 0


def test_bulk_rejection_rejects_submitted_work_only(organization, job, client):
    worker = WorkerFactory()
    first = answered(job, worker)
    approved = answered(job)
    review.assignment_approve(assignment=approved)
    already = answered(job)
    review.assignment_reject(assignment=already, reason="Blurry.")
    foreign = answered(job_in_progress(OrganizationFactory(), objects=1, name="other"))

    response = client.post(
        reject_url(job),
        {"ids": [first.pk, approved.pk, already.pk, foreign.pk], "reason": " Not a cat. "},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["results"] == [
        ok(first.pk, "rejected"),
        {
            "id": approved.pk,
            "status": "approved",
            "error": {
                "code": "not_submitted",
                "message": "An assignment that is approved cannot be rejected.",
            },
        },
        ok(already.pk, "rejected"),
        {"id": foreign.pk, "status": None, "error": NOT_FOUND},
    ]
    reasons = dict(Assignment.objects.values_list("pk", "rejection_reason"))
    assert (reasons[first.pk], reasons[already.pk], reasons[foreign.pk]) == (
        "Not a cat.",
        "Blurry.",
        "",
    )
    worker.refresh_from_db()
    assert (worker.approved_count, worker.rejected_count) == (0, 1)
    assert approvals() == [f"assignment:{approved.pk}:approval"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ids": list(range(1, 1002))}, "ids"),
        ({"ids": []}, "ids"),
        ({"ids": ["one"]}, "ids[0]"),
        ({"ids": [0]}, "ids[0]"),
        ({}, "ids"),
    ],
)
def test_a_bulk_approval_of_no_ids_or_too_many_is_refused(job, client, body, field):
    submitted = answered(job)

    response = client.post(approve_url(job), body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["fields"]) == [field]
    assert Assignment.objects.get(pk=submitted.pk).status == Assignment.Status.SUBMITTED
    assert approvals() == []


def test_a_bulk_of_1000_ids_is_accepted(job, client):
    submitted = answered(job)

    response = client.post(
        approve_url(job), {"ids": [submitted.pk, *range(10**9, 10**9 + 999)]}, format="json"
    )

    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 1000
    assert results[0] == ok(submitted.pk, "approved")
    assert {result["error"]["code"] for result in results[1:]} == {"not_found"}


def test_a_bulk_rejection_needs_a_reason(job, client):
    submitted = answered(job)

    for body in ({"ids": [submitted.pk]}, {"ids": [submitted.pk], "reason": "  "}):
        response = client.post(reject_url(job), body, format="json")
        assert response.status_code == 400
        assert list(response.json()["fields"]) == ["reason"]
    assert Assignment.objects.get(pk=submitted.pk).status == Assignment.Status.SUBMITTED


def test_another_organisations_job_is_not_found(job):
    submitted = answered(job)
    outsider = bearer_client(OrganizationFactory().memberships.get().user)

    approve = outsider.post(approve_url(job), {"ids": [submitted.pk]}, format="json")
    reject = outsider.post(reject_url(job), {"ids": [submitted.pk], "reason": "x"}, format="json")

    assert (approve.status_code, reject.status_code) == (404, 404)
    assert Assignment.objects.get(pk=submitted.pk).status == Assignment.Status.SUBMITTED
    assert approvals() == []
