from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.template.response import TemplateResponse

from workforce.models import (
    ApiKey,
    Membership,
    Organization,
    QualificationType,
    Team,
    TeamMember,
    User,
    Vendor,
    VendorManager,
    Worker,
    WorkerBlock,
)
from workforce.services import accounts as services
from workforce.services import workers


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "is_finance", "is_staff", "is_active", "date_joined"]
    search_fields = ["email"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Roles", {"fields": ["is_active", "is_finance", "is_staff", "is_superuser", "groups"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


class BanForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea, help_text="Recorded with the ban.")


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    """Bans go through the services (with a reason); the counters are kept by reviews."""

    list_display = ["user", "display_name", "terms_accepted_at", "banned_at", "created_at"]
    list_filter = [("banned_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__email", "display_name"]
    readonly_fields = [
        "user", "terms_accepted_at", "banned_at", "ban_reason", "approved_count",
        "rejected_count", "gold_answered_count", "gold_correct_count", "created_at",
    ]  # fmt: skip
    actions = ["ban", "unban"]

    @admin.action(description="Ban the selected workers from the platform")
    def ban(self, request, queryset):
        form = BanForm(request.POST if "reason" in request.POST else None)
        if form.is_valid():
            for worker in queryset:
                workers.worker_ban(worker=worker, reason=form.cleaned_data["reason"])
            self.message_user(request, f"Banned {queryset.count()} workers.")
            return None
        return TemplateResponse(
            request,
            "admin/workforce/ban_workers.html",
            {**self.admin_site.each_context(request), "form": form, "workers": queryset},
        )

    @admin.action(description="Lift the ban of the selected workers")
    def unban(self, request, queryset):
        for worker in queryset:
            workers.worker_unban(worker=worker)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    search_fields = ["user__email", "name", "prefix"]
    readonly_fields = ["user", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    exclude = ["hashed_secret"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False  # keys are created by their owner, who alone sees the secret

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        for key in queryset:
            services.api_key_revoke(key=key)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]


class VendorManagerInline(admin.TabularInline):
    model = VendorManager
    extra = 1
    raw_id_fields = ["user"]


@admin.register(Vendor)
class VendorAdmin(admin.ModelAdmin):
    """Vendor organisations are set up by platform staff; their managers run the rest."""

    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [VendorManagerInline]


class TeamMemberInline(admin.TabularInline):
    """Members join by invitation and leave through the team pages; the admin shows them."""

    model = TeamMember
    extra = 0
    can_delete = False
    readonly_fields = ["worker", "joined_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "vendor", "created_at"]
    search_fields = ["name", "organization__name", "vendor__name"]
    inlines = [TeamMemberInline]


@admin.register(WorkerBlock)
class WorkerBlockAdmin(admin.ModelAdmin):
    list_display = ["worker", "organization", "reason", "created_at"]
    search_fields = ["worker__user__email", "organization__name"]
    readonly_fields = ["worker", "organization", "reason", "created_by", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(QualificationType)
class QualificationTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "passing_score_percent", "created_at"]
    search_fields = ["name", "organization__name"]
