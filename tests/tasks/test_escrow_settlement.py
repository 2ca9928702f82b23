"""An ended job gives back the escrow it no longer needs, and keeps what its answers may still
cost: answers not reviewed yet, rejections that can still be reversed."""

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from marketplace.models import Job
from marketplace.services import jobs
from payments import selectors
from payments.models import LedgerAccount, LedgerEntry, LedgerTransaction
from tasks import services
from tasks import tasks as celery_tasks
from tasks.models import Assignment
from tests.concurrency import run_concurrently
from tests.factories import WorkerFactory, job_in_progress

Kind = LedgerAccount.Kind
CAT = {"crowd-image-classifier": {"label": "cat"}}
FUNDS = 1_000_000
# reward_per_task 0.050 USD: 50 mills, 10 of platform fee; 80 mills of service fee per object.
PER_ANSWER = 60
PER_OBJECT = 80


def available(job) -> int:
    return selectors.balance_mills(
        kind=Kind.REQUESTER_AVAILABLE, owner=job.organization.ledger_owner
    )


def escrow(job) -> int:
    return selectors.balance_mills(kind=Kind.JOB_ESCROW, owner=job.ledger_escrow_owner)


def assert_ledger_balanced():
    assert LedgerEntry.objects.aggregate(total=Sum("amount_mills"))["total"] == 0


def answer(job, objects: int) -> list[Assignment]:
    worker = WorkerFactory()
    given = []
    for _ in range(objects):
        lease, _ = services.assignment_claim(worker=worker, job=job)
        given.append(services.assignment_submit(assignment=lease, answer=CAT))
    return given


@pytest.mark.django_db
def test_a_stopped_job_returns_what_it_did_not_spend(
    organization, django_capture_on_commit_callbacks
):
    job = job_in_progress(organization, objects=3, workers_per_object=1, funds_mills=FUNDS)
    reserved = 3 * (PER_ANSWER + PER_OBJECT)
    assert available(job) == FUNDS - reserved
    with django_capture_on_commit_callbacks(execute=True):
        (given,) = answer(job, 1)
        services.assignment_approve(assignment=given)
        jobs.job_stop(job=job, reason="enough")

    job.refresh_from_db()
    assert job.status == Job.Status.STOPPED
    assert job.escrow_settled_at is not None
    assert escrow(job) == 0
    assert available(job) == FUNDS - (PER_ANSWER + PER_OBJECT)
    returned = LedgerTransaction.objects.get(kind="escrow_return")
    assert returned.idempotency_key == f"escrow-return:{job.ledger_escrow_owner}:1"
    assert_ledger_balanced()


@pytest.mark.django_db
def test_an_ended_job_keeps_what_its_answers_may_still_cost(
    organization, django_capture_on_commit_callbacks
):
    job = job_in_progress(organization, objects=2, workers_per_object=1, funds_mills=FUNDS)
    with django_capture_on_commit_callbacks(execute=True):
        first, second = answer(job, 2)
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED
    # Both answers are still to review: all of the escrow stays.
    assert escrow(job) == 2 * (PER_ANSWER + PER_OBJECT)
    assert job.escrow_settled_at is None

    services.assignment_approve(assignment=first)
    services.assignment_reject(assignment=second, reason="The label is wrong.")
    celery_tasks.jobs_escrow_settle_task()

    # The rejection can still be reversed, which would pay it: its cost stays.
    job.refresh_from_db()
    assert escrow(job) == PER_ANSWER + PER_OBJECT
    assert job.escrow_settled_at is None

    Assignment.objects.filter(pk=second.pk).update(reviewed_at=timezone.now() - timedelta(days=31))
    celery_tasks.jobs_escrow_settle_task()

    job.refresh_from_db()
    assert escrow(job) == 0
    assert job.escrow_settled_at is not None
    assert available(job) == FUNDS - (PER_ANSWER + PER_OBJECT)
    assert_ledger_balanced()


@pytest.mark.django_db
def test_a_rejection_reversed_after_a_partial_return_is_still_paid(
    organization, django_capture_on_commit_callbacks
):
    job = job_in_progress(organization, objects=3, workers_per_object=1, funds_mills=FUNDS)
    with django_capture_on_commit_callbacks(execute=True):
        (given,) = answer(job, 1)
        services.assignment_reject(assignment=given, reason="The label is wrong.")
        jobs.job_stop(job=job, reason="enough")
    job.refresh_from_db()
    assert escrow(job) == PER_ANSWER + PER_OBJECT  # two objects' worth went back

    # The requester reverses the rejection (within 30 days): it is paid from what stayed.
    services.assignment_approve(assignment=Assignment.objects.get(pk=given.pk))
    services.jobs_escrow_settle_due()

    job.refresh_from_db()
    assert escrow(job) == 0
    assert job.escrow_settled_at is not None
    assert selectors.balance_mills(kind=Kind.WORKER_PENDING, owner=given.worker.ledger_owner) == 50
    assert_ledger_balanced()


@pytest.mark.django_db(transaction=True)
def test_settlements_running_together_return_the_unspent_escrow_once(organization):
    # A failed job is settled by beat only; four runs at once return its escrow once.
    job = job_in_progress(organization, objects=3, workers_per_object=1, funds_mills=FUNDS)
    jobs.job_fail(job=job, reason="the post-annotation hook failed for good")

    outcomes = run_concurrently(
        4,
        lambda index: services.job_escrow_settle(
            job=Job.objects.select_related("organization").get(pk=job.pk)
        ),
    )

    assert [outcome.error for outcome in outcomes] == [None] * 4
    assert LedgerTransaction.objects.filter(kind="escrow_return").count() == 1
    assert escrow(job) == 0
    assert available(job) == FUNDS
    job.refresh_from_db()
    assert job.escrow_settled_at is not None
    assert_ledger_balanced()
