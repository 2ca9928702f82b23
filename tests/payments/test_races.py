"""Races settled in PostgreSQL: real concurrent connections released together by a Barrier."""

import pytest
from django.db.models import Sum

from marketplace.errors import ApplicationError
from payments import selectors
from payments.models import LedgerAccount, LedgerEntry, LedgerTransaction
from payments.services import ledger as services
from tests.concurrency import run_concurrently

pytestmark = pytest.mark.django_db(transaction=True)

Kind = LedgerAccount.Kind
ORG = "organization:1"
THREADS = 8


def test_concurrent_escrow_reserves_never_overdraw_the_balance():
    # Given 1.000 USD, and 8 jobs that each need 600 mills (any two exceed the balance)
    services.funding_record(owner=ORG, amount_mills=1_000, reference="pi_1")

    # When all 8 reserve at the same moment, each on its own connection
    outcomes = run_concurrently(
        THREADS,
        lambda index: services.escrow_reserve(
            payer=ORG,
            escrow_owner=f"job:{index}",
            amount_mills=600,
            idempotency_key=f"job:{index}:escrow",
        ),
    )

    # Then exactly one succeeds and every other one is refused for lack of balance
    winners = [index for index, outcome in enumerate(outcomes) if outcome.succeeded]
    assert len(winners) == 1
    losers = [outcome.error for outcome in outcomes if not outcome.succeeded]
    assert all(isinstance(error, ApplicationError) for error in losers), losers
    assert {error.code for error in losers} == {"insufficient_balance"}
    # And the ledger holds one reserve of 600, for the winner's job only
    assert LedgerTransaction.objects.filter(kind="escrow_reserve").count() == 1
    assert selectors.balance_mills(kind=Kind.REQUESTER_AVAILABLE, owner=ORG) == 400
    escrows = {
        f"job:{index}": selectors.balance_mills(kind=Kind.JOB_ESCROW, owner=f"job:{index}")
        for index in range(THREADS)
    }
    assert escrows == {
        f"job:{index}": 600 if index == winners[0] else 0 for index in range(THREADS)
    }
    assert LedgerEntry.objects.aggregate(total=Sum("amount_mills"))["total"] == 0


def test_two_reserves_that_fit_together_both_succeed():
    # Given 1.000 USD and two jobs of 500 mills each
    services.funding_record(owner=ORG, amount_mills=1_000, reference="pi_1")

    outcomes = run_concurrently(
        2,
        lambda index: services.escrow_reserve(
            payer=ORG,
            escrow_owner=f"job:{index}",
            amount_mills=500,
            idempotency_key=f"job:{index}:escrow",
        ),
    )

    assert [outcome.error for outcome in outcomes] == [None, None]
    assert selectors.balance_mills(kind=Kind.REQUESTER_AVAILABLE, owner=ORG) == 0


def test_concurrent_posts_with_one_idempotency_key_write_one_transaction():
    # Given the accounts (created up front, so the threads race on the key alone)
    clearing = services.account_get(kind=Kind.FUNDING_CLEARING, owner=services.PLATFORM)
    available = services.account_get(kind=Kind.REQUESTER_AVAILABLE, owner=ORG)

    # When 8 connections post the same key at the same moment
    outcomes = run_concurrently(
        THREADS,
        lambda index: services.ledger_post(
            idempotency_key="funding:pi_race",
            kind=LedgerTransaction.Kind.FUNDING,
            entries=[(clearing, -250), (available, 250)],
        ),
    )

    # Then every call returns the one transaction, which has one set of entries
    assert [outcome.error for outcome in outcomes] == [None] * THREADS
    assert len({outcome.value.pk for outcome in outcomes}) == 1
    assert LedgerTransaction.objects.count() == 1
    assert sorted(LedgerEntry.objects.values_list("account__kind", "amount_mills")) == [
        (Kind.FUNDING_CLEARING, -250),
        (Kind.REQUESTER_AVAILABLE, 250),
    ]
    assert selectors.balance_mills(kind=Kind.REQUESTER_AVAILABLE, owner=ORG) == 250


def test_concurrent_funding_with_one_reference_credits_once():
    # funding_record also creates its accounts, so the threads race on those too
    outcomes = run_concurrently(
        THREADS,
        lambda index: services.funding_record(owner=ORG, amount_mills=1_000, reference="pi_same"),
    )

    assert [outcome.error for outcome in outcomes] == [None] * THREADS
    assert len({outcome.value.pk for outcome in outcomes}) == 1
    assert LedgerTransaction.objects.count() == 1
    assert LedgerEntry.objects.count() == 2
    assert LedgerAccount.objects.count() == 2
    assert selectors.balance_mills(kind=Kind.REQUESTER_AVAILABLE, owner=ORG) == 1_000
