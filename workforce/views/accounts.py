"""Account pages: the user's API keys and the worker profile."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from marketplace.errors import ApplicationError
from workforce import qualifications
from workforce.models import Role
from workforce.selectors import accounts as selectors
from workforce.services import accounts as services

ROLE_HELP = {
    Role.REQUESTER: "Create and run labeling jobs, review work, manage teams.",
    Role.WORKER: "Read the job board, claim and submit tasks, see earnings.",
    Role.VENDOR_MANAGER: "Manage the vendor's teams and answer job offers.",
    Role.FINANCE: "Review payouts, read the ledger and reconciliation.",
    Role.ADMIN: "Platform staff.",
}

ROLE_LABELS = dict(Role.choices)


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What the key is for, e.g. “CI pipeline” or “laptop”."
    )
    roles = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one role for the key."},
    )

    def __init__(self, *args, held_roles: set[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["roles"].choices = [
            (value, label) for value, label in Role.choices if value in held_roles
        ]
        self.fields["roles"].initial = sorted(held_roles)


def _role_options(form: ApiKeyCreateForm) -> list[dict]:
    """The role checklist, each role with what a key acting in it may do."""
    field = form["roles"]
    checked = set(field.value() or [])
    return [
        {
            "value": value,
            "label": label,
            "help": ROLE_HELP[value],
            "checked": value in checked,
            "id": f"{field.auto_id}_{value}",
        }
        for value, label in form.fields["roles"].choices
    ]


@login_required
def api_keys(request: HttpRequest) -> HttpResponse:
    """List the user's keys and create one; a new key is shown once, on this response only."""
    held_roles = selectors.roles_of(user=request.user)
    form = ApiKeyCreateForm(request.POST or None, held_roles=held_roles)
    created = None
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            key, raw_key = services.api_key_issue(
                user=request.user,
                name=form.cleaned_data["name"],
                roles=form.cleaned_data["roles"],
            )
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
            status = error.status
        else:
            created = {"key": key, "raw_key": raw_key}
            form = ApiKeyCreateForm(held_roles=held_roles)
    elif request.method == "POST":
        status = 400
    context = {
        "form": form,
        "role_options": _role_options(form),
        "keys": [
            {"key": key, "roles": [ROLE_LABELS.get(role, role) for role in key.roles]}
            for key in selectors.api_key_list_for(user=request.user)
        ],
        "created": created,
        "mfa_required_for_keys": bool(held_roles & selectors.MFA_ROLES)
        and not selectors.mfa_enabled(user=request.user),
    }
    return render(request, "workforce/account/api_keys.html", context, status=status)


@login_required
@require_POST
def api_key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = selectors.api_key_get_for(user=request.user, pk=pk)
    services.api_key_revoke(key=key)
    messages.success(request, f"The key “{key.name}” ({key.prefix}…) was revoked.")
    return redirect("account-api-keys")


class WorkerProfileForm(forms.Form):
    display_name = forms.CharField(
        max_length=100,
        required=False,
        help_text="Shown to requesters and vendor managers. Left blank, your email is shown.",
    )


@login_required
def worker_profile(request: HttpRequest) -> HttpResponse:
    """The worker's own profile: display name, terms, system qualifications and teams."""
    worker = selectors.worker_for(user=request.user)
    if worker is None:
        return redirect("worker-join")
    form = WorkerProfileForm(request.POST or None, initial={"display_name": worker.display_name})
    if request.method == "POST" and form.is_valid():
        try:
            services.worker_profile_update(
                worker=worker, display_name=form.cleaned_data["display_name"]
            )
        except ApplicationError as error:
            form.add_error("display_name", error.message)
        else:
            messages.success(request, "Your profile was saved.")
            return redirect("worker-profile")
    values = qualifications.system_values(worker)
    context = {
        "form": form,
        "worker": worker,
        "approval_rate": values["system:approval_rate"],
        "approved_count": values["system:approved_count"],
        "gold_accuracy": values.get("system:gold_accuracy"),
        "memberships": selectors.team_memberships_for(worker=worker),
    }
    return render(
        request,
        "workforce/account/profile.html",
        context,
        status=400 if form.errors else 200,
    )


urlpatterns = [
    path("account/api-keys/", api_keys, name="account-api-keys"),
    path("account/api-keys/<int:pk>/revoke", api_key_revoke, name="account-api-key-revoke"),
    path("work/profile/", worker_profile, name="worker-profile"),
]
