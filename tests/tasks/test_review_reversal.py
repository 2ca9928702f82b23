"""Reversing a rejection: approving rejected work within 30 days of the rejection pays it then,
once, and moves the worker's review counts; later it is refused."""

from datetime import timedelta
from unittest import mock

import pytest
from django.db.models import Sum
from django.utils import timezone

from marketplace.errors import ApplicationError
from payments import selectors as balances
from payments.models import LedgerAccount, LedgerEntry, LedgerTransaction
from tasks import services as queue
from tasks.models import Assignment
from tasks.services import review
from tests.conftest import bearer_client
from tests.factories import WorkerFactory, job_in_progress

pytestmark = pytest.mark.django_db

ANSWER = {"crowd-image-classifier": {"label": "cat"}}
Kind = LedgerAccount.Kind
REWARD, FEE, SERVICE_FEE = 50, 10, 80  # mills: "0.050", 20 % of it, the per-object fee


def answered(job, worker=None) -> Assignment:
    assignment, _ = queue.assignment_claim(worker=worker or WorkerFactory(), job=job)
    return queue.assignment_submit(assignment=assignment, answer=ANSWER)


def rejected_at(assignment: Assignment, moment) -> Assignment:
    """Rejected through the service, as if at `moment`."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        return review.assignment_reject(assignment=assignment, reason="Did not look.")


def approvals(assignment: Assignment) -> int:
    return LedgerTransaction.objects.filter(
        idempotency_key=f"assignment:{assignment.pk}:approval"
    ).count()


def counts(worker) -> tuple[int, int]:
    worker.refresh_from_db()
    return worker.approved_count, worker.rejected_count


def test_approving_a_rejection_within_30_days_reverses_it_and_pays_it(organization):
    job = job_in_progress(organization, objects=1)
    worker = WorkerFactory()
    rejection_time = timezone.now() - timedelta(days=29, hours=23)
    rejected = rejected_at(answered(job, worker), rejection_time)
    escrow_before = balances.balance_mills(kind=Kind.JOB_ESCROW, owner=job.ledger_escrow_owner)
    assert counts(worker) == (0, 1)

    response = bearer_client(organization.memberships.get().user).post(
        f"/api/v1/labeling-jobs/{job.name}/assignments/{rejected.pk}/approve"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["rejection_reason"]) == ("approved", "Did not look.")
    reversed_ = Assignment.objects.get(pk=rejected.pk)
    assert reversed_.status == Assignment.Status.APPROVED
    assert reversed_.reviewed_at == rejection_time
    assert reversed_.rejection_reversed_at > rejection_time
    assert reversed_.rejection_reason == "Did not look."
    assert approvals(rejected) == 1
    assert balances.balance_mills(kind=Kind.WORKER_PENDING, owner=worker.ledger_owner) == REWARD
    assert (
        balances.balance_mills(kind=Kind.JOB_ESCROW, owner=job.ledger_escrow_owner)
        == escrow_before - REWARD - FEE - SERVICE_FEE
    )
    assert counts(worker) == (1, 0)
    assert LedgerEntry.objects.aggregate(total=Sum("amount_mills"))["total"] == 0


def test_a_rejection_older_than_30_days_stays(organization):
    job = job_in_progress(organization, objects=1)
    worker = WorkerFactory()
    rejected = rejected_at(
        answered(job, worker), timezone.now() - review.REVERSAL_WINDOW - timedelta(seconds=1)
    )

    response = bearer_client(organization.memberships.get().user).post(
        f"/api/v1/labeling-jobs/{job.name}/assignments/{rejected.pk}/approve"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "reversal_window_passed"
    rejected.refresh_from_db()
    assert (rejected.status, rejected.rejection_reversed_at) == ("rejected", None)
    assert approvals(rejected) == 0
    assert counts(worker) == (0, 1)


def test_a_reversal_pays_once_however_often_it_is_asked_for(organization):
    job = job_in_progress(organization, objects=1)
    worker = WorkerFactory()
    rejected = review.assignment_reject(assignment=answered(job, worker), reason="Blurry.")

    first = review.assignment_approve(assignment=rejected)
    again = review.assignment_approve(assignment=rejected)

    assert first.rejection_reversed_at == again.rejection_reversed_at
    assert approvals(rejected) == 1
    assert counts(worker) == (1, 0)
    assert balances.balance_mills(kind=Kind.WORKER_PENDING, owner=worker.ledger_owner) == REWARD
    with pytest.raises(ApplicationError) as refused:
        review.assignment_reject(assignment=first, reason="Changed my mind again.")
    assert (refused.value.code, refused.value.status) == ("not_submitted", 409)
    assert approvals(rejected) == 1
    assert counts(worker) == (1, 0)


def test_a_reversal_of_a_second_answer_pays_no_second_service_fee(organization):
    job = job_in_progress(organization, objects=1, workers_per_object=2)
    kept, dropped = answered(job), answered(job)
    review.assignment_approve(assignment=kept)
    rejected = review.assignment_reject(assignment=dropped, reason="Wrong animal.")
    revenue_before = balances.balance_mills(kind=Kind.PLATFORM_FEE_REVENUE, owner="platform")

    review.assignment_approve(assignment=rejected)

    assert (
        balances.balance_mills(kind=Kind.PLATFORM_FEE_REVENUE, owner="platform")
        == revenue_before + FEE
    )
    assert approvals(rejected) == 1


def test_an_approval_that_read_submitted_work_does_not_reverse_a_rejection_made_since(
    organization,
):
    job = job_in_progress(organization, objects=1)
    worker = WorkerFactory()
    seen = answered(job, worker)
    review.assignment_reject(assignment=Assignment.objects.get(pk=seen.pk), reason="Wrong.")

    with pytest.raises(ApplicationError) as refused:
        review.assignment_approve(assignment=seen)

    assert (refused.value.code, refused.value.status) == ("already_reviewed", 409)
    assert Assignment.objects.get(pk=seen.pk).status == Assignment.Status.REJECTED
    assert approvals(seen) == 0
    assert counts(worker) == (0, 1)


def test_auto_approval_leaves_rejected_work_rejected(organization):
    job = job_in_progress(organization, objects=2, auto_approval_delay_seconds=0)
    rejected = review.assignment_reject(assignment=answered(job), reason="Wrong.")
    waiting = answered(job)

    assert review.assignments_auto_approve() == 1

    statuses = dict(Assignment.objects.values_list("pk", "status"))
    assert statuses == {rejected.pk: "rejected", waiting.pk: "approved"}
    assert approvals(rejected) == 0
