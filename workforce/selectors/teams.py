"""Reads for teams, their members and invitations. A team has one owner: a requester
organisation (its private teams) or a vendor (its vendor teams); every read is scoped to it."""

import hashlib
from datetime import datetime

from django.db import models
from django.db.models import Case, Count, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone

from workforce.models import Invitation, Organization, Team, TeamMember, User, Vendor, Worker

TeamOwner = Organization | Vendor


class InvitationStatus(models.TextChoices):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"
    EXPIRED = "expired"


def team_owner_filter(*, owner: TeamOwner) -> dict[str, TeamOwner]:
    """The lookup that selects the owner's teams: {"organization": o} or {"vendor": v}."""
    if isinstance(owner, Organization):
        return {"organization": owner}
    if isinstance(owner, Vendor):
        return {"vendor": owner}
    raise TypeError(f"A team is owned by an organisation or a vendor, not {owner!r}.")


def team_list_for(*, owner: TeamOwner) -> QuerySet[Team]:
    """The owner's teams by name, with their member and pending-invitation counts."""
    now = timezone.now()
    return (
        Team.objects.filter(**team_owner_filter(owner=owner))
        .annotate(
            member_count=Count("members", distinct=True),
            pending_invitation_count=Count(
                "invitations",
                filter=Q(
                    invitations__accepted_at__isnull=True,
                    invitations__revoked_at__isnull=True,
                    invitations__expires_at__gt=now,
                ),
                distinct=True,
            ),
        )
        .order_by("name", "pk")
    )


def team_get_for(*, owner: TeamOwner, pk: int) -> Team:
    """The owner's team; 404 for anyone else's."""
    team = team_list_for(owner=owner).filter(pk=pk).first()
    if team is None:
        raise Http404("No such team.")
    return team


def team_member_list_for(*, team: Team) -> QuerySet[TeamMember]:
    return (
        TeamMember.objects.filter(team=team)
        .select_related("worker__user")
        .order_by("joined_at", "pk")
    )


def team_member_get_for(*, team: Team, worker_pk: int) -> TeamMember:
    """The team's membership of a worker; 404 if the worker is not a member."""
    member = team_member_list_for(team=team).filter(worker_id=worker_pk).first()
    if member is None:
        raise Http404("This worker is not a member of the team.")
    return member


def invitation_status(*, invitation: Invitation, now: datetime | None = None) -> str:
    if invitation.accepted_at is not None:
        return InvitationStatus.ACCEPTED
    if invitation.revoked_at is not None:
        return InvitationStatus.REVOKED
    if invitation.expires_at <= (now or timezone.now()):
        return InvitationStatus.EXPIRED
    return InvitationStatus.PENDING


def invitation_list_for(*, team: Team) -> QuerySet[Invitation]:
    """The team's invitations, newest first, each annotated with its `status`."""
    now = timezone.now()
    return (
        Invitation.objects.filter(team=team)
        .select_related("invited_by")
        .annotate(
            status=Case(
                When(accepted_at__isnull=False, then=Value(InvitationStatus.ACCEPTED.value)),
                When(revoked_at__isnull=False, then=Value(InvitationStatus.REVOKED.value)),
                When(expires_at__lte=now, then=Value(InvitationStatus.EXPIRED.value)),
                default=Value(InvitationStatus.PENDING.value),
                output_field=models.CharField(),
            )
        )
        .order_by("-created_at", "-pk")
    )


def invitation_get_for(*, team: Team, pk: int) -> Invitation:
    """The team's invitation; 404 for any other."""
    invitation = invitation_list_for(team=team).filter(pk=pk).first()
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation


def invitation_token_hash(*, token: str) -> str:
    """Only this SHA-256 of an invitation's token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_get_by_token(*, token: str) -> Invitation | None:
    """The invitation an emailed link names, whatever its state; None for an unknown token."""
    return (
        Invitation.objects.select_related("team__organization", "team__vendor", "invited_by")
        .filter(token_hash=invitation_token_hash(token=token))
        .first()
    )


def team_owner_name(*, team: Team) -> str:
    """Who the team belongs to, as an invitee reads it."""
    owner = team.organization if team.organization_id else team.vendor
    return owner.name if owner else ""


def worker_profile_for(*, user: User) -> Worker | None:
    """The user's worker profile in any state (terms not accepted, banned), or None."""
    return Worker.objects.filter(user=user).first()
