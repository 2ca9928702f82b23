from django.db.models import QuerySet

from payments.models import LedgerAccount, Payout, PayoutAccount


def ledger_accounts_for_update(*, pks: list[int]) -> QuerySet[LedgerAccount]:
    """Lock ledger accounts in pk order, the one lock order for every balance check."""
    return LedgerAccount.objects.select_for_update().filter(pk__in=pks).order_by("pk")


def payouts_for_update(*, pks: list[int]) -> QuerySet[Payout]:
    """Lock payouts in pk order: every change of a payout's status happens under its lock."""
    return Payout.objects.select_for_update().filter(pk__in=pks).order_by("pk")


def payout_for_update(*, pk: int) -> Payout:
    return payouts_for_update(pks=[pk]).get()


def payout_account_for_update(*, stripe_account_id: str) -> PayoutAccount | None:
    return (
        PayoutAccount.objects.select_for_update()
        .filter(stripe_account_id=stripe_account_id)
        .order_by("pk")
        .first()
    )
