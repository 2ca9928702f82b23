"""Team services, written once for both owners: names, bulk invitations (all or nothing, mail on
commit), revoking, accepting and deleting. Helpers here are shared by the other team tests."""

import hashlib
import itertools
import re
from datetime import timedelta

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail
from django.utils import timezone

from marketplace.errors import ApplicationError
from tests.factories import OrganizationFactory, UserFactory, WorkerFactory
from workforce.models import Invitation, Team, TeamMember, Vendor, VendorManager, Worker
from workforce.selectors import teams as selectors
from workforce.services import accounts
from workforce.services import teams as services

pytestmark = pytest.mark.django_db

LINK = re.compile(r"http://127\.0\.0\.1:8000(/invitations/(?P<token>[A-Za-z0-9_-]{43})/)")


# --- shared helpers ------------------------------------------------------------------------------


_vendor_numbers = itertools.count(1)


def vendor_with_manager(*, mfa: bool = True, name: str | None = None):
    """A vendor and one manager (with an authenticator app unless `mfa` is False)."""
    name = name or f"Vendor {next(_vendor_numbers)}"
    vendor = Vendor.objects.create(name=name, slug=re.sub(r"\W+", "-", name.lower()))
    manager = UserFactory()
    VendorManager.objects.create(vendor=vendor, user=manager)
    if mfa:
        give_mfa(manager)
    return vendor, manager


def give_mfa(user) -> None:
    Authenticator.objects.create(
        user=user, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"}
    )


def invite(capture, team, *emails, by=None) -> list[tuple[Invitation, str]]:
    """Invite through the service, run its on-commit mail, and return each invitation with the
    token read from its email."""
    by = by or (team.organization.memberships.first().user if team.organization_id else None)
    by = by or team.vendor.managers.first().user
    sent_before = len(mail.outbox)
    with capture(execute=True):
        invitations = services.team_invite(team=team, emails=list(emails), invited_by=by)
    messages = mail.outbox[sent_before:]
    assert len(messages) == len(invitations)
    return [
        (invitation, token_in(message))
        for invitation, message in zip(invitations, messages, strict=True)
    ]


def token_in(message) -> str:
    return LINK.search(message.body)["token"]


def snapshot():
    """Every row the team services write, to assert that a refusal changed nothing."""
    return (
        list(Team.objects.order_by("pk").values_list("pk", "name", "organization", "vendor")),
        list(TeamMember.objects.order_by("pk").values_list("pk", "team", "worker")),
        list(
            Invitation.objects.order_by("pk").values_list(
                "pk", "team", "email", "token_hash", "accepted_at", "revoked_at", "expires_at"
            )
        ),
        list(Worker.objects.order_by("pk").values_list("pk", "user", "terms_accepted_at")),
    )


@pytest.fixture(params=["organization", "vendor"])
def owner(request):
    """Each test runs for a requester organisation and for a vendor."""
    if request.param == "organization":
        return OrganizationFactory(name="Pets Inc")
    vendor, _ = vendor_with_manager(name="Pets Inc")
    return vendor


@pytest.fixture
def team(owner):
    return services.team_create(owner=owner, name="Cats")


# --- team_create ---------------------------------------------------------------------------------


def test_team_create_strips_the_name_and_sets_the_one_owner(owner):
    team = services.team_create(owner=owner, name="  Cat experts ")

    team.refresh_from_db()
    assert team.name == "Cat experts"
    if isinstance(owner, Vendor):
        assert (team.organization_id, team.vendor_id) == (None, owner.pk)
    else:
        assert (team.organization_id, team.vendor_id) == (owner.pk, None)


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        ("", "invalid", "Enter a team name."),
        ("   ", "invalid", "Enter a team name."),
        ("x" * 64, "invalid", "A team name has at most 63 characters."),
        ("CATS", "name_taken", "You already have a team named “CATS”."),
    ],
)
def test_team_create_refuses_bad_names(team, name, code, message):
    before = snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.team_create(owner=team.organization or team.vendor, name=name)

    assert (refused.value.code, refused.value.message, refused.value.field) == (
        code,
        message,
        "name",
    )
    assert snapshot() == before


def test_names_are_unique_per_owner_only(team):
    other_org = OrganizationFactory()
    other_vendor, _ = vendor_with_manager()

    assert services.team_create(owner=other_org, name="cats").name == "cats"
    assert services.team_create(owner=other_vendor, name="CATS").name == "CATS"
    assert services.team_create(owner=team.organization or team.vendor, name="x" * 63)


# --- team_invite ---------------------------------------------------------------------------------


def test_invite_stores_a_hash_of_the_token_and_mails_the_link(
    team, django_capture_on_commit_callbacks, settings
):
    settings.INVITATION_LIFETIME_DAYS = 7
    by = UserFactory(email="boss@example.com")
    before = timezone.now()

    [(invitation, token)] = invite(
        django_capture_on_commit_callbacks, team, " Ana@Example.com ", by=by
    )

    invitation.refresh_from_db()
    assert invitation.email == "Ana@Example.com"
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert invitation.invited_by == by
    assert (invitation.accepted_at, invitation.revoked_at) == (None, None)
    assert before + timedelta(days=7) <= invitation.expires_at
    assert invitation.expires_at <= timezone.now() + timedelta(days=7)
    [message] = mail.outbox
    assert message.to == ["Ana@Example.com"]
    assert message.subject == "[Groundwork] Pets Inc invited you to the team Cats"
    assert f"http://127.0.0.1:8000/invitations/{token}/" in message.body
    assert 'boss@example.com invited you to join the team "Cats" of Pets Inc' in message.body
    assert selectors.invitation_get_by_token(token=token) == invitation
    assert selectors.invitation_get_by_token(token=token + "x") is None


def test_no_mail_leaves_before_the_commit(team, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.team_invite(
            team=team, emails=["a@example.com", "b@example.com"], invited_by=UserFactory()
        )

    assert len(callbacks) == 2
    assert mail.outbox == []


def test_bulk_invite_names_every_bad_address_and_creates_nothing(
    team, django_capture_on_commit_callbacks
):
    member = WorkerFactory(user=UserFactory(email="member@example.com"))
    TeamMember.objects.create(team=team, worker=member)
    before = snapshot()

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(services.InvitationEmailsError) as refused,
    ):
        services.team_invite(
            team=team,
            emails=[
                "ok@example.com",
                "not-an-address",
                "OK@example.com",
                "MEMBER@example.com",
                "",
                "x" * 250 + "@example.com",
                "fine@example.com",
            ],
            invited_by=UserFactory(),
        )

    assert refused.value.code == "invalid_emails"
    assert refused.value.status == 400
    assert refused.value.message == "5 addresses cannot be invited; no invitation was sent."
    assert refused.value.fields == {
        "emails[1]": ["Enter a valid email address."],
        "emails[2]": ["This address is listed more than once."],
        "emails[3]": ["This address is already a member of the team."],
        "emails[4]": ["Enter a valid email address."],
        "emails[5]": ["Enter a valid email address."],
    }
    assert callbacks == []
    assert mail.outbox == []
    assert snapshot() == before


@pytest.mark.parametrize(
    ("count", "message"),
    [
        (0, "Enter at least one email address."),
        (101, "Invite at most 100 addresses at a time (101 were given)."),
    ],
)
def test_bulk_invite_takes_1_to_100_addresses(team, count, message):
    before = snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.team_invite(
            team=team,
            emails=[f"p{n}@example.com" for n in range(count)],
            invited_by=UserFactory(),
        )

    assert (refused.value.code, refused.value.field, refused.value.message) == (
        "invalid",
        "emails",
        message,
    )
    assert snapshot() == before


def test_one_hundred_addresses_are_invited_at_once(team, django_capture_on_commit_callbacks):
    emails = [f"p{n}@example.com" for n in range(100)]

    sent = invite(django_capture_on_commit_callbacks, team, *emails)

    assert [invitation.email for invitation, _ in sent] == emails
    assert sorted(m.to[0] for m in mail.outbox) == sorted(emails)
    assert len({token for _, token in sent}) == 100


def test_inviting_again_revokes_the_open_invitation(team, django_capture_on_commit_callbacks):
    [(first, first_token)] = invite(django_capture_on_commit_callbacks, team, "ana@example.com")

    [(second, second_token)] = invite(django_capture_on_commit_callbacks, team, "ANA@example.com")

    first.refresh_from_db()
    assert first.revoked_at is not None
    assert selectors.invitation_status(invitation=first) == "revoked"
    assert selectors.invitation_status(invitation=second) == "pending"
    assert first_token != second_token
    assert list(team.invitations.order_by("pk").values_list("pk", flat=True)) == [
        first.pk,
        second.pk,
    ]


def test_inviting_again_after_expiry_replaces_the_expired_invitation(
    team, django_capture_on_commit_callbacks
):
    [(first, _)] = invite(django_capture_on_commit_callbacks, team, "ana@example.com")
    Invitation.objects.filter(pk=first.pk).update(expires_at=timezone.now())

    [(second, _)] = invite(django_capture_on_commit_callbacks, team, "ana@example.com")

    first.refresh_from_db()
    assert first.revoked_at is not None
    assert selectors.invitation_status(invitation=second) == "pending"


def test_an_invitation_to_another_team_is_left_alone(team, django_capture_on_commit_callbacks):
    dogs = services.team_create(owner=team.organization or team.vendor, name="Dogs")
    [(to_cats, _)] = invite(django_capture_on_commit_callbacks, team, "ana@example.com")

    invite(django_capture_on_commit_callbacks, dogs, "ana@example.com")

    to_cats.refresh_from_db()
    assert to_cats.revoked_at is None


# --- invitation_revoke ---------------------------------------------------------------------------


def test_revoke_is_idempotent(team, django_capture_on_commit_callbacks):
    [(invitation, _)] = invite(django_capture_on_commit_callbacks, team, "ana@example.com")

    revoked = services.invitation_revoke(invitation=invitation)
    again = services.invitation_revoke(invitation=invitation)

    assert revoked.revoked_at is not None
    assert again.revoked_at == revoked.revoked_at


def test_an_accepted_invitation_cannot_be_revoked(team, django_capture_on_commit_callbacks):
    user = UserFactory(email="ana@example.com")
    [(invitation, _)] = invite(django_capture_on_commit_callbacks, team, "ana@example.com")
    services.invitation_accept(invitation=invitation, user=user, accept_terms=True)
    before = snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.invitation_revoke(invitation=invitation)

    assert (refused.value.code, refused.value.status) == ("invitation_accepted", 409)
    assert refused.value.message == (
        "ana@example.com already accepted this invitation; remove the member instead."
    )
    assert snapshot() == before


# --- invitation_accept ---------------------------------------------------------------------------


def test_accept_creates_the_worker_profile_and_the_membership(
    team, django_capture_on_commit_callbacks
):
    user = UserFactory(email="ana@example.com")
    [(invitation, _)] = invite(django_capture_on_commit_callbacks, team, "ANA@example.com")

    member = services.invitation_accept(
        invitation=invitation, user=user, accept_terms=True, display_name=" Ana "
    )

    invitation.refresh_from_db()
    assert (member.team, member.worker.user) == (team, user)
    assert member.worker.display_name == "Ana"
    assert member.worker.terms_accepted_at is not None
    assert invitation.accepted_by == user
    assert selectors.invitation_status(invitation=invitation) == "accepted"


def test_a_worker_accepts_without_the_terms_again(team, django_capture_on_commit_callbacks):
    worker = WorkerFactory(user=UserFactory(email="ana@example.com"))
    [(invitation, _)] = invite(django_capture_on_commit_callbacks, team, "ana@example.com")

    member = services.invitation_accept(invitation=invitation, user=worker.user)

    assert member.worker == worker
    assert Worker.objects.count() == 1


def test_a_verified_secondary_address_may_accept(team, django_capture_on_commit_callbacks):
    worker = WorkerFactory(user=UserFactory(email="ana@example.com"))
    worker.user.emailaddress_set.create(email="ana@work.example.com", verified=True)
    [(invitation, _)] = invite(django_capture_on_commit_callbacks, team, "Ana@Work.example.com")

    member = services.invitation_accept(invitation=invitation, user=worker.user)

    assert member.worker == worker


@pytest.mark.parametrize(
    ("case", "code", "status", "field"),
    [
        ("terms_not_accepted", "terms_required", 400, "accept_terms"),
        ("unverified_secondary", "wrong_account", 403, None),
        ("other_user", "wrong_account", 403, None),
        ("banned", "worker_banned", 403, None),
        ("expired", "invitation_expired", 410, None),
        ("revoked", "invitation_revoked", 410, None),
        ("used", "invitation_used", 410, None),
    ],
)
def test_accept_refusals_change_nothing(
    team, django_capture_on_commit_callbacks, case, code, status, field
):
    user = UserFactory(email="ana@example.com")
    [(invitation, _)] = invite(django_capture_on_commit_callbacks, team, "ana@example.com")
    accept_terms = case != "terms_not_accepted"
    if case == "unverified_secondary":
        user = UserFactory(email="bob@example.com")
        user.emailaddress_set.create(email="ana@example.com", verified=False)
    elif case == "other_user":
        user = UserFactory(email="bob@example.com")
    elif case == "banned":
        accounts.worker_register(user=user, accept_terms=True)
        Worker.objects.filter(user=user).update(banned_at=timezone.now())
    elif case == "expired":
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    elif case == "revoked":
        services.invitation_revoke(invitation=invitation)
    elif case == "used":
        services.invitation_accept(invitation=invitation, user=user, accept_terms=True)
    before = snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.invitation_accept(invitation=invitation, user=user, accept_terms=accept_terms)

    assert (refused.value.code, refused.value.status, refused.value.field) == (code, status, field)
    assert snapshot() == before


# --- team_delete and team_member_remove ----------------------------------------------------------


def test_delete_removes_members_and_invitations(team, django_capture_on_commit_callbacks):
    TeamMember.objects.create(team=team, worker=WorkerFactory())
    invite(django_capture_on_commit_callbacks, team, "ana@example.com")

    services.team_delete(team=team)

    assert (Team.objects.count(), TeamMember.objects.count(), Invitation.objects.count()) == (
        0,
        0,
        0,
    )
    assert Worker.objects.count() == 1


def test_remove_member_keeps_the_worker_and_other_teams(team):
    worker = WorkerFactory()
    dogs = services.team_create(owner=team.organization or team.vendor, name="Dogs")
    member = TeamMember.objects.create(team=team, worker=worker)
    TeamMember.objects.create(team=dogs, worker=worker)

    services.team_member_remove(member=member)

    assert list(TeamMember.objects.values_list("team__name", "worker")) == [("Dogs", worker.pk)]
