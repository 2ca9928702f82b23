"""Teams API for requesters (/api/v1/workteams) and vendor managers (/api/v1/vendor/teams):
who may call what, the exact answers, all-or-nothing bulk invitations and their mail."""

from dataclasses import dataclass

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIClient

from marketplace.models import VendorOffer
from tests.conftest import bearer_client
from tests.factories import OrganizationFactory, UserFactory, WorkerFactory, job_spec
from tests.workforce.test_teams_services import (
    LINK,
    give_mfa,
    invite,
    snapshot,
    vendor_with_manager,
)
from workforce.models import Invitation, Team, TeamMember
from workforce.services import accounts
from workforce.services import teams as services

pytestmark = pytest.mark.django_db

NOT_FOUND = {"code": "not_found", "detail": "Not found.", "fields": {}}


def iso(value) -> str:
    return serializers.DateTimeField().to_representation(value)


@dataclass
class Area:
    """One kind of team owner as the API serves it."""

    kind: str
    base: str
    owner: object
    user: object
    client: APIClient

    def team_url(self, team, rest: str = "") -> str:
        return f"{self.base}/{team.pk}{rest}"


def requester_area() -> Area:
    organization = OrganizationFactory(name="Pets Inc")
    user = organization.memberships.get().user
    return Area("requester", "/api/v1/workteams", organization, user, bearer_client(user))


def vendor_area(name: str | None = None) -> Area:
    vendor, manager = vendor_with_manager(name=name)
    return Area("vendor", "/api/v1/vendor/teams", vendor, manager, bearer_client(manager))


@pytest.fixture(params=["requester", "vendor"])
def area(request) -> Area:
    return make_area(request.param)


def make_area(kind: str) -> Area:
    return requester_area() if kind == "requester" else vendor_area(name="Pets Inc")


@pytest.fixture
def team(area) -> Team:
    return services.team_create(owner=area.owner, name="Cats")


def add_member(team) -> TeamMember:
    worker = WorkerFactory(display_name="Ana", user=UserFactory(email="ana@example.com"))
    return TeamMember.objects.create(team=team, worker=worker)


@pytest.fixture
def member(team) -> TeamMember:
    return add_member(team)


@pytest.fixture
def pending(area, team, django_capture_on_commit_callbacks) -> Invitation:
    [(invitation, _)] = invite(django_capture_on_commit_callbacks, team, "bob@example.com")
    mail.outbox.clear()
    return invitation


# --- who may call each endpoint ------------------------------------------------------------------

ENDPOINTS = [
    ("get", ""),
    ("delete", ""),
    ("get", "/members"),
    ("delete", "/members/{worker}"),
    ("get", "/invitations"),
    ("post", "/invitations"),
    ("post", "/invitations/{invitation}/revoke"),
]


def caller(area: Area, who: str) -> APIClient:
    if who == "anonymous":
        return APIClient()
    if who == "worker":
        return bearer_client(WorkerFactory().user)
    if who == "other_owner":
        return (requester_area() if area.kind == "requester" else vendor_area()).client
    if who == "other_kind":
        return (vendor_area() if area.kind == "requester" else requester_area()).client
    if who == "no_mfa":  # a manager of the team's own vendor, without an authenticator app
        return bearer_client(area.owner.managers.create(user=UserFactory()).user)
    raise AssertionError(who)


REFUSALS = {
    "anonymous": (401, "not_authenticated"),
    "worker": (403, "permission_denied"),
    "other_owner": (404, "not_found"),
    "other_kind": (403, "permission_denied"),
    "no_mfa": (403, "mfa_required"),
}
# Every caller but the owner, for each kind of owner (requesters need no MFA).
CALLERS = [
    (kind, who)
    for kind in ["requester", "vendor"]
    for who in REFUSALS
    if not (kind == "requester" and who == "no_mfa")
]


@pytest.mark.parametrize(("kind", "who"), CALLERS)
@pytest.mark.parametrize(("method", "rest"), ENDPOINTS)
def test_team_endpoints_refuse_everyone_but_the_owner(
    kind, who, method, rest, django_capture_on_commit_callbacks
):
    area = make_area(kind)
    member = add_member(services.team_create(owner=area.owner, name="Cats"))
    [(pending, _)] = invite(django_capture_on_commit_callbacks, member.team, "bob@example.com")
    mail.outbox.clear()
    client = caller(area, who)
    url = area.team_url(member.team, rest.format(worker=member.worker_id, invitation=pending.pk))
    before = snapshot()

    response = getattr(client, method)(url, {"emails": ["new@example.com"]}, format="json")

    status, code = REFUSALS[who]
    assert (response.status_code, response.json()["code"]) == (status, code)
    if who == "no_mfa":
        assert response.json()["detail"] == (
            "Set up two-factor authentication (an authenticator app) to continue."
        )
    assert snapshot() == before
    assert mail.outbox == []


@pytest.mark.parametrize(("kind", "who"), [c for c in CALLERS if c[1] != "other_owner"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_team_list_refuses_everyone_but_owners(kind, who, method):
    area = make_area(kind)
    services.team_create(owner=area.owner, name="Cats")
    client = caller(area, who)
    before = snapshot()

    response = getattr(client, method)(area.base, {"name": "Dogs"}, format="json")

    assert (response.status_code, response.json()["code"]) == REFUSALS[who]
    assert snapshot() == before


def test_an_api_key_without_the_owner_role_is_refused(area, team):
    # Given an owner who is also a worker, with a key that acts only as a worker
    accounts.worker_register(user=area.user, accept_terms=True)
    _, raw = accounts.api_key_create(user=area.user, name="worker only", roles=["worker"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    before = snapshot()

    response = client.get(area.team_url(team))
    created = client.post(area.base, {"name": "Dogs"}, format="json")

    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert created.status_code == 403
    assert snapshot() == before


def test_another_owner_lists_only_its_own_teams(area, team):
    other = requester_area() if area.kind == "requester" else vendor_area()
    services.team_create(owner=other.owner, name="Theirs")

    response = other.client.get(area.base)

    assert [t["name"] for t in response.json()["results"]] == ["Theirs"]


# --- teams ---------------------------------------------------------------------------------------


def test_create_and_list_teams(area):
    created = area.client.post(area.base, {"name": "  Dogs "}, format="json")

    assert created.status_code == 201
    team = Team.objects.get()
    assert created.json() == {
        "id": team.pk,
        "name": "Dogs",
        "member_count": 0,
        "pending_invitation_count": 0,
        "created_at": iso(team.created_at),
    }
    assert area.client.get(area.base).json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [created.json()],
    }


@pytest.mark.parametrize(
    ("body", "code", "fields"),
    [
        ({}, "invalid", {"name": ["This field is required."]}),
        ({"name": ""}, "invalid", {"name": ["Enter a team name."]}),
        ({"name": "x" * 64}, "invalid", {"name": ["A team name has at most 63 characters."]}),
        ({"name": "cats"}, "name_taken", {"name": ["You already have a team named “cats”."]}),
    ],
)
def test_create_team_validation(area, team, body, code, fields):
    before = snapshot()

    response = area.client.post(area.base, body, format="json")

    assert response.status_code == 400
    assert (response.json()["code"], response.json()["fields"]) == (code, fields)
    assert snapshot() == before


def test_team_detail_counts_members_and_pending_invitations(area, member, pending):
    response = area.client.get(area.team_url(member.team))

    assert response.json() == {
        "id": member.team.pk,
        "name": "Cats",
        "member_count": 1,
        "pending_invitation_count": 1,
        "created_at": iso(member.team.created_at),
    }


def test_delete_team(area, member, pending):
    response = area.client.delete(area.team_url(member.team))

    assert response.status_code == 204
    assert (Team.objects.count(), TeamMember.objects.count(), Invitation.objects.count()) == (
        0,
        0,
        0,
    )
    assert area.client.get(area.team_url(member.team)).json() == NOT_FOUND


def test_a_team_used_by_a_job_cannot_be_deleted(requester_client, organization):
    team = services.team_create(owner=organization, name="Cats")
    spec = job_spec(name="pets-private", workforce="private:cats")
    del spec["reward_per_task"]
    created = requester_client.post("/api/v1/labeling-jobs", spec, format="json")
    assert created.status_code == 201, created.json()
    before = snapshot()

    response = requester_client.delete(f"/api/v1/workteams/{team.pk}")

    assert response.status_code == 409
    assert response.json() == {
        "code": "team_in_use",
        "detail": "The team “Cats” works on 1 labeling job (pets-private) and cannot be deleted.",
        "fields": {},
    }
    assert snapshot() == before


def test_a_vendor_team_on_an_accepted_offer_cannot_be_deleted(requester_client):
    vendor, manager = vendor_with_manager(name="Acme")
    team = services.team_create(owner=vendor, name="Night shift")
    spec = job_spec(name="pets-vendor", workforce="vendor:acme", vendor_price_per_object="0.100")
    del spec["reward_per_task"]
    assert requester_client.post("/api/v1/labeling-jobs", spec, format="json").status_code == 201
    # No accept service exists yet: stand in for it.
    VendorOffer.objects.update(status=VendorOffer.Status.ACCEPTED, team=team)
    before = snapshot()

    response = bearer_client(manager).delete(f"/api/v1/vendor/teams/{team.pk}")

    assert (response.status_code, response.json()["detail"]) == (
        409,
        "The team “Night shift” works on an accepted job offer and cannot be deleted.",
    )
    assert snapshot() == before


# --- members -------------------------------------------------------------------------------------


def test_members_list(area, member):
    response = area.client.get(area.team_url(member.team, "/members"))

    assert response.json()["results"] == [
        {
            "worker_id": f"worker-{member.worker_id}",
            "email": "ana@example.com",
            "display_name": "Ana",
            "joined_at": iso(member.joined_at),
        }
    ]


def test_remove_member(area, member):
    response = area.client.delete(area.team_url(member.team, f"/members/{member.worker_id}"))

    assert response.status_code == 204
    assert TeamMember.objects.count() == 0
    assert area.client.get(area.team_url(member.team, "/members")).json()["count"] == 0


def test_removing_a_non_member_is_404(area, member):
    outsider = WorkerFactory()
    before = snapshot()

    response = area.client.delete(area.team_url(member.team, f"/members/{outsider.pk}"))

    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert snapshot() == before


# --- invitations ---------------------------------------------------------------------------------


def test_invite_sends_a_working_link_to_each_address(
    area, team, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = area.client.post(
            area.team_url(team, "/invitations"),
            {"emails": ["ana@example.com", " Ben@Example.com"]},
            format="json",
        )

    assert response.status_code == 201
    ana, ben = Invitation.objects.order_by("pk")
    assert response.json() == [
        {
            "id": invitation.pk,
            "email": email,
            "status": "pending",
            "invited_by": area.user.email,
            "created_at": iso(invitation.created_at),
            "expires_at": iso(invitation.expires_at),
            "accepted_at": None,
            "revoked_at": None,
        }
        for invitation, email in [(ana, "ana@example.com"), (ben, "Ben@Example.com")]
    ]
    assert [m.to for m in mail.outbox] == [["ana@example.com"], ["Ben@Example.com"]]
    for message in mail.outbox:
        page = client.get(LINK.search(message.body).group(1))
        assert page.status_code == 200
        assert "Join the team Cats" in page.content.decode()


def test_bulk_invite_errors_name_each_item_and_nothing_is_sent(
    area, member, django_capture_on_commit_callbacks
):
    before = snapshot()
    emails = ["new@example.com", "ana@example.com", "new@EXAMPLE.com", "nope"]

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = area.client.post(
            area.team_url(member.team, "/invitations"), {"emails": emails}, format="json"
        )

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_emails",
        "detail": "3 addresses cannot be invited; no invitation was sent.",
        "fields": {
            "emails[1]": ["This address is already a member of the team."],
            "emails[2]": ["This address is listed more than once."],
            "emails[3]": ["Enter a valid email address."],
        },
    }
    assert (callbacks, mail.outbox) == ([], [])
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"emails": ["This field is required."]}),
        (
            {"emails": "ana@example.com"},
            {"emails": ['Expected a list of items but got type "str".']},
        ),
        ({"emails": []}, {"emails": ["Enter at least one email address."]}),
        (
            {"emails": [f"p{n}@example.com" for n in range(101)]},
            {"emails": ["Invite at most 100 addresses at a time (101 were given)."]},
        ),
    ],
)
def test_bulk_invite_shape(area, team, body, fields):
    before = snapshot()

    response = area.client.post(area.team_url(team, "/invitations"), body, format="json")

    assert (response.status_code, response.json()["fields"]) == (400, fields)
    assert snapshot() == before
    assert mail.outbox == []


def test_invitations_list_shows_each_status_and_filters(
    area, team, django_capture_on_commit_callbacks
):
    sent = invite(
        django_capture_on_commit_callbacks,
        team,
        "pending@example.com",
        "accepted@example.com",
        "revoked@example.com",
        "expired@example.com",
    )
    (pending, _), (accepted, _), (revoked, _), (expired, _) = sent
    services.invitation_accept(
        invitation=accepted, user=UserFactory(email="accepted@example.com"), accept_terms=True
    )
    services.invitation_revoke(invitation=revoked)
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    url = area.team_url(team, "/invitations")

    listed = area.client.get(url).json()
    filtered = area.client.get(url, {"status": "revoked"}).json()
    bad_filter = area.client.get(url, {"status": "lost"})

    assert [(i["email"], i["status"]) for i in listed["results"]] == [
        ("expired@example.com", "expired"),
        ("revoked@example.com", "revoked"),
        ("accepted@example.com", "accepted"),
        ("pending@example.com", "pending"),
    ]
    assert [i["id"] for i in filtered["results"]] == [revoked.pk]
    assert bad_filter.status_code == 400
    assert bad_filter.json()["fields"] == {
        "status": ["Select a valid choice. lost is not one of the available choices."]
    }


def test_revoke(area, pending):
    response = area.client.post(area.team_url(pending.team, f"/invitations/{pending.pk}/revoke"))

    assert response.status_code == 200
    assert (response.json()["id"], response.json()["status"]) == (pending.pk, "revoked")
    pending.refresh_from_db()
    assert pending.revoked_at is not None


def test_revoking_an_accepted_invitation_is_409(area, pending):
    services.invitation_accept(
        invitation=pending, user=UserFactory(email="bob@example.com"), accept_terms=True
    )
    before = snapshot()

    response = area.client.post(area.team_url(pending.team, f"/invitations/{pending.pk}/revoke"))

    assert response.status_code == 409
    assert response.json() == {
        "code": "invitation_accepted",
        "detail": "bob@example.com already accepted this invitation; remove the member instead.",
        "fields": {},
    }
    assert snapshot() == before


def test_an_invitation_of_another_team_of_the_same_owner_is_404(area, team, pending):
    dogs = services.team_create(owner=area.owner, name="Dogs")
    before = snapshot()

    response = area.client.post(area.team_url(dogs, f"/invitations/{pending.pk}/revoke"))

    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert snapshot() == before


# --- query counts --------------------------------------------------------------------------------


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_lists_make_the_same_number_of_queries_for_1_or_10_rows(
    area, team, django_capture_on_commit_callbacks
):
    def add_rows(n):
        for i in range(n):
            services.team_create(owner=area.owner, name=f"Team {Team.objects.count()}-{i}")
            TeamMember.objects.create(team=team, worker=WorkerFactory())
        invite(
            django_capture_on_commit_callbacks,
            team,
            *[f"p{Invitation.objects.count()}-{i}@example.com" for i in range(n)],
        )

    urls = [area.base, area.team_url(team, "/members"), area.team_url(team, "/invitations")]
    area.client.get(area.base)  # the key's first use records it: not a per-row query
    add_rows(1)
    few = [queries_for(area.client, url) for url in urls]
    add_rows(9)
    many = [queries_for(area.client, url) for url in urls]

    assert few == many


def test_a_manager_who_adds_mfa_gets_in():
    area = make_area("vendor")
    services.team_create(owner=area.owner, name="Cats")
    manager = area.owner.managers.create(user=UserFactory()).user
    client = bearer_client(manager)
    assert client.get(area.base).status_code == 403

    give_mfa(manager)

    assert client.get(area.base).json()["count"] == 1
