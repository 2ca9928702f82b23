"""The ledger against Stripe, for a period: every movement of money from or to the outside world
passes through `funding_clearing`, and each one posted with Stripe behind it names the Stripe
object (`external_id`). Stripe's balance transactions name the same objects as their source, so
the two sides match by that id, and everything that does not match is listed.

Amounts are compared signed, as money into the platform's Stripe balance: a charge or a won
dispute is positive, a refund, a dispute or a transfer to a payee negative. Stripe counts cents,
the ledger mills (cents × 10).
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Q, QuerySet, Sum

from marketplace.errors import ApplicationError
from payments import stripe_gateway
from payments.models import LedgerAccount, LedgerTransaction, Payout

Kind = LedgerTransaction.Kind

# The ledger kinds a Stripe object of each id prefix may stand behind.
KINDS_BY_PREFIX = {
    "ch_": {Kind.FUNDING},
    "py_": {Kind.FUNDING},
    "re_": {Kind.REFUND},
    "pyr_": {Kind.REFUND},
    "dp_": {Kind.DISPUTE, Kind.DISPUTE_WON},
    "du_": {Kind.DISPUTE, Kind.DISPUTE_WON},
    "tr_": {Kind.PAYOUT_SENT},
    "trr_": {Kind.PAYOUT_RETURN},
}


class Difference:
    """Why a line is listed as a difference."""

    MISSING_IN_LEDGER = "missing_in_ledger"
    MISSING_IN_STRIPE = "missing_in_stripe"
    AMOUNT_DIFFERS = "amount_differs"


@dataclass
class Line:
    """One movement, as the ledger or Stripe (or both) show it. Amounts in mills, signed as money
    into the platform's balance; `None` on the side that does not have it."""

    source_id: str
    ledger_key: str = ""
    ledger_kind: str = ""
    ledger_amount_mills: int | None = None
    stripe_id: str = ""
    stripe_type: str = ""
    stripe_amount_mills: int | None = None
    created_at: datetime | None = None
    difference: str = ""
    note: str = ""


@dataclass
class Report:
    date_from: date
    date_to: date
    stripe_configured: bool
    matched: list[Line] = field(default_factory=list)
    differences: list[Line] = field(default_factory=list)
    manual: list[Line] = field(default_factory=list)  # paid by hand: no Stripe counterpart
    ledger_only: list[Line] = field(default_factory=list)  # Stripe not configured: unchecked
    stripe_other: list[Line] = field(default_factory=list)  # Stripe movements not in any ledger

    @property
    def matched_count(self) -> int:
        return len(self.matched)

    @property
    def ledger_total_mills(self) -> int:
        lines = self.matched + self.differences + self.manual + self.ledger_only
        return sum(line.ledger_amount_mills or 0 for line in lines)

    @property
    def stripe_total_mills(self) -> int:
        lines = self.matched + self.differences
        return sum(line.stripe_amount_mills or 0 for line in lines)

    @property
    def matched_total_mills(self) -> int:
        return sum(line.ledger_amount_mills or 0 for line in self.matched)


def period_bounds(*, date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """[start of `date_from`, end of `date_to`) in UTC: both days are included."""
    start = datetime.combine(date_from, time.min, tzinfo=UTC)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=UTC)
    return start, end


def clearing_transactions(*, start: datetime, end: datetime) -> QuerySet[LedgerTransaction]:
    """The ledger's movements from or to the outside world in [start, end), each with
    `amount_mills`: money into the platform (the opposite of its clearing entry)."""
    clearing = Q(entries__account__kind=LedgerAccount.Kind.FUNDING_CLEARING)
    return (
        LedgerTransaction.objects.filter(clearing, created_at__gte=start, created_at__lt=end)
        .annotate(clearing_mills=Sum("entries__amount_mills", filter=clearing))
        .order_by("created_at", "pk")
    )


def _ledger_line(transaction: LedgerTransaction) -> Line:
    return Line(
        source_id=transaction.external_id,
        ledger_key=transaction.idempotency_key,
        ledger_kind=transaction.kind,
        ledger_amount_mills=-transaction.clearing_mills,
        created_at=transaction.created_at,
    )


def _payout_id(transaction: LedgerTransaction) -> int | None:
    """The payout a payout's sent transaction (key `payout:<id>:sent`) is for, else None."""
    if transaction.kind != Kind.PAYOUT_SENT or not transaction.idempotency_key.startswith(
        "payout:"
    ):
        return None
    return int(transaction.idempotency_key.split(":")[1])


def _manual_payout_ids(transactions: list[LedgerTransaction]) -> set[int]:
    """The payouts among these transactions paid by hand: Stripe has no record of them."""
    ids = {_payout_id(t) for t in transactions} - {None}
    return set(
        Payout.objects.filter(pk__in=ids, rail=Payout.Rail.MANUAL).values_list("pk", flat=True)
    )


def _source_ids(source: dict | str) -> tuple[str, list[str]]:
    """The source's own id and every id the ledger may know it by: a charge also by its payment
    intent (a top-up is posted before its charge is known), a refund also by its charge, a
    transfer reversal by its transfer."""
    if isinstance(source, str):
        return source, [source]
    source_id = source["id"]
    ids = [source_id]
    for key in ("payment_intent", "charge", "transfer"):
        value = source.get(key)
        if isinstance(value, dict):
            value = value.get("id")
        if value:
            ids.append(value)
    return source_id, ids


def _kinds_for(source_id: str) -> set[str]:
    for prefix, kinds in KINDS_BY_PREFIX.items():
        if source_id.startswith(prefix):
            return kinds
    return set()


def reconciliation_report(*, date_from: date, date_to: date) -> Report:
    """Compare the ledger's movements through clearing in the period with Stripe's balance
    transactions created in it."""
    start, end = period_bounds(date_from=date_from, date_to=date_to)
    transactions = list(clearing_transactions(start=start, end=end))
    manual_payouts = _manual_payout_ids(transactions)
    report = Report(
        date_from=date_from, date_to=date_to, stripe_configured=stripe_gateway.configured()
    )
    unmatched: dict[int, LedgerTransaction] = {}  # by pk, in the period's order
    for transaction in transactions:
        if _payout_id(transaction) in manual_payouts:
            line = _ledger_line(transaction)
            line.note = "Paid by hand on the manual rail: Stripe has no record of it."
            report.manual.append(line)
        else:
            unmatched[transaction.pk] = transaction
    if not report.stripe_configured:
        report.ledger_only = [_ledger_line(t) for t in unmatched.values()]
        return report

    try:
        balance_transactions = [
            balance_transaction.to_dict()
            for balance_transaction in stripe_gateway.balance_transactions(
                created_from=int(start.timestamp()), created_to=int(end.timestamp())
            )
        ]
    except stripe_gateway.StripeError as error:
        raise ApplicationError(
            "stripe_unavailable", f"Stripe's balance could not be read: {error}", status=502
        ) from None
    by_external_id: dict[str, list[LedgerTransaction]] = {}
    for transaction in unmatched.values():
        by_external_id.setdefault(transaction.external_id, []).append(transaction)
    for balance_transaction in balance_transactions:
        _match(report, unmatched, by_external_id, balance_transaction)
    for transaction in unmatched.values():
        line = _ledger_line(transaction)
        line.difference = Difference.MISSING_IN_STRIPE
        line.note = (
            "No Stripe reference on this ledger transaction."
            if not transaction.external_id
            else "Stripe has no balance transaction for it in the period."
        )
        report.differences.append(line)
    report.differences.sort(key=lambda line: (line.created_at is None, line.created_at))
    return report


def _match(
    report: Report,
    unmatched: dict[int, LedgerTransaction],
    by_external_id: dict[str, list[LedgerTransaction]],
    balance_transaction: dict,
) -> None:
    """Match one Stripe balance transaction against the ledger's unmatched movements (taking the
    one matched out of `unmatched`), and list it where it belongs."""
    source_id, ids = _source_ids(balance_transaction["source"])
    stripe_amount_mills = balance_transaction["amount"] * 10
    line = Line(
        source_id=source_id,
        stripe_id=balance_transaction["id"],
        stripe_type=balance_transaction["type"],
        stripe_amount_mills=stripe_amount_mills,
        created_at=datetime.fromtimestamp(balance_transaction["created"], tz=UTC),
    )
    kinds = _kinds_for(source_id)
    if not kinds:
        line.note = (
            "A Stripe movement the ledger does not track (fees, the platform's own payouts)."
        )
        report.stripe_other.append(line)
        return
    candidates = sorted(
        (
            t
            for external_id in set(ids)
            for t in by_external_id.get(external_id, [])
            if t.pk in unmatched and t.kind in kinds
        ),
        key=lambda t: (t.created_at, t.pk),
    )
    if not candidates:
        line.difference = Difference.MISSING_IN_LEDGER
        line.note = "No ledger transaction names this Stripe object."
        report.differences.append(line)
        return
    # Of several (a dispute and its reversal name the same dispute), the one with the same
    # amount, else the one with the same sign, else the first.
    same_amount = [t for t in candidates if -t.clearing_mills == stripe_amount_mills]
    same_sign = [t for t in candidates if (-t.clearing_mills > 0) == (stripe_amount_mills > 0)]
    transaction = (same_amount or same_sign or candidates)[0]
    del unmatched[transaction.pk]
    line.ledger_key = transaction.idempotency_key
    line.ledger_kind = transaction.kind
    line.ledger_amount_mills = -transaction.clearing_mills
    line.created_at = transaction.created_at
    if line.ledger_amount_mills == stripe_amount_mills:
        report.matched.append(line)
    else:
        line.difference = Difference.AMOUNT_DIFFERS
        line.note = (
            f"The ledger says {line.ledger_amount_mills} mills, Stripe {stripe_amount_mills} mills."
        )
        report.differences.append(line)
