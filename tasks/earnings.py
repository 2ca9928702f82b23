"""Reads for a payee's earnings page and API: the balances, the payout account, the payouts, and
each earning in the ledger tied to the work behind it.

An approval earning is the ledger transaction keyed `assignment:<assignment id>:approval`; a
bonus is keyed `bonus:<organization id>:<token>` (tasks/services/review.py). Where the money of
an earning is comes from the ledger: no release yet → pending (until the hold is over); released
→ available, unless a payout carries it (`Payout.earnings`): then in a payout until the payout
is sent, and paid once it is.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from operator import or_

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet

from payments import money
from payments import selectors as payments
from payments.models import LedgerEntry, LedgerTransaction, Payout, PayoutAccount
from payments.services import payouts as payout_services
from tasks.models import Assignment, Bonus


class State:
    PENDING = "pending"
    AVAILABLE = "available"
    IN_PAYOUT = "in_payout"
    PAID = "paid"


@dataclass(frozen=True)
class Earning:
    """One earning of a payee: an approved assignment's reward (or vendor price) or a bonus."""

    id: int
    kind: str  # "reward" or "bonus"
    amount_mills: int
    approved_at: datetime
    state: str
    available_from: datetime | None  # pending: when the hold is over
    released_at: datetime | None
    payout: Payout | None
    assignment: Assignment | None
    bonus: Bonus | None

    @property
    def job(self):
        return self.assignment.job if self.assignment is not None else None

    @property
    def amount_usd(self) -> str:
        return money.format_usd(self.amount_mills)


def earning_entry_list_for(*, owner: str) -> QuerySet[LedgerEntry]:
    """The credits of approved work and bonuses to the payee's pending earnings, newest first,
    with the release that made each available and the payouts (not refused) that carry it."""
    pending_kind, _ = payments.PAYEE_KINDS[owner.split(":", 1)[0]]
    carrying = Payout.objects.exclude(
        status__in=[Payout.Status.FAILED, Payout.Status.REJECTED]
    ).order_by("-created_at", "-pk")
    return (
        LedgerEntry.objects.filter(
            account__owner=owner,
            account__kind=pending_kind,
            transaction__kind__in=payments.EARNING_KINDS,
            amount_mills__gt=0,
        )
        .select_related("transaction", "transaction__release")
        .prefetch_related(Prefetch("transaction__payouts", queryset=carrying))
        .order_by("-transaction__created_at", "-transaction_id")
    )


def earnings_described(*, entries: list[LedgerEntry]) -> list[Earning]:
    """The entries of `earning_entry_list_for` (a page of them) with their state and the
    assignment or bonus behind each: two queries, whatever the number of entries."""
    assignment_ids: set[int] = set()
    bonus_keys: set[tuple[int, str]] = set()
    for entry in entries:
        reference = _work_reference(entry.transaction)
        if reference[0] == "assignment":
            assignment_ids.add(reference[1])
        elif reference[0] == "bonus":
            bonus_keys.add(reference[1])
    assignments = (
        Assignment.objects.select_related("job").in_bulk(assignment_ids) if assignment_ids else {}
    )
    bonuses = {}
    if bonus_keys:
        matching = reduce(
            or_,
            (Q(organization_id=org, unique_request_token=token) for org, token in bonus_keys),
        )
        bonuses = {
            (bonus.organization_id, bonus.unique_request_token): bonus
            for bonus in Bonus.objects.filter(matching).select_related("assignment__job")
        }
    return [_described(entry, assignments, bonuses) for entry in entries]


def _work_reference(earning: LedgerTransaction) -> tuple[str, object]:
    """("assignment", id), ("bonus", (organization id, token)) or ("other", None) for an
    earning's ledger key."""
    key = earning.idempotency_key
    if earning.kind == LedgerTransaction.Kind.EARNING:
        prefix, _, rest = key.partition(":")
        assignment_id, _, suffix = rest.partition(":")
        if prefix == "assignment" and suffix == "approval" and assignment_id.isdigit():
            return "assignment", int(assignment_id)
    elif earning.kind == LedgerTransaction.Kind.BONUS:
        prefix, organization_id, token = (key.split(":", 2) + ["", ""])[:3]
        if prefix == "bonus" and organization_id.isdigit():
            return "bonus", (int(organization_id), token)
    return "other", None


def _described(entry: LedgerEntry, assignments: dict, bonuses: dict) -> Earning:
    earning = entry.transaction
    kind, key = _work_reference(earning)
    bonus = bonuses.get(key) if kind == "bonus" else None
    assignment = bonus.assignment if bonus is not None else assignments.get(key)
    release = getattr(earning, "release", None)
    payout = next(iter(earning.payouts.all()), None)
    if release is None:
        state = State.PENDING
    elif payout is not None and payout.status in Payout.SENT_STATUSES:
        state = State.PAID
    elif payout is not None:
        state = State.IN_PAYOUT
    else:
        state = State.AVAILABLE
    return Earning(
        id=earning.pk,
        kind="bonus" if earning.kind == LedgerTransaction.Kind.BONUS else "reward",
        amount_mills=entry.amount_mills,
        approved_at=earning.created_at,
        state=state,
        available_from=(
            earning.created_at + timedelta(days=settings.EARNINGS_HOLD_DAYS)
            if release is None
            else None
        ),
        released_at=release.created_at if release is not None else None,
        payout=payout,
        assignment=assignment,
        bonus=bonus,
    )


# --- Payouts and the payout account --------------------------------------------------------------


@dataclass(frozen=True)
class PayoutStanding:
    """What the payee's payout side looks like: the rail, their payout account, and why a payout
    cannot be requested now (None when it can)."""

    rail: str
    account: PayoutAccount | None
    request_blocked_because: str | None

    @property
    def account_status(self) -> str:
        return self.account.status if self.account is not None else "none"

    @property
    def requirements_due(self) -> list[str]:
        return list(self.account.requirements_due) if self.account is not None else []


# Why the payout button is off, in the payee's words, by the refusal payout_request would give.
REQUEST_BLOCKED_BECAUSE = {
    "payout_open": "A payout is on its way already; you can ask for the next one once it is paid.",
    "below_minimum": "You can ask for a payout from ${minimum} available.",
    "payout_account_not_ready": "Connect a payout account first: payouts are sent to it.",
}


def payout_standing_for(*, owner: str, available_mills: int) -> PayoutStanding:
    refusal = payout_services.payout_request_refusal(owner=owner, available_mills=available_mills)
    reason = None
    if refusal is not None:
        minimum = money.format_usd(settings.PAYOUT_MINIMUM_MILLS)
        reason = REQUEST_BLOCKED_BECAUSE[refusal.code].format(minimum=minimum)
    return PayoutStanding(
        rail=payments.payout_rail(),
        account=payments.payout_account_for(owner=owner),
        request_blocked_because=reason,
    )
