"""Every movement of money is one balanced ledger transaction with an idempotency key.

Owners are opaque strings chosen by the caller ("organization:7", "job:3", "worker:12"), so
payments knows nothing of jobs or tasks.
"""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplace.errors import ApplicationError
from payments import locks, selectors
from payments.models import LedgerAccount, LedgerEntry, LedgerTransaction

PLATFORM = "platform"
Kind = LedgerAccount.Kind


def account_get(*, kind: str, owner: str) -> LedgerAccount:
    account, _ = LedgerAccount.objects.get_or_create(kind=kind, owner=owner)
    return account


def platform_fee_mills(*, amount_mills: int) -> int:
    """PLATFORM_FEE_PERCENT of an amount, rounded half up to whole mills."""
    return (amount_mills * settings.PLATFORM_FEE_PERCENT + 50) // 100


@transaction.atomic
def ledger_post(
    *,
    idempotency_key: str,
    kind: str,
    entries: list[tuple[LedgerAccount, int]],
    memo: str = "",
) -> LedgerTransaction:
    """Post a balanced transaction once. A repeated key returns the transaction posted first."""
    entries = [(account, amount) for account, amount in entries if amount != 0]
    existing = LedgerTransaction.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _same_or_conflict(existing, entries)
    if not entries:
        raise ApplicationError("empty_transaction", "A ledger transaction needs entries.")
    if sum(amount for _, amount in entries) != 0:
        raise ApplicationError("unbalanced_transaction", "Ledger entries must sum to zero.")
    try:
        with transaction.atomic():
            ledger_transaction = LedgerTransaction.objects.create(
                idempotency_key=idempotency_key, kind=kind, memo=memo
            )
    except IntegrityError:
        existing = LedgerTransaction.objects.get(idempotency_key=idempotency_key)
        return _same_or_conflict(existing, entries)
    LedgerEntry.objects.bulk_create(
        LedgerEntry(transaction=ledger_transaction, account=account, amount_mills=amount)
        for account, amount in entries
    )
    return ledger_transaction


def _same_or_conflict(
    existing: LedgerTransaction, entries: list[tuple[LedgerAccount, int]]
) -> LedgerTransaction:
    """A retry must repeat the same movement; a key reused for another one is a bug to surface."""
    posted = sorted(existing.entries.values_list("account_id", "amount_mills"))
    if posted != sorted((account.pk, amount) for account, amount in entries):
        raise ApplicationError(
            "idempotency_conflict",
            f"The key {existing.idempotency_key} was used for different entries.",
            status=409,
        )
    return existing


@transaction.atomic
def funding_record(*, owner: str, amount_mills: int, reference: str) -> LedgerTransaction:
    """Credit money received from outside (a payment, or a manual credit by staff)."""
    if amount_mills <= 0:
        raise ApplicationError("invalid_amount", "The amount must be positive.", field="amount")
    return ledger_post(
        idempotency_key=f"funding:{reference}",
        kind=LedgerTransaction.Kind.FUNDING,
        memo=f"Funding {reference}",
        entries=[
            (account_get(kind=Kind.FUNDING_CLEARING, owner=PLATFORM), -amount_mills),
            (account_get(kind=Kind.REQUESTER_AVAILABLE, owner=owner), amount_mills),
        ],
    )


@transaction.atomic
def escrow_reserve(
    *, payer: str, escrow_owner: str, amount_mills: int, idempotency_key: str
) -> LedgerTransaction:
    """Move the most a job can cost from the payer's available balance into the job's escrow."""
    if amount_mills <= 0:
        raise ApplicationError("invalid_amount", "The amount must be positive.", field="amount")
    available = account_get(kind=Kind.REQUESTER_AVAILABLE, owner=payer)
    escrow = account_get(kind=Kind.JOB_ESCROW, owner=escrow_owner)
    list(locks.ledger_accounts_for_update(pks=[available.pk]))
    existing = LedgerTransaction.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    balance = selectors.account_balance_mills(account=available)
    if balance < amount_mills:
        raise ApplicationError(
            "insufficient_balance",
            f"The job needs {amount_mills} mills in escrow but the balance is {balance} mills.",
        )
    return ledger_post(
        idempotency_key=idempotency_key,
        kind=LedgerTransaction.Kind.ESCROW_RESERVE,
        memo=f"Escrow for {escrow_owner}",
        entries=[(available, -amount_mills), (escrow, amount_mills)],
    )


@transaction.atomic
def earning_record(
    *,
    escrow_owner: str,
    payee_owner: str,
    payee_kind: str = Kind.WORKER_PENDING,
    amount_mills: int,
    service_fee_mills: int,
    idempotency_key: str,
) -> LedgerTransaction:
    """Approved work: escrow pays the amount to the payee's pending earnings (a worker's reward
    or a vendor's price), and the platform fee on it plus the service fee to the platform, in
    one transaction."""
    if payee_kind not in (Kind.WORKER_PENDING, Kind.VENDOR_PENDING):
        raise ApplicationError("invalid_payee", f"Earnings cannot go to {payee_kind}.")
    fee = platform_fee_mills(amount_mills=amount_mills)
    cost = amount_mills + fee + service_fee_mills
    escrow = account_get(kind=Kind.JOB_ESCROW, owner=escrow_owner)
    list(locks.ledger_accounts_for_update(pks=[escrow.pk]))
    already = LedgerTransaction.objects.filter(idempotency_key=idempotency_key).exists()
    if not already and selectors.account_balance_mills(account=escrow) < cost:
        raise ApplicationError(
            "escrow_exhausted",
            f"The escrow of {escrow_owner} cannot cover {cost} mills.",
            status=409,
        )
    return ledger_post(
        idempotency_key=idempotency_key,
        kind=LedgerTransaction.Kind.EARNING,
        memo=f"Earning of {payee_owner} from {escrow_owner}",
        entries=[
            (escrow, -cost),
            (account_get(kind=payee_kind, owner=payee_owner), amount_mills),
            (account_get(kind=Kind.PLATFORM_FEE_REVENUE, owner=PLATFORM), fee + service_fee_mills),
        ],
    )


# Pending earnings become available to the payee after the hold: a pending kind → its available.
RELEASED_TO = {
    Kind.WORKER_PENDING: Kind.WORKER_AVAILABLE,
    Kind.VENDOR_PENDING: Kind.VENDOR_AVAILABLE,
}


def earnings_release_due(*, now=None) -> int:
    """Make available every earning (or bonus) older than EARNINGS_HOLD_DAYS not released yet:
    the payee's pending amount moves to their available balance. Returns how many earnings
    were released here; a run beside another, or again, releases none twice."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.EARNINGS_HOLD_DAYS)
    released = 0
    for earning_id in selectors.earnings_unreleased(before=cutoff):
        released += earning_release(earning_id=earning_id)
    return released


@transaction.atomic
def earning_release(*, earning_id: int) -> bool:
    """Release one earning (see earnings_release_due): False when it was released already."""
    earning = LedgerTransaction.objects.select_for_update().get(
        pk=earning_id, kind__in=selectors.EARNING_KINDS
    )
    if LedgerTransaction.objects.filter(releases=earning).exists():
        return False
    pending = earning.entries.select_related("account").get(account__kind__in=RELEASED_TO)
    available = account_get(kind=RELEASED_TO[pending.account.kind], owner=pending.account.owner)
    released = ledger_post(
        idempotency_key=f"earning-release:{earning.pk}",
        kind=LedgerTransaction.Kind.EARNING_RELEASE,
        memo=f"Hold over: {earning.idempotency_key}",
        entries=[(pending.account, -pending.amount_mills), (available, pending.amount_mills)],
    )
    released.releases = earning
    released.save(update_fields=["releases"])
    return True


@transaction.atomic
def escrow_return(*, escrow_owner: str, payer: str, keep_mills: int) -> LedgerTransaction | None:
    """Give back to the payer what the escrow holds beyond `keep_mills` (what the job may still
    pay). None when nothing is over. Under the escrow's lock, which every payment from it takes
    too: a return and an earning never count the same mills twice."""
    escrow = account_get(kind=Kind.JOB_ESCROW, owner=escrow_owner)
    list(locks.ledger_accounts_for_update(pks=[escrow.pk]))
    over = selectors.account_balance_mills(account=escrow) - keep_mills
    if over <= 0:
        return None
    returned_before = (
        LedgerTransaction.objects.filter(
            kind=LedgerTransaction.Kind.ESCROW_RETURN, entries__account=escrow
        )
        .distinct()
        .count()
    )
    return ledger_post(
        idempotency_key=f"escrow-return:{escrow_owner}:{returned_before + 1}",
        kind=LedgerTransaction.Kind.ESCROW_RETURN,
        memo=f"Unspent escrow of {escrow_owner}",
        entries=[
            (escrow, -over),
            (account_get(kind=Kind.REQUESTER_AVAILABLE, owner=payer), over),
        ],
    )


@transaction.atomic
def bonus_pay(
    *, payer: str, payee_owner: str, amount_mills: int, idempotency_key: str
) -> LedgerTransaction:
    """A bonus from the payer's available balance: the amount to the worker's pending earnings
    and the platform fee on it to the platform, in one transaction; a repeated key pays once."""
    if amount_mills <= 0:
        raise ApplicationError("invalid_amount", "The amount must be positive.", field="amount")
    available = account_get(kind=Kind.REQUESTER_AVAILABLE, owner=payer)
    list(locks.ledger_accounts_for_update(pks=[available.pk]))
    fee = platform_fee_mills(amount_mills=amount_mills)
    already = LedgerTransaction.objects.filter(idempotency_key=idempotency_key).exists()
    balance = selectors.account_balance_mills(account=available)
    if not already and balance < amount_mills + fee:
        raise ApplicationError(
            "insufficient_balance",
            f"The bonus costs {amount_mills + fee} mills with the platform fee but the balance "
            f"is {balance} mills.",
            field="amount",
        )
    return ledger_post(
        idempotency_key=idempotency_key,
        kind=LedgerTransaction.Kind.BONUS,
        memo=f"Bonus to {payee_owner} from {payer}",
        entries=[
            (available, -(amount_mills + fee)),
            (account_get(kind=Kind.WORKER_PENDING, owner=payee_owner), amount_mills),
            (account_get(kind=Kind.PLATFORM_FEE_REVENUE, owner=PLATFORM), fee),
        ],
    )
