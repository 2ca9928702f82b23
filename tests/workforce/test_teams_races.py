"""Races settled in PostgreSQL: one invitation link accepted at once from several requests, and
the same address invited twice at once."""

import pytest
from django.core import mail

from marketplace.errors import ApplicationError
from tests.concurrency import run_concurrently
from tests.factories import OrganizationFactory, UserFactory
from tests.workforce.test_teams_services import invite
from workforce.models import Invitation, TeamMember, Worker
from workforce.services import teams as services

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_accepts_of_one_link_make_one_membership(django_capture_on_commit_callbacks):
    organization = OrganizationFactory()
    team = services.team_create(owner=organization, name="Cats")
    user = UserFactory(email="ana@example.com")
    [(invitation, _)] = invite(django_capture_on_commit_callbacks, team, "ana@example.com")

    outcomes = run_concurrently(
        4,
        lambda _: services.invitation_accept(
            invitation=Invitation.objects.get(pk=invitation.pk), user=user, accept_terms=True
        ),
    )

    winners = [o for o in outcomes if o.succeeded]
    losers = [o.error for o in outcomes if not o.succeeded]
    assert len(winners) == 1
    assert [(type(e), e.code, e.status) for e in losers] == [
        (ApplicationError, "invitation_used", 410)
    ] * 3
    assert list(TeamMember.objects.values_list("team", "worker__user")) == [(team.pk, user.pk)]
    assert Worker.objects.filter(user=user).count() == 1
    invitation.refresh_from_db()
    assert invitation.accepted_by == user
    assert Invitation.objects.filter(accepted_at__isnull=False).count() == 1


def test_concurrent_invites_of_one_address_leave_one_open_invitation():
    organization = OrganizationFactory()
    team = services.team_create(owner=organization, name="Cats")
    by = organization.memberships.get().user

    outcomes = run_concurrently(
        4,
        lambda n: services.team_invite(team=team, emails=["ana@example.com"], invited_by=by),
    )

    assert all(o.succeeded for o in outcomes), [o.error for o in outcomes]
    statuses = [
        (i.accepted_at is None, i.revoked_at is None)
        for i in Invitation.objects.filter(team=team).order_by("pk")
    ]
    assert statuses.count((True, True)) == 1
    assert len(statuses) == 4
    assert len(mail.outbox) == 4
