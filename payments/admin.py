from django.contrib import admin

from payments.models import LedgerAccount, LedgerEntry, LedgerTransaction


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
