"""Pending earnings become available once EARNINGS_HOLD_DAYS are over, each exactly once."""

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from payments import selectors
from payments import tasks as payment_tasks
from payments.models import LedgerAccount, LedgerEntry, LedgerTransaction
from payments.services import ledger as services
from tests.concurrency import run_concurrently

Kind = LedgerAccount.Kind
ORG = "organization:1"
JOB = "job:1"


def balance(kind: str, owner: str) -> int:
    return selectors.balance_mills(kind=kind, owner=owner)


def earn(*, payee: str, amount: int, key: str, payee_kind=Kind.WORKER_PENDING, days_ago=0):
    """An approved reward from the job's escrow, posted `days_ago` days ago."""
    earning = services.earning_record(
        escrow_owner=JOB,
        payee_owner=payee,
        payee_kind=payee_kind,
        amount_mills=amount,
        service_fee_mills=80,
        idempotency_key=key,
    )
    LedgerTransaction.objects.filter(pk=earning.pk).update(
        created_at=timezone.now() - timedelta(days=days_ago)
    )
    return earning


@pytest.fixture
def escrow():
    services.funding_record(owner=ORG, amount_mills=10_000, reference="pi_1")
    services.escrow_reserve(
        payer=ORG, escrow_owner=JOB, amount_mills=10_000, idempotency_key="job:1:escrow"
    )


def assert_ledger_sums_to_zero():
    assert LedgerEntry.objects.aggregate(total=Sum("amount_mills"))["total"] == 0


@pytest.mark.django_db
def test_earnings_older_than_the_hold_become_available_once(escrow, settings):
    settings.EARNINGS_HOLD_DAYS = 7
    old = earn(payee="worker:1", amount=500, key="assignment:1:earning", days_ago=8)
    earn(payee="worker:1", amount=300, key="assignment:2:earning", days_ago=6)
    earn(payee="vendor:1", amount=2_000, key="assignment:3:earning", days_ago=9,
         payee_kind=Kind.VENDOR_PENDING)  # fmt: skip

    assert services.earnings_release_due() == 2

    assert (
        balance(Kind.WORKER_PENDING, "worker:1"),
        balance(Kind.WORKER_AVAILABLE, "worker:1"),
    ) == (
        300,
        500,
    )
    assert (
        balance(Kind.VENDOR_PENDING, "vendor:1"),
        balance(Kind.VENDOR_AVAILABLE, "vendor:1"),
    ) == (
        0,
        2_000,
    )
    release = LedgerTransaction.objects.get(releases=old)
    assert (release.kind, release.idempotency_key) == (
        "earning_release",
        f"earning-release:{old.pk}",
    )
    assert_ledger_sums_to_zero()

    assert services.earnings_release_due() == 0  # again: nothing twice
    assert balance(Kind.WORKER_AVAILABLE, "worker:1") == 500

    # A day later the second earning's hold is over too; the beat task releases it.
    payment_tasks.earnings_release_task()
    assert balance(Kind.WORKER_AVAILABLE, "worker:1") == 500
    LedgerTransaction.objects.filter(idempotency_key="assignment:2:earning").update(
        created_at=timezone.now() - timedelta(days=8)
    )
    payment_tasks.earnings_release_task()
    assert (
        balance(Kind.WORKER_PENDING, "worker:1"),
        balance(Kind.WORKER_AVAILABLE, "worker:1"),
    ) == (
        0,
        800,
    )
    assert_ledger_sums_to_zero()


@pytest.mark.django_db
def test_a_bonus_is_held_like_an_earning(settings):
    settings.EARNINGS_HOLD_DAYS = 7
    services.funding_record(owner=ORG, amount_mills=1_000, reference="pi_1")
    bonus = services.bonus_pay(
        payer=ORG, payee_owner="worker:1", amount_mills=500, idempotency_key="bonus:1:b-1"
    )
    assert services.earnings_release_due() == 0
    LedgerTransaction.objects.filter(pk=bonus.pk).update(
        created_at=timezone.now() - timedelta(days=8)
    )

    assert services.earnings_release_due() == 1

    assert balance(Kind.WORKER_PENDING, "worker:1") == 0
    assert balance(Kind.WORKER_AVAILABLE, "worker:1") == 500
    assert balance(Kind.REQUESTER_AVAILABLE, ORG) == 400  # 500 and its 100 of fee
    assert_ledger_sums_to_zero()


@pytest.mark.django_db
def test_the_hold_is_a_setting(escrow, settings):
    earn(payee="worker:1", amount=500, key="assignment:1:earning", days_ago=2)

    settings.EARNINGS_HOLD_DAYS = 3
    assert services.earnings_release_due() == 0
    settings.EARNINGS_HOLD_DAYS = 1
    assert services.earnings_release_due() == 1
    assert balance(Kind.WORKER_AVAILABLE, "worker:1") == 500


@pytest.mark.django_db(transaction=True)
def test_releases_running_at_once_release_each_earning_once(escrow, settings):
    settings.EARNINGS_HOLD_DAYS = 7
    for n in range(5):
        earn(payee=f"worker:{n % 2}", amount=100 + n, key=f"assignment:{n}:earning", days_ago=10)

    outcomes = run_concurrently(4, lambda index: services.earnings_release_due())

    assert [outcome.error for outcome in outcomes] == [None] * 4
    assert sum(outcome.value for outcome in outcomes) == 5
    assert LedgerTransaction.objects.filter(kind="earning_release").count() == 5
    assert balance(Kind.WORKER_AVAILABLE, "worker:0") == 100 + 102 + 104
    assert balance(Kind.WORKER_AVAILABLE, "worker:1") == 101 + 103
    assert balance(Kind.WORKER_PENDING, "worker:0") == 0
    assert balance(Kind.WORKER_PENDING, "worker:1") == 0
    assert_ledger_sums_to_zero()
