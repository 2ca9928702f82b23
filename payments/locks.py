from django.db.models import QuerySet

from payments.models import LedgerAccount


def ledger_accounts_for_update(*, pks: list[int]) -> QuerySet[LedgerAccount]:
    """Lock ledger accounts in pk order, the one lock order for every balance check."""
    return LedgerAccount.objects.select_for_update().filter(pk__in=pks).order_by("pk")
