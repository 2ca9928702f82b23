from django.db.models import Exists, OuterRef, Q, QuerySet, Sum
from django.shortcuts import get_object_or_404

from payments import stripe_gateway
from payments.models import (
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Payout,
    PayoutAccount,
    TopUp,
)


def account_balance_mills(*, account: LedgerAccount) -> int:
    return LedgerEntry.objects.filter(account=account).aggregate(s=Sum("amount_mills"))["s"] or 0


def balance_mills(*, kind: str, owner: str) -> int:
    """The balance of an owner's account of a kind; 0 when the account was never used."""
    total = LedgerEntry.objects.filter(account__kind=kind, account__owner=owner).aggregate(
        s=Sum("amount_mills")
    )["s"]
    return total or 0


def entry_list_for(*, owner: str) -> QuerySet[LedgerEntry]:
    return (
        LedgerEntry.objects.filter(account__owner=owner)
        .select_related("account", "transaction")
        .order_by("transaction_id", "pk")
    )


# What a payee earns into a pending balance: approved work and bonuses.
EARNING_KINDS = (LedgerTransaction.Kind.EARNING, LedgerTransaction.Kind.BONUS)


def earnings_unreleased(*, before) -> QuerySet[LedgerTransaction]:
    """Ids of the earnings and bonuses posted before `before` whose pending amount is not
    available yet."""
    return (
        LedgerTransaction.objects.filter(kind__in=EARNING_KINDS, created_at__lt=before)
        .exclude(Exists(LedgerTransaction.objects.filter(releases=OuterRef("pk"))))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# --- Payees: balances, payout account, payouts ------------------------------------------------
PAYEE_KINDS = {
    "worker": (LedgerAccount.Kind.WORKER_PENDING, LedgerAccount.Kind.WORKER_AVAILABLE),
    "vendor": (LedgerAccount.Kind.VENDOR_PENDING, LedgerAccount.Kind.VENDOR_AVAILABLE),
}


def payee_balances_mills(*, owner: str) -> dict[str, int]:
    """A worker's or vendor's money, by where it is: `pending` (approved, in its hold),
    `available` (can be paid out), `in_payout` (in a payout not sent yet) and `paid` (sent)."""
    pending_kind, available_kind = PAYEE_KINDS[owner.split(":", 1)[0]]
    by_kind = dict(
        LedgerEntry.objects.filter(
            account__owner=owner,
            account__kind__in=[pending_kind, available_kind, LedgerAccount.Kind.PAYOUTS_IN_FLIGHT],
        )
        .values_list("account__kind")
        .annotate(total=Sum("amount_mills"))
    )
    paid = Payout.objects.filter(owner=owner, status__in=Payout.SENT_STATUSES).aggregate(
        total=Sum("amount_mills")
    )["total"]
    return {
        "pending": by_kind.get(pending_kind, 0),
        "available": by_kind.get(available_kind, 0),
        "in_payout": by_kind.get(LedgerAccount.Kind.PAYOUTS_IN_FLIGHT, 0),
        "paid": paid or 0,
    }


def payout_rail() -> str:
    """Stripe when it is configured; otherwise finance pays payouts by hand (the manual rail)."""
    return Payout.Rail.STRIPE if stripe_gateway.configured() else Payout.Rail.MANUAL


def payout_account_for(*, owner: str) -> PayoutAccount | None:
    return PayoutAccount.objects.filter(owner=owner).first()


def payout_list_for(*, owner: str) -> QuerySet[Payout]:
    """A payee's payouts, newest first."""
    return Payout.objects.filter(owner=owner).order_by("-created_at", "-pk")


# --- Payouts for finance ----------------------------------------------------------------------
def payout_list(*, status: str | None = None) -> QuerySet[Payout]:
    """Every payout (or those in one status) for finance's queue, oldest first, with its payout
    account."""
    payouts = Payout.objects.select_related("payout_account").order_by("created_at", "pk")
    if status is not None:
        payouts = payouts.filter(status=status)
    return payouts


def payout_get(*, pk: int) -> Payout:
    return get_object_or_404(Payout.objects.select_related("payout_account"), pk=pk)


def payout_earnings(*, payout: Payout) -> QuerySet[LedgerTransaction]:
    """The earnings and bonuses whose released amounts the payout carries, oldest first."""
    return payout.earnings.order_by("created_at", "pk")


# --- The ledger for finance -------------------------------------------------------------------
def ledger_transaction_list() -> QuerySet[LedgerTransaction]:
    """Every ledger transaction, newest first, with its entries and their accounts."""
    return LedgerTransaction.objects.prefetch_related("entries__account").order_by(
        "-created_at", "-pk"
    )


def ledger_account_list() -> QuerySet[LedgerAccount]:
    """Every ledger account with `balance_mills` (None for an account without entries)."""
    return LedgerAccount.objects.annotate(balance_mills=Sum("entries__amount_mills")).order_by(
        "kind", "owner", "pk"
    )


def ledger_account_get(*, pk: int) -> LedgerAccount:
    return get_object_or_404(ledger_account_list(), pk=pk)


def ledger_total_mills() -> int:
    """The sum of every account: zero, since every transaction sums to zero."""
    return LedgerEntry.objects.aggregate(total=Sum("amount_mills"))["total"] or 0


def payout_actions(*, payout: Payout) -> QuerySet:
    """The finance actions on a payout, in the order they were taken, with who took them."""
    return payout.actions.select_related("actor").order_by("created_at", "pk")


def payout_earnings_with_amounts(*, payout: Payout) -> QuerySet[LedgerTransaction]:
    """The payout's earnings, each with `payee_mills`: what the payee earned by it."""
    return payout_earnings(payout=payout).annotate(
        payee_mills=Sum("entries__amount_mills", filter=Q(entries__account__owner=payout.owner))
    )


def payouts_unsent(*, approved_before) -> QuerySet[Payout]:
    """Ids of the Stripe payouts approved before `approved_before` and still not sent."""
    return (
        Payout.objects.filter(
            status=Payout.Status.APPROVED,
            rail=Payout.Rail.STRIPE,
            reviewed_at__lt=approved_before,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def top_up_list_for(*, owner: str) -> QuerySet[TopUp]:
    """An organisation's top-ups, newest first."""
    return TopUp.objects.filter(owner=owner).order_by("-created_at", "-pk")
