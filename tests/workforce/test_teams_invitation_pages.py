"""The page an invitation link opens: closed links (forged, expired, revoked, used), signing up
or signing in from it, accepting it, and refusing the wrong account."""

from urllib.parse import quote

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.utils import timezone

from tests.factories import OrganizationFactory, UserFactory, WorkerFactory
from tests.workforce.test_teams_services import LINK, invite, snapshot, vendor_with_manager
from workforce.models import Invitation, TeamMember, User, Worker
from workforce.services import teams as services

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-and-unusual-passphrase"  # noqa: S105


@pytest.fixture
def team():
    organization = OrganizationFactory(name="Pets Inc", owner=UserFactory(email="boss@example.com"))
    return services.team_create(owner=organization, name="Cats")


@pytest.fixture
def sent(team, django_capture_on_commit_callbacks) -> tuple[Invitation, str]:
    """An open invitation for ana@example.com and the path of its emailed link."""
    [(invitation, _)] = invite(django_capture_on_commit_callbacks, team, "ana@example.com")
    return invitation, LINK.search(mail.outbox[-1].body).group(1)


def text(response) -> str:
    return response.content.decode()


# --- closed links --------------------------------------------------------------------------------


def test_a_forged_link_is_a_clear_404(client, sent):
    response = client.get("/invitations/" + "A" * 43 + "/")

    assert response.status_code == 404
    assert "This invitation link is not valid" in text(response)
    assert "ask the person who invited you to send a new invitation" in text(response)


def test_an_expired_link_is_410_and_says_whom_to_ask(client, sent):
    invitation, path = sent
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())

    response = client.get(path)

    assert response.status_code == 410
    assert "This invitation has expired" in text(response)
    assert "Ask boss@example.com to send you a new one" in text(response)


def test_a_revoked_link_is_410(client, sent):
    invitation, path = sent
    services.invitation_revoke(invitation=invitation)

    response = client.get(path)

    assert response.status_code == 410
    assert "This invitation was withdrawn" in text(response)
    assert "look in your inbox for a more recent invitation email" in text(response)


def test_a_link_replaced_by_a_newer_invitation_is_410(
    client, sent, django_capture_on_commit_callbacks
):
    invitation, path = sent
    invite(django_capture_on_commit_callbacks, invitation.team, "ana@example.com")

    assert client.get(path).status_code == 410
    assert client.get(LINK.search(mail.outbox[-1].body).group(1)).status_code == 200


def test_a_used_link_is_410(client, sent):
    invitation, path = sent
    services.invitation_accept(
        invitation=invitation, user=UserFactory(email="ana@example.com"), accept_terms=True
    )

    response = client.get(path)

    assert response.status_code == 410
    assert "This invitation has already been used" in text(response)
    assert "sign in and open your job board" in text(response)


def test_posting_to_a_closed_link_changes_nothing(client, sent):
    invitation, path = sent
    user = UserFactory(email="ana@example.com")
    services.invitation_revoke(invitation=invitation)
    client.force_login(user)
    before = snapshot()

    response = client.post(path, {"accept_terms": "on"})

    assert response.status_code == 410
    assert snapshot() == before


# --- signed out ----------------------------------------------------------------------------------


def test_a_visitor_sees_the_team_and_both_ways_in(client, sent):
    _, path = sent

    response = client.get(path)

    assert response.status_code == 200
    page = text(response)
    assert "Join the team Cats" in page
    assert "boss@example.com invited <strong>ana@example.com</strong>" in page
    assert "of Pets Inc" in page
    assert f'action="{path}signup"' in page
    assert "Create an account" in page
    assert f'href="/accounts/login/?next={quote(path, safe="")}"' in page


def test_sign_up_from_the_invitation_needs_no_separate_confirmation(client, sent):
    invitation, path = sent

    # When the visitor chooses "Create an account"
    to_signup = client.post(f"{path}signup")
    assert to_signup.status_code == 302
    assert to_signup.url == f"/accounts/signup/?next={quote(path, safe='')}"
    signup_page = client.get(to_signup.url)
    assert 'value="ana@example.com"' in text(signup_page)

    # And signs up with the invited address
    signed_up = client.post(
        "/accounts/signup/",
        {"email": "ana@example.com", "password1": PASSWORD, "password2": PASSWORD, "next": path},
    )

    # Then they are signed in and back on the invitation, with no confirmation email sent
    assert (signed_up.status_code, signed_up.url) == (302, path)
    user = User.objects.get(email="ana@example.com")
    assert list(EmailAddress.objects.filter(user=user).values_list("email", "verified")) == [
        ("ana@example.com", True)
    ]
    assert len(mail.outbox) == 1  # only the invitation
    page = client.get(path)
    assert page.status_code == 200
    assert "I accept the worker terms" in text(page)

    # When they accept without ticking the terms, nothing happens
    before = snapshot()
    refused = client.post(path, {"display_name": "Ana"})
    assert refused.status_code == 200
    assert "This field is required." in text(refused)
    assert snapshot() == before

    # And with the terms they become a worker and a member
    accepted = client.post(path, {"display_name": "Ana", "accept_terms": "on"})
    assert (accepted.status_code, accepted.url) == (302, "/work/")
    worker = Worker.objects.get(user=user)
    assert (worker.display_name, worker.terms_accepted_at is not None) == ("Ana", True)
    assert list(TeamMember.objects.values_list("team", "worker")) == [
        (invitation.team_id, worker.pk)
    ]
    invitation.refresh_from_db()
    assert (invitation.accepted_by, invitation.accepted_at is not None) == (user, True)
    board = client.get("/work/")
    assert "You joined Cats. Its jobs are on your job board." in text(board)
    # And the link is used up
    assert client.get(path).status_code == 410


def test_the_signup_shortcut_does_nothing_for_a_closed_link(client, sent):
    invitation, path = sent
    services.invitation_revoke(invitation=invitation)

    response = client.post(f"{path}signup")

    assert (response.status_code, response.url) == (302, path)
    assert not client.session.get("account_verified_email")


def test_the_signup_shortcut_takes_post_only(client, sent):
    _, path = sent

    assert client.get(f"{path}signup").status_code == 405
    assert not client.session.get("account_verified_email")


def test_an_existing_worker_signs_in_and_accepts_without_the_terms(
    client, team, django_capture_on_commit_callbacks
):
    # Given an invitation to an address written in another case than the worker's account
    invite(django_capture_on_commit_callbacks, team, "ANA@Example.com")
    path = LINK.search(mail.outbox[-1].body).group(1)
    worker = WorkerFactory(user=UserFactory(email="ana@example.com"))

    signed_in = client.post(
        f"/accounts/login/?next={quote(path, safe='')}",
        {"login": "ana@example.com", "password": "correct-horse-battery-staple"},
    )
    assert (signed_in.status_code, signed_in.url) == (302, path)
    page = client.get(path)
    assert "worker terms" not in text(page)
    assert "Accept and join Cats" in text(page)

    accepted = client.post(path)

    assert accepted.status_code == 302
    assert list(TeamMember.objects.values_list("worker", flat=True)) == [worker.pk]


# --- signed in as someone else -------------------------------------------------------------------


def test_another_account_is_refused_clearly(client, sent):
    _, path = sent
    client.force_login(WorkerFactory(user=UserFactory(email="bob@example.com")).user)
    before = snapshot()

    page = client.get(path)
    posted = client.post(path, {"accept_terms": "on"})

    assert (page.status_code, posted.status_code) == (403, 403)
    assert "This invitation is for another address" in text(page)
    assert "It was sent to <strong>ana@example.com</strong>" in text(page)
    assert "you are signed in as <strong>bob@example.com</strong>" in text(page)
    assert snapshot() == before


def test_a_banned_worker_cannot_accept(client, sent):
    _, path = sent
    worker = WorkerFactory(user=UserFactory(email="ana@example.com"))
    Worker.objects.filter(pk=worker.pk).update(banned_at=timezone.now())
    client.force_login(worker.user)
    before = snapshot()

    response = client.post(path)

    assert response.status_code == 403
    assert "You cannot join this team" in text(response)
    assert snapshot() == before


def test_a_vendor_invitation_names_the_vendor(client, django_capture_on_commit_callbacks):
    vendor, _ = vendor_with_manager(name="Acme Labeling")
    team = services.team_create(owner=vendor, name="Night shift")
    invite(django_capture_on_commit_callbacks, team, "ana@example.com")
    path = LINK.search(mail.outbox[-1].body).group(1)

    page = client.get(path)

    assert (
        mail.outbox[-1].subject == "[Groundwork] Acme Labeling invited you to the team Night shift"
    )
    assert "of Acme Labeling" in text(page)
