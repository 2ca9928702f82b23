from django.contrib import admin

from payments.models import (
    FinanceAction,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Payout,
    PayoutAccount,
    StripeEvent,
    TopUp,
)


class LedgerAdmin(admin.ModelAdmin):
    """The ledger is append-only: money moves through services, never by editing rows."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class LedgerEntryInline(admin.TabularInline):
    model = LedgerEntry
    extra = 0

    has_add_permission = LedgerAdmin.has_add_permission
    has_change_permission = LedgerAdmin.has_change_permission
    has_delete_permission = LedgerAdmin.has_delete_permission


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(LedgerAdmin):
    list_display = ["idempotency_key", "kind", "memo", "created_at"]
    list_filter = ["kind"]
    search_fields = ["idempotency_key", "memo"]
    inlines = [LedgerEntryInline]


@admin.register(LedgerAccount)
class LedgerAccountAdmin(LedgerAdmin):
    list_display = ["kind", "owner", "created_at"]
    list_filter = ["kind"]
    search_fields = ["owner"]


@admin.register(StripeEvent)
class StripeEventAdmin(LedgerAdmin):
    """Events as Stripe sent them, and what handling them did."""

    list_display = ["event_id", "type", "status", "received_at", "processed_at"]
    list_filter = ["status", "type"]
    search_fields = ["event_id", "account"]


@admin.register(TopUp)
class TopUpAdmin(LedgerAdmin):
    list_display = ["pk", "owner", "amount_mills", "status", "created_at", "paid_at"]
    list_filter = ["status"]
    search_fields = ["owner", "checkout_session_id", "payment_intent_id"]


@admin.register(PayoutAccount)
class PayoutAccountAdmin(LedgerAdmin):
    list_display = ["owner", "stripe_account_id", "status", "payouts_enabled", "created_at"]
    list_filter = ["status"]
    search_fields = ["owner", "stripe_account_id", "bank_fingerprint"]


class FinanceActionInline(admin.TabularInline):
    model = FinanceAction
    extra = 0

    has_add_permission = LedgerAdmin.has_add_permission
    has_change_permission = LedgerAdmin.has_change_permission
    has_delete_permission = LedgerAdmin.has_delete_permission


@admin.register(Payout)
class PayoutAdmin(LedgerAdmin):
    """Payouts are decided in the finance review, which records who did what; not here."""

    list_display = ["pk", "owner", "amount_mills", "status", "rail", "created_at"]
    list_filter = ["status", "rail"]
    search_fields = ["owner", "transfer_id", "reference"]
    exclude = ["earnings"]
    inlines = [FinanceActionInline]
