"""Teams and their invitations, written once for both kinds of owner: a requester
organisation's private teams and a vendor's teams.

Locking: a bulk invitation locks its team row (invitations to one team are made one batch at a
time); revoking and accepting lock the invitation row, so a link is accepted at most once.
"""

import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress
from allauth.core import context as allauth_context
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from marketplace.errors import ApplicationError
from workforce.models import Invitation, Team, TeamMember, User, Worker
from workforce.selectors import teams as selectors
from workforce.selectors.teams import InvitationStatus, TeamOwner
from workforce.services import accounts

TEAM_NAME_MAX_LENGTH = 63
INVITATION_BATCH_MAX = 100
EMAIL_MAX_LENGTH = 254
INVITATION_MAIL_TEMPLATE = "workforce/email/team_invitation"


class InvitationEmailsError(ApplicationError):
    """A bulk invitation was refused. `problems` maps the position of each bad address in the
    list to its reasons; the API names them `emails[<i>]`, as DRF names list items."""

    def __init__(self, *, emails: list[str], problems: dict[int, list[str]]) -> None:
        count = len(problems)
        super().__init__(
            "invalid_emails",
            f"{count} address{'es' if count != 1 else ''} cannot be invited; "
            "no invitation was sent.",
            fields={f"emails[{index}]": reasons for index, reasons in sorted(problems.items())},
        )
        self.emails = emails
        self.problems = problems


# --- teams ---------------------------------------------------------------------------------------


def team_create(*, owner: TeamOwner, name: str) -> Team:
    """A new, empty team. Names are 1–63 characters, unique per owner ignoring case."""
    name = name.strip()
    if not name:
        raise ApplicationError("invalid", "Enter a team name.", field="name")
    if len(name) > TEAM_NAME_MAX_LENGTH:
        raise ApplicationError(
            "invalid",
            f"A team name has at most {TEAM_NAME_MAX_LENGTH} characters.",
            field="name",
        )
    owned = selectors.team_owner_filter(owner=owner)
    name_taken = ApplicationError(
        "name_taken", f"You already have a team named “{name}”.", field="name"
    )
    if Team.objects.filter(**owned, name__iexact=name).exists():
        raise name_taken
    try:
        with transaction.atomic():
            return Team.objects.create(**owned, name=name)
    except IntegrityError:  # a concurrent request took the name first
        raise name_taken from None


@transaction.atomic
def team_delete(*, team: Team) -> None:
    """Delete a team with its members and invitations; refused while a job uses it."""
    locked = Team.objects.select_for_update().get(pk=team.pk)
    job_names = list(locked.jobs.order_by("created_at", "pk").values_list("name", flat=True))
    if job_names:
        shown = ", ".join(job_names[:5]) + (" …" if len(job_names) > 5 else "")
        raise ApplicationError(
            "team_in_use",
            f"The team “{locked.name}” works on {len(job_names)} "
            f"labeling job{'s' if len(job_names) != 1 else ''} ({shown}) and cannot be deleted.",
            status=409,
        )
    if locked.vendor_offers.exists():
        raise ApplicationError(
            "team_in_use",
            f"The team “{locked.name}” works on an accepted job offer and cannot be deleted.",
            status=409,
        )
    try:
        with transaction.atomic():
            locked.delete()
    except (ProtectedError, IntegrityError):  # a job took the team after the checks
        raise ApplicationError(
            "team_in_use",
            f"The team “{locked.name}” is used by a labeling job and cannot be deleted.",
            status=409,
        ) from None


@transaction.atomic
def team_member_remove(*, member: TeamMember) -> None:
    """Take a worker off a team. Work they already hold on its jobs expires normally."""
    TeamMember.objects.filter(pk=member.pk).delete()


# --- invitations ---------------------------------------------------------------------------------


def _invitation_link(*, token: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("invitation", args=[token])


def _site_request() -> HttpRequest:
    """A stand-in request for mail sent outside a request (a shell, a task, a test's on-commit
    capture): allauth's mail rendering reads the site from the current request."""
    url = urlsplit(settings.SITE_URL)
    request = HttpRequest()
    request.META["SERVER_NAME"] = url.hostname or "localhost"
    request.META["SERVER_PORT"] = str(url.port or (443 if url.scheme == "https" else 80))
    request.META["wsgi.url_scheme"] = url.scheme or "http"
    return request


def _invitation_mail_send(
    *, request: HttpRequest | None, email: str, mail_context: dict[str, str]
) -> None:
    with allauth_context.request_context(request or _site_request()):
        get_adapter().send_mail(INVITATION_MAIL_TEMPLATE, email, mail_context)


def _invitation_emails_check(*, team: Team, emails: list[str]) -> list[str]:
    """The addresses stripped, or InvitationEmailsError naming every bad one."""
    if not emails:
        raise ApplicationError("invalid", "Enter at least one email address.", field="emails")
    if len(emails) > INVITATION_BATCH_MAX:
        raise ApplicationError(
            "invalid",
            f"Invite at most {INVITATION_BATCH_MAX} addresses at a time "
            f"({len(emails)} were given).",
            field="emails",
        )
    cleaned = [email.strip() for email in emails]
    problems: dict[int, list[str]] = {}
    for index, email in enumerate(cleaned):
        try:
            if len(email) > EMAIL_MAX_LENGTH:
                raise ValidationError("too long")
            validate_email(email)
        except ValidationError:
            problems[index] = ["Enter a valid email address."]

    first_seen: dict[str, int] = {}
    for index, email in enumerate(cleaned):
        if index in problems:
            continue
        key = email.lower()
        if key in first_seen:
            problems[index] = ["This address is listed more than once."]
        else:
            first_seen[key] = index

    members = set(
        TeamMember.objects.filter(team=team)
        .annotate(email=Lower("worker__user__email"))
        .filter(email__in=list(first_seen))
        .values_list("email", flat=True)
    )
    for key in members:
        problems[first_seen[key]] = ["This address is already a member of the team."]
    if problems:
        raise InvitationEmailsError(emails=cleaned, problems=problems)
    return cleaned


@transaction.atomic
def team_invite(*, team: Team, emails: list[str], invited_by: User) -> list[Invitation]:
    """Invite every address or none: each gets a link by email (sent on commit). An address
    with an open invitation to the team gets a fresh one and the old link stops working."""
    team = Team.objects.select_for_update().get(pk=team.pk)
    cleaned = _invitation_emails_check(team=team, emails=emails)
    now = timezone.now()
    lowered = [email.lower() for email in cleaned]
    (
        Invitation.objects.annotate(email_lower=Lower("email"))
        .filter(team=team, email_lower__in=lowered, accepted_at__isnull=True)
        .filter(revoked_at__isnull=True)
        .update(revoked_at=now)
    )
    expires_at = now + timedelta(days=settings.INVITATION_LIFETIME_DAYS)
    owner_name = selectors.team_owner_name(team=team)
    request = allauth_context.request
    invitations = []
    for email in cleaned:
        token = secrets.token_urlsafe(32)
        invitation = Invitation.objects.create(
            team=team,
            email=email,
            token_hash=selectors.invitation_token_hash(token=token),
            invited_by=invited_by,
            expires_at=expires_at,
        )
        invitations.append(invitation)
        mail_context = {
            "team_name": team.name,
            "owner_name": owner_name,
            "invited_by": invited_by.email,
            "invitation_url": _invitation_link(token=token),
            "expires_at": expires_at,
        }
        transaction.on_commit(
            lambda email=email, mail_context=mail_context: _invitation_mail_send(
                request=request, email=email, mail_context=mail_context
            )
        )
    return invitations


def _invitation_lock(*, invitation: Invitation) -> Invitation:
    return (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("team")
        .get(pk=invitation.pk)
    )


@transaction.atomic
def invitation_revoke(*, invitation: Invitation) -> Invitation:
    """Stop a link from working. Revoking twice changes nothing; an accepted invitation stays."""
    locked = _invitation_lock(invitation=invitation)
    if locked.accepted_at is not None:
        raise ApplicationError(
            "invitation_accepted",
            f"{locked.email} already accepted this invitation; remove the member instead.",
            status=409,
        )
    if locked.revoked_at is None:
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
    return locked


def invitation_refusal(*, invitation: Invitation) -> ApplicationError | None:
    """Why the link no longer works (used, revoked, expired: 410), or None while it is open."""
    status = selectors.invitation_status(invitation=invitation)
    if status == InvitationStatus.ACCEPTED:
        return ApplicationError(
            "invitation_used", "This invitation has already been used.", status=410
        )
    if status == InvitationStatus.REVOKED:
        return ApplicationError(
            "invitation_revoked", "This invitation was withdrawn by the team.", status=410
        )
    if status == InvitationStatus.EXPIRED:
        return ApplicationError("invitation_expired", "This invitation has expired.", status=410)
    return None


def invitation_is_for(*, invitation: Invitation, user: User) -> bool:
    """Whether the user holds the invited address (their sign-in address or a verified one)."""
    if not user.is_authenticated:
        return False
    email = invitation.email.lower()
    if user.email.lower() == email:
        return True
    return EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists()


@transaction.atomic
def invitation_accept(
    *, invitation: Invitation, user: User, accept_terms: bool = False, display_name: str = ""
) -> TeamMember:
    """Join the team by an invitation sent to one of the user's addresses. A user without a
    worker profile gets one here and must accept the worker terms."""
    locked = _invitation_lock(invitation=invitation)
    refusal = invitation_refusal(invitation=locked)
    if refusal is not None:
        raise refusal
    if not invitation_is_for(invitation=locked, user=user):
        raise ApplicationError(
            "wrong_account",
            f"This invitation was sent to {locked.email}; you are signed in as {user.email}.",
            status=403,
        )
    worker = Worker.objects.filter(user=user).first()
    if worker is not None and worker.banned_at is not None:
        raise ApplicationError(
            "worker_banned", "Your worker account is banned and cannot join teams.", status=403
        )
    if worker is None or worker.terms_accepted_at is None:
        if not accept_terms:
            raise ApplicationError(
                "terms_required",
                "Accept the worker terms to join the team.",
                field="accept_terms",
            )
        worker = accounts.worker_register(
            user=user, display_name=display_name.strip(), accept_terms=True
        )
    member, _ = TeamMember.objects.get_or_create(team=locked.team, worker=worker)
    locked.accepted_at = timezone.now()
    locked.accepted_by = user
    locked.save(update_fields=["accepted_at", "accepted_by"])
    return member
