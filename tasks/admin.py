from django.contrib import admin

from tasks.models import Assignment, DataObject


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DataObject)
class DataObjectAdmin(ReadOnlyAdmin):
    list_display = ["job", "position", "status", "label", "confidence", "labeled_at"]
    list_filter = ["status"]
    search_fields = ["job__name", "source_ref"]


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ["pk", "job", "worker", "status", "accepted_at", "submitted_at"]
    list_filter = ["status"]
    search_fields = ["job__name", "worker__user__email"]
