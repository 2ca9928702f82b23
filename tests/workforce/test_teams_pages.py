"""Team management pages: /teams/ for requesters and /vendor/teams/ for vendor managers, the
same views over the same services, with errors shown inline."""

from dataclasses import dataclass

import pytest
from django.core import mail

from tests.conftest import bearer_client
from tests.factories import OrganizationFactory, UserFactory, WorkerFactory, job_spec
from tests.workforce.test_teams_services import (
    LINK,
    invite,
    snapshot,
    vendor_with_manager,
)
from workforce.models import Invitation, Team, TeamMember
from workforce.services import teams as services

pytestmark = pytest.mark.django_db


@dataclass
class Area:
    kind: str
    base: str
    owner: object
    user: object


def make_area(kind: str) -> Area:
    if kind == "requester":
        organization = OrganizationFactory(name="Pets Inc")
        return Area(kind, "/teams/", organization, organization.memberships.get().user)
    vendor, manager = vendor_with_manager(name="Pets Inc" if kind == "vendor" else None)
    return Area(kind, "/vendor/teams/", vendor, manager)


@pytest.fixture(params=["requester", "vendor"])
def area(request, client) -> Area:
    area = make_area(request.param)
    client.force_login(area.user)
    return area


@pytest.fixture
def team(area) -> Team:
    return services.team_create(owner=area.owner, name="Cats")


def text(response) -> str:
    return response.content.decode()


# --- who sees the pages --------------------------------------------------------------------------


@pytest.mark.parametrize("base", ["/teams/", "/vendor/teams/"])
def test_signed_out_visitors_go_to_sign_in(client, base):
    response = client.get(base)

    assert (response.status_code, response.url) == (302, f"/accounts/login/?next={base}")


@pytest.mark.parametrize("kind", ["requester", "vendor"])
@pytest.mark.parametrize("who", ["worker", "other_owner", "other_kind"])
def test_pages_and_actions_are_404_for_anyone_but_the_owner(client, kind, who):
    area = make_area(kind)
    team = services.team_create(owner=area.owner, name="Cats")
    member = TeamMember.objects.create(team=team, worker=WorkerFactory())
    invitation = services.team_invite(team=team, emails=["bob@example.com"], invited_by=area.user)[
        0
    ]
    if who == "worker":
        visitor = WorkerFactory().user
    elif who == "other_owner":
        visitor = make_area(kind if kind == "requester" else "vendor-other").user
    else:
        visitor = make_area("vendor-other" if kind == "requester" else "requester").user
    client.force_login(visitor)
    before = snapshot()

    responses = [
        client.get(f"{area.base}{team.pk}/"),
        client.post(f"{area.base}{team.pk}/", {"emails": "new@example.com"}),
        client.post(f"{area.base}{team.pk}/delete"),
        client.post(f"{area.base}{team.pk}/members/{member.worker_id}/remove"),
        client.post(f"{area.base}{team.pk}/invitations/{invitation.pk}/revoke"),
    ]

    assert [r.status_code for r in responses] == [404] * 5
    assert snapshot() == before
    if who != "other_owner":
        assert client.get(area.base).status_code == 404


@pytest.fixture
def manager_without_mfa(client):
    vendor, manager = vendor_with_manager(mfa=False)
    team = services.team_create(owner=vendor, name="Cats")
    client.force_login(manager)
    return team


def test_a_vendor_manager_without_mfa_is_sent_to_set_it_up(client, manager_without_mfa):
    before = snapshot()

    listed = client.get("/vendor/teams/")
    created = client.post("/vendor/teams/", {"name": "Dogs"})
    deleted = client.post(f"/vendor/teams/{manager_without_mfa.pk}/delete")

    assert [(r.status_code, r.url) for r in (listed, created, deleted)] == [
        (302, "/accounts/2fa/totp/activate/")
    ] * 3
    assert snapshot() == before


def test_the_vendor_pages_check_mfa_themselves_too(client, settings, manager_without_mfa):
    # Without the site-wide middleware the pages still refuse, with their own explanation
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "MfaRequired" not in m]
    before = snapshot()

    listed = client.get("/vendor/teams/")
    created = client.post("/vendor/teams/", {"name": "Dogs"})
    deleted = client.post(f"/vendor/teams/{manager_without_mfa.pk}/delete")

    assert [listed.status_code, created.status_code, deleted.status_code] == [403] * 3
    assert "Set up two-factor authentication" in text(listed)
    assert 'href="/accounts/2fa/totp/activate/?next=/vendor/teams/"' in text(listed)
    assert snapshot() == before


# --- the list page -------------------------------------------------------------------------------


def test_list_page_shows_teams_with_counts(client, area, team, django_capture_on_commit_callbacks):
    TeamMember.objects.create(team=team, worker=WorkerFactory())
    invite(django_capture_on_commit_callbacks, team, "ana@example.com", "ben@example.com")
    services.team_create(owner=area.owner, name="Dogs")
    other = make_area("requester" if area.kind == "vendor" else "vendor-other")
    services.team_create(owner=other.owner, name="Not mine")

    response = client.get(area.base)

    assert response.status_code == 200
    assert [
        (t.name, t.member_count, t.pending_invitation_count) for t in response.context["teams"]
    ] == [
        ("Cats", 1, 2),
        ("Dogs", 0, 0),
    ]
    page = text(response)
    assert f'href="{area.base}{team.pk}/"' in page
    assert "Not mine" not in page
    assert "marketplace/app.css" in page


def test_an_owner_without_teams_sees_the_empty_state(client, area):
    response = client.get(area.base)

    assert "No teams yet" in text(response)


def test_create_a_team_from_the_page(client, area):
    response = client.post(area.base, {"name": " Dogs "})

    team = Team.objects.get()
    assert (response.status_code, response.url) == (302, f"{area.base}{team.pk}/")
    assert team.name == "Dogs"
    assert "Team “Dogs” created." in text(client.get(response.url))


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("cats", "You already have a team named “cats”."),
        ("", "This field is required."),
        ("x" * 64, "Ensure this value has at most 63 characters (it has 64)."),
    ],
)
def test_a_bad_team_name_is_shown_inline(client, area, team, name, error):
    before = snapshot()

    response = client.post(area.base, {"name": name})

    assert response.status_code == 200
    assert f'<ul class="errorlist" id="id_name_error"><li>{error}</li></ul>' in text(response)
    assert snapshot() == before


# --- the team page -------------------------------------------------------------------------------


def test_team_page_lists_members_and_invitations(
    client, area, team, django_capture_on_commit_callbacks
):
    worker = WorkerFactory(display_name="Ana", user=UserFactory(email="ana@example.com"))
    TeamMember.objects.create(team=team, worker=worker)
    [(revoked, _), (pending, _)] = invite(
        django_capture_on_commit_callbacks, team, "old@example.com", "bob@example.com"
    )
    services.invitation_revoke(invitation=revoked)

    response = client.get(f"{area.base}{team.pk}/")

    page = text(response)
    assert response.status_code == 200
    assert "<h1>Cats</h1>" in page
    assert "Pets Inc · 1 member · 1 pending invitation" in page
    assert f"<code>worker-{worker.pk}</code>" in page
    assert f'action="{area.base}{team.pk}/members/{worker.pk}/remove"' in page
    assert [(i.email, i.status) for i in response.context["invitations"]] == [
        ("bob@example.com", "pending"),
        ("old@example.com", "revoked"),
    ]
    assert f'action="{area.base}{team.pk}/invitations/{pending.pk}/revoke"' in page
    assert f'action="{area.base}{team.pk}/invitations/{revoked.pk}/revoke"' not in page


def test_invite_from_the_page(client, area, team, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{area.base}{team.pk}/",
            {"emails": "ana@example.com, ben@example.com\n\n carol@example.com ;dan@example.com"},
        )

    assert (response.status_code, response.url) == (302, f"{area.base}{team.pk}/")
    assert list(Invitation.objects.order_by("pk").values_list("email", "invited_by")) == [
        (email, area.user.pk)
        for email in ["ana@example.com", "ben@example.com", "carol@example.com", "dan@example.com"]
    ]
    assert sorted(m.to[0] for m in mail.outbox) == [
        "ana@example.com",
        "ben@example.com",
        "carol@example.com",
        "dan@example.com",
    ]
    assert all(LINK.search(m.body) for m in mail.outbox)
    assert "4 invitations sent to join Cats." in text(client.get(response.url))


def test_bad_addresses_are_shown_inline_and_nothing_is_sent(
    client, area, team, django_capture_on_commit_callbacks
):
    TeamMember.objects.create(
        team=team, worker=WorkerFactory(user=UserFactory(email="ana@example.com"))
    )
    before = snapshot()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{area.base}{team.pk}/",
            {"emails": "new@example.com\nnope\nANA@example.com\nnew@example.com"},
        )

    assert response.status_code == 200
    page = text(response)
    assert "<li>nope: Enter a valid email address.</li>" in page
    assert "<li>ANA@example.com: This address is already a member of the team.</li>" in page
    assert "<li>new@example.com: This address is listed more than once.</li>" in page
    assert "nope\nANA@example.com" in page  # the textarea keeps what was typed
    assert snapshot() == before
    assert mail.outbox == []


def test_too_many_addresses_are_refused_inline(client, area, team):
    before = snapshot()

    response = client.post(
        f"{area.base}{team.pk}/", {"emails": "\n".join(f"p{n}@example.com" for n in range(101))}
    )

    assert "Invite at most 100 addresses at a time (101 were given)." in text(response)
    assert snapshot() == before


def test_remove_a_member_from_the_page(client, area, team):
    worker = WorkerFactory(user=UserFactory(email="ana@example.com"))
    TeamMember.objects.create(team=team, worker=worker)

    response = client.post(f"{area.base}{team.pk}/members/{worker.pk}/remove")

    assert (response.status_code, response.url) == (302, f"{area.base}{team.pk}/")
    assert TeamMember.objects.count() == 0
    assert "ana@example.com was removed from Cats." in text(client.get(response.url))


def test_removing_a_non_member_is_404(client, area, team):
    outsider = WorkerFactory()
    before = snapshot()

    response = client.post(f"{area.base}{team.pk}/members/{outsider.pk}/remove")

    assert response.status_code == 404
    assert snapshot() == before


def test_revoke_from_the_page(client, area, team, django_capture_on_commit_callbacks):
    [(invitation, _)] = invite(django_capture_on_commit_callbacks, team, "bob@example.com")

    response = client.post(f"{area.base}{team.pk}/invitations/{invitation.pk}/revoke")

    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert "The invitation to bob@example.com was revoked." in text(client.get(response.url))


def test_actions_take_post_only(client, area, team):
    before = snapshot()

    assert client.get(f"{area.base}{team.pk}/delete").status_code == 405
    assert snapshot() == before


def test_delete_a_team_from_the_page(client, area, team):
    response = client.post(f"{area.base}{team.pk}/delete")

    assert (response.status_code, response.url) == (302, area.base)
    assert Team.objects.count() == 0
    assert "Team “Cats” deleted." in text(client.get(area.base))


def test_a_team_working_a_job_is_not_deleted_and_the_page_says_why(client, organization):
    team = services.team_create(owner=organization, name="Cats")
    spec = job_spec(name="pets-private", workforce="private:Cats")
    del spec["reward_per_task"]
    requester = organization.memberships.get().user
    assert (
        bearer_client(requester).post("/api/v1/labeling-jobs", spec, format="json").status_code
        == 201
    )
    client.force_login(requester)
    before = snapshot()

    response = client.post(f"/teams/{team.pk}/delete", follow=True)

    assert response.redirect_chain == [(f"/teams/{team.pk}/", 302)]
    assert "The team “Cats” works on 1 labeling job (pets-private) and cannot be deleted." in text(
        response
    )
    assert snapshot() == before
