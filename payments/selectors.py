from django.db.models import Exists, OuterRef, QuerySet, Sum

from payments.models import LedgerAccount, LedgerEntry, LedgerTransaction, Payout, PayoutAccount


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
    paid = Payout.objects.filter(
        owner=owner, status__in=[Payout.Status.SENT, Payout.Status.PAID]
    ).aggregate(total=Sum("amount_mills"))["total"]
    return {
        "pending": by_kind.get(pending_kind, 0),
        "available": by_kind.get(available_kind, 0),
        "in_payout": by_kind.get(LedgerAccount.Kind.PAYOUTS_IN_FLIGHT, 0),
        "paid": paid or 0,
    }


def payout_account_for(*, owner: str) -> PayoutAccount | None:
    return PayoutAccount.objects.filter(owner=owner).first()


def payout_list_for(*, owner: str) -> QuerySet[Payout]:
    """A payee's payouts, newest first."""
    return Payout.objects.filter(owner=owner).order_by("-created_at", "-pk")
