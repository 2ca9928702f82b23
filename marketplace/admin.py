from django.contrib import admin

from marketplace.models import Job, JobEvent


class JobEventInline(admin.TabularInline):
    model = JobEvent
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "actor", "reason", "created_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Jobs change state only through their services; the admin shows them."""

    list_display = ["name", "organization", "task_type", "status", "object_count", "created_at"]
    list_filter = ["status", "task_type", "workforce"]
    search_fields = ["name", "organization__name"]
    inlines = [JobEventInline]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Job._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
