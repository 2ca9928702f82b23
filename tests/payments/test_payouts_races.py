"""Payout races on real connections: each settled in PostgreSQL with exactly one winner."""

import pytest

from marketplace.errors import ApplicationError
from payments.models import FinanceAction, Payout
from payments.services import payouts as services
from tests.concurrency import run_concurrently
from tests.factories import UserFactory
from tests.payments.test_payouts import earn_available, money, veteran_worker
from tests.payments.test_payouts_stripe import ready_payee, sent_count, transfers

pytestmark = pytest.mark.django_db(transaction=True)


def refusals(outcomes) -> list[str]:
    return sorted(o.error.code for o in outcomes if isinstance(o.error, ApplicationError))


def test_a_payout_approved_twice_at_once_sends_one_transfer(
    stripe, django_capture_on_commit_callbacks
):
    owner = ready_payee(stripe, django_capture_on_commit_callbacks)
    earn_available(owner, 20_000)
    payout = services.payout_request(owner=owner)
    finance = [UserFactory(), UserFactory()]

    outcomes = run_concurrently(
        2, lambda i: services.payout_approve(payout=payout, actor=finance[i], note=f"Try {i}.")
    )

    assert sum(o.succeeded for o in outcomes) == 1
    assert refusals(outcomes) == ["invalid_transition"]
    assert [e.status for o in outcomes if (e := o.error)] == [409]
    assert len(stripe.calls("POST", "/v1/transfers")) == 1
    assert len(transfers(stripe)) == 1
    assert FinanceAction.objects.filter(payout=payout, action="approve").count() == 1
    assert Payout.objects.get(pk=payout.pk).status == Payout.Status.SENT
    assert money(owner) == {"pending": 0, "available": 0, "in_payout": 0, "paid": 20_000}
    assert sent_count() == 1


def test_four_requests_at_once_build_one_payout():
    owner = veteran_worker().ledger_owner
    earn_available(owner, 40_003)

    outcomes = run_concurrently(4, lambda i: services.payout_request(owner=owner))

    assert sum(o.succeeded for o in outcomes) == 1
    assert refusals(outcomes) == ["payout_open"] * 3
    [payout] = Payout.objects.all()
    assert payout.amount_mills == 40_000
    assert money(owner) == {"pending": 0, "available": 3, "in_payout": 40_000, "paid": 0}


def test_the_batch_beside_a_request_builds_one_payout():
    owner = veteran_worker().ledger_owner
    earn_available(owner, 25_000)

    outcomes = run_concurrently(
        2,
        lambda i: services.payouts_build() if i == 0 else services.payout_request(owner=owner),
    )

    batch, request = outcomes
    assert batch.succeeded  # the batch skips a payee who asked meanwhile
    built = len(batch.value) + (1 if request.succeeded else 0)
    assert built == 1
    assert refusals(outcomes) == ([] if request.succeeded else ["payout_open"])
    [payout] = Payout.objects.all()
    assert payout.trigger == (
        Payout.Trigger.REQUEST if request.succeeded else Payout.Trigger.SCHEDULE
    )
    assert money(owner) == {"pending": 0, "available": 0, "in_payout": 25_000, "paid": 0}
