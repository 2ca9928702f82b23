"""Team pages: a requester's private teams (/teams/) and a vendor's teams (/vendor/teams/),
both through the same views and services, and the invitation page an emailed link opens."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlencode

from allauth.account.adapter import get_adapter
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from marketplace.errors import ApplicationError
from workforce.models import Invitation
from workforce.selectors import accounts as account_selectors
from workforce.selectors import teams as selectors
from workforce.selectors.teams import TeamOwner
from workforce.services import teams as services
from workforce.views.worker import WorkerJoinForm

# --- who owns the teams on a page ----------------------------------------------------------------


@dataclass(frozen=True)
class TeamArea:
    """The teams of requesters or of vendors: how the page finds the owner and names its URLs."""

    url_prefix: str  # URL names: "<prefix>-list", "<prefix>-detail", ...
    owner_for: Callable[..., TeamOwner | None]
    requires_mfa: bool
    intro: str

    @property
    def list_name(self) -> str:
        return f"{self.url_prefix}-list"

    @property
    def detail_name(self) -> str:
        return f"{self.url_prefix}-detail"

    @property
    def delete_name(self) -> str:
        return f"{self.url_prefix}-delete"

    @property
    def member_remove_name(self) -> str:
        return f"{self.url_prefix}-member-remove"

    @property
    def invitation_revoke_name(self) -> str:
        return f"{self.url_prefix}-invitation-revoke"


REQUESTER = TeamArea(
    url_prefix="teams",
    owner_for=account_selectors.organization_for,
    requires_mfa=False,
    intro="Private teams work your private labeling jobs. Members join by email invitation.",
)
VENDOR = TeamArea(
    url_prefix="vendor-teams",
    owner_for=account_selectors.vendor_for,
    requires_mfa=True,
    intro="Your teams work the job offers you accept. Members join by email invitation.",
)


def team_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in users acting for an owner of teams; anyone else gets a 404. Vendor managers
    without two-factor authentication are asked to set it up first."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, area: TeamArea, **kwargs) -> HttpResponse:
        owner = area.owner_for(user=request.user)
        if owner is None:
            raise Http404("No such page.")
        if area.requires_mfa and not account_selectors.mfa_enabled(user=request.user):
            return render(request, "workforce/teams/mfa_required.html", status=403)
        return view(request, *args, area=area, owner=owner, **kwargs)

    return wrapper


def _url(area: TeamArea, name: str, *args) -> str:
    return reverse(f"{area.url_prefix}-{name}", args=args)


# --- forms ---------------------------------------------------------------------------------------


class TeamCreateForm(forms.Form):
    name = forms.CharField(
        label="Team name",
        max_length=services.TEAM_NAME_MAX_LENGTH,
        help_text="Up to 63 characters, different from the names of your other teams.",
    )


class InviteForm(forms.Form):
    emails = forms.CharField(
        label="Email addresses",
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "ana@example.com\nben@example.com"}),
        help_text=f"One per line or separated by commas; up to {services.INVITATION_BATCH_MAX} "
        "at a time. Each address gets a link that works once and expires in "
        f"{settings.INVITATION_LIFETIME_DAYS} days.",
    )

    def addresses(self) -> list[str]:
        return [part for part in re.split(r"[,;\s]+", self.cleaned_data["emails"]) if part]


def _posted(request: HttpRequest):
    """The form data of a POST (even an empty one), or None to leave a form unbound."""
    return request.POST if request.method == "POST" else None


def _form_error(form: forms.Form, error: ApplicationError) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


# --- team pages ----------------------------------------------------------------------------------


@team_page
def team_list(request: HttpRequest, *, area: TeamArea, owner: TeamOwner) -> HttpResponse:
    form = TeamCreateForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            team = services.team_create(owner=owner, name=form.cleaned_data["name"])
        except ApplicationError as error:
            _form_error(form, error)
        else:
            messages.success(request, f"Team “{team.name}” created. Invite its members below.")
            return redirect(_url(area, "detail", team.pk))
    context = {
        "area": area,
        "owner": owner,
        "teams": selectors.team_list_for(owner=owner),
        "form": form,
    }
    return render(request, "workforce/teams/list.html", context)


@team_page
def team_detail(
    request: HttpRequest, team_id: int, *, area: TeamArea, owner: TeamOwner
) -> HttpResponse:
    team = selectors.team_get_for(owner=owner, pk=team_id)
    form = InviteForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            invitations = services.team_invite(
                team=team, emails=form.addresses(), invited_by=request.user
            )
        except services.InvitationEmailsError as error:
            for index, reasons in sorted(error.problems.items()):
                for reason in reasons:
                    form.add_error("emails", f"{error.emails[index]}: {reason}")
        except ApplicationError as error:
            _form_error(form, error)
        else:
            count = len(invitations)
            messages.success(
                request, f"{count} invitation{'s' if count != 1 else ''} sent to join {team.name}."
            )
            return redirect(_url(area, "detail", team.pk))
    context = {
        "area": area,
        "owner": owner,
        "team": team,
        "members": selectors.team_member_list_for(team=team),
        "invitations": selectors.invitation_list_for(team=team),
        "form": form,
    }
    return render(request, "workforce/teams/detail.html", context)


@require_POST
@team_page
def team_delete(
    request: HttpRequest, team_id: int, *, area: TeamArea, owner: TeamOwner
) -> HttpResponse:
    team = selectors.team_get_for(owner=owner, pk=team_id)
    try:
        services.team_delete(team=team)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(_url(area, "detail", team.pk))
    messages.success(request, f"Team “{team.name}” deleted.")
    return redirect(_url(area, "list"))


@require_POST
@team_page
def team_member_remove(
    request: HttpRequest, team_id: int, worker_pk: int, *, area: TeamArea, owner: TeamOwner
) -> HttpResponse:
    team = selectors.team_get_for(owner=owner, pk=team_id)
    member = selectors.team_member_get_for(team=team, worker_pk=worker_pk)
    services.team_member_remove(member=member)
    messages.success(request, f"{member.worker.user.email} was removed from {team.name}.")
    return redirect(_url(area, "detail", team.pk))


@require_POST
@team_page
def invitation_revoke(
    request: HttpRequest, team_id: int, pk: int, *, area: TeamArea, owner: TeamOwner
) -> HttpResponse:
    team = selectors.team_get_for(owner=owner, pk=team_id)
    invitation = selectors.invitation_get_for(team=team, pk=pk)
    try:
        services.invitation_revoke(invitation=invitation)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"The invitation to {invitation.email} was revoked.")
    return redirect(_url(area, "detail", team.pk))


# --- the invitation link -------------------------------------------------------------------------


def _invitation_closed(
    request: HttpRequest, *, reason: str, invitation: Invitation | None, status: int
) -> HttpResponse:
    context = {"reason": reason, "invitation": invitation}
    if invitation is not None:
        context["owner_name"] = selectors.team_owner_name(team=invitation.team)
    return render(request, "workforce/invitation_closed.html", context, status=status)


def invitation_detail(request: HttpRequest, token: str) -> HttpResponse:
    """What an emailed link opens: the invitation, and how to accept it."""
    invitation = selectors.invitation_get_by_token(token=token)
    if invitation is None:
        return _invitation_closed(request, reason="unknown", invitation=None, status=404)
    refusal = services.invitation_refusal(invitation=invitation)
    if refusal is not None:
        return _invitation_closed(
            request, reason=refusal.code, invitation=invitation, status=refusal.status
        )
    context = {
        "invitation": invitation,
        "team": invitation.team,
        "owner_name": selectors.team_owner_name(team=invitation.team),
        "token": token,
    }
    user = request.user
    if not user.is_authenticated:
        context["login_url"] = reverse("account_login") + "?" + urlencode({"next": request.path})
        return render(request, "workforce/invitation.html", context)
    if not services.invitation_is_for(invitation=invitation, user=user):
        return _invitation_closed(
            request, reason="wrong_account", invitation=invitation, status=403
        )

    worker = selectors.worker_profile_for(user=user)
    if worker is not None and worker.banned_at is not None:
        return _invitation_closed(
            request, reason="worker_banned", invitation=invitation, status=403
        )
    needs_terms = worker is None or worker.terms_accepted_at is None
    form = (WorkerJoinForm if needs_terms else forms.Form)(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.invitation_accept(
                invitation=invitation,
                user=user,
                accept_terms=form.cleaned_data.get("accept_terms", False),
                display_name=form.cleaned_data.get("display_name", ""),
            )
        except ApplicationError as error:
            if error.field:
                _form_error(form, error)
            else:  # used, revoked or expired while the page was open
                return _invitation_closed(
                    request, reason=error.code, invitation=invitation, status=error.status
                )
        else:
            messages.success(
                request, f"You joined {invitation.team.name}. Its jobs are on your job board."
            )
            return redirect("tasks:job-board")
    context.update(form=form, needs_terms=needs_terms)
    return render(request, "workforce/invitation.html", context)


@require_POST
def invitation_signup(request: HttpRequest, token: str) -> HttpResponse:
    """ "Create an account" from an open invitation: the link proves the address, so the new
    account needs no separate email confirmation. Back to the invitation after signing up."""
    invitation_url = reverse("invitation", args=[token])
    invitation = selectors.invitation_get_by_token(token=token)
    if (
        invitation is None
        or services.invitation_refusal(invitation=invitation) is not None
        or request.user.is_authenticated
    ):
        return redirect(invitation_url)
    get_adapter(request).stash_verified_email(request, invitation.email)
    return redirect(reverse("account_signup") + "?" + urlencode({"next": invitation_url}))


# --- urls ----------------------------------------------------------------------------------------


def _team_urls(*, prefix: str, area: TeamArea) -> list:
    owned = {"area": area}
    name = area.url_prefix
    return [
        path(prefix, team_list, owned, name=f"{name}-list"),
        path(f"{prefix}<int:team_id>/", team_detail, owned, name=f"{name}-detail"),
        path(f"{prefix}<int:team_id>/delete", team_delete, owned, name=f"{name}-delete"),
        path(
            f"{prefix}<int:team_id>/members/<int:worker_pk>/remove",
            team_member_remove,
            owned,
            name=f"{name}-member-remove",
        ),
        path(
            f"{prefix}<int:team_id>/invitations/<int:pk>/revoke",
            invitation_revoke,
            owned,
            name=f"{name}-invitation-revoke",
        ),
    ]


urlpatterns = [
    *_team_urls(prefix="teams/", area=REQUESTER),
    *_team_urls(prefix="vendor/teams/", area=VENDOR),
    path("invitations/<str:token>/", invitation_detail, name="invitation"),
    path("invitations/<str:token>/signup", invitation_signup, name="invitation-signup"),
]
