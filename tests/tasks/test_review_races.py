"""Review races on PostgreSQL with real concurrent connections: whatever the interleaving, work
is reviewed once, paid at most once, and the ledger stays balanced."""

import pytest
from django.db.models import Sum

from marketplace.errors import ApplicationError
from payments import selectors as balances
from payments.models import LedgerAccount, LedgerEntry, LedgerTransaction
from tasks import services as queue
from tasks.models import Assignment
from tasks.services import review
from tests.concurrency import run_concurrently
from tests.conftest import bearer_client
from tests.factories import WorkerFactory, job_in_progress

pytestmark = pytest.mark.django_db(transaction=True)

ANSWER = {"crowd-image-classifier": {"label": "cat"}}
Kind = LedgerAccount.Kind
REWARD, FEE, SERVICE_FEE = 50, 10, 80  # mills: "0.050", 20 % of it, the per-object fee
COST = REWARD + FEE + SERVICE_FEE  # one answer per object


def answered(job, worker=None) -> Assignment:
    assignment, _ = queue.assignment_claim(worker=worker or WorkerFactory(), job=job)
    return queue.assignment_submit(assignment=assignment, answer=ANSWER)


def payments_of(assignment: Assignment) -> int:
    return LedgerTransaction.objects.filter(
        idempotency_key=f"assignment:{assignment.pk}:approval"
    ).count()


def escrow(job) -> int:
    return balances.balance_mills(kind=Kind.JOB_ESCROW, owner=job.ledger_escrow_owner)


def pending(worker) -> int:
    return balances.balance_mills(kind=Kind.WORKER_PENDING, owner=worker.ledger_owner)


def assert_ledger_balanced() -> None:
    assert LedgerEntry.objects.aggregate(total=Sum("amount_mills"))["total"] == 0


def review_counts(worker) -> tuple[int, int]:
    worker.refresh_from_db()
    return worker.approved_count, worker.rejected_count


def test_an_approval_racing_auto_approval_approves_and_pays_once(organization):
    job = job_in_progress(organization, objects=1, auto_approval_delay_seconds=0)
    worker = WorkerFactory()
    assignment = answered(job, worker)
    escrow_before = escrow(job)

    outcomes = run_concurrently(
        2,
        lambda index: (
            review.assignments_auto_approve()
            if index
            else review.assignment_approve(assignment=assignment)
        ),
    )

    assert [outcome.error for outcome in outcomes] == [None, None]
    assert outcomes[1].value in (0, 1)
    assert Assignment.objects.get(pk=assignment.pk).status == Assignment.Status.APPROVED
    assert payments_of(assignment) == 1
    assert review_counts(worker) == (1, 0)
    assert pending(worker) == REWARD
    assert escrow(job) == escrow_before - COST
    assert_ledger_balanced()


def test_two_approvals_at_once_pay_once(organization):
    job = job_in_progress(organization, objects=1)
    worker = WorkerFactory()
    assignment = answered(job, worker)
    escrow_before = escrow(job)

    outcomes = run_concurrently(4, lambda _: review.assignment_approve(assignment=assignment))

    assert [outcome.error for outcome in outcomes] == [None] * 4
    assert {outcome.value.status for outcome in outcomes} == {Assignment.Status.APPROVED}
    assert payments_of(assignment) == 1
    assert review_counts(worker) == (1, 0)
    assert pending(worker) == REWARD
    assert escrow(job) == escrow_before - COST
    assert_ledger_balanced()


def test_a_rejection_racing_an_approval_has_one_winner(organization):
    job = job_in_progress(organization, objects=1)
    worker = WorkerFactory()
    assignment = answered(job, worker)
    escrow_before = escrow(job)

    outcomes = run_concurrently(
        2,
        lambda index: (
            review.assignment_reject(assignment=assignment, reason="Wrong.")
            if index
            else review.assignment_approve(assignment=assignment)
        ),
    )

    winners = [index for index, outcome in enumerate(outcomes) if outcome.succeeded]
    assert len(winners) == 1
    (loser,) = [outcome.error for outcome in outcomes if not outcome.succeeded]
    assert isinstance(loser, ApplicationError)
    final = Assignment.objects.get(pk=assignment.pk)
    if winners == [0]:
        assert (final.status, loser.code) == (Assignment.Status.APPROVED, "not_submitted")
        assert (payments_of(assignment), review_counts(worker), pending(worker)) == (
            1,
            (1, 0),
            REWARD,
        )
        assert escrow(job) == escrow_before - COST
    else:
        assert (final.status, loser.code) == (Assignment.Status.REJECTED, "already_reviewed")
        assert (payments_of(assignment), review_counts(worker), pending(worker)) == (
            0,
            (0, 1),
            0,
        )
        assert escrow(job) == escrow_before
    assert_ledger_balanced()


def test_a_bulk_approval_racing_single_approvals_pays_each_assignment_once(organization, requester):
    job = job_in_progress(organization, objects=6)
    workers = [WorkerFactory() for _ in range(6)]
    assignments = [answered(job, worker) for worker in workers]
    ids = [assignment.pk for assignment in assignments]
    clients = [bearer_client(requester) for _ in range(len(ids) + 1)]
    escrow_before = escrow(job)

    def work(index: int):
        if index == 0:
            return clients[0].post(
                f"/api/v1/labeling-jobs/{job.name}/assignments/approve",
                {"ids": ids},
                format="json",
            )
        pk = ids[-index]  # the single approvals run from the other end
        return clients[index].post(f"/api/v1/labeling-jobs/{job.name}/assignments/{pk}/approve")

    outcomes = run_concurrently(len(clients), work)

    assert [outcome.error for outcome in outcomes] == [None] * len(clients)
    assert [outcome.value.status_code for outcome in outcomes] == [200] * len(clients)
    assert outcomes[0].value.json()["results"] == [
        {"id": pk, "status": "approved", "error": None} for pk in ids
    ]
    assert [payments_of(assignment) for assignment in assignments] == [1] * 6
    assert [review_counts(worker) for worker in workers] == [(1, 0)] * 6
    assert [pending(worker) for worker in workers] == [REWARD] * 6
    assert escrow(job) == escrow_before - 6 * COST
    assert_ledger_balanced()


def test_two_reversals_of_one_rejection_pay_once(organization):
    job = job_in_progress(organization, objects=1)
    worker = WorkerFactory()
    rejected = review.assignment_reject(assignment=answered(job, worker), reason="Wrong.")

    outcomes = run_concurrently(3, lambda _: review.assignment_approve(assignment=rejected))

    assert [outcome.error for outcome in outcomes] == [None] * 3
    assert len({outcome.value.rejection_reversed_at for outcome in outcomes}) == 1
    assert payments_of(rejected) == 1
    assert review_counts(worker) == (1, 0)
    assert pending(worker) == REWARD
    assert_ledger_balanced()
