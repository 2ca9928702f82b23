from django.db.models import Exists, OuterRef, QuerySet, Sum

from payments.models import LedgerAccount, LedgerEntry, LedgerTransaction


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
