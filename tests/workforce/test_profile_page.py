"""The worker profile page, /work/profile/: display name, terms, system qualifications, teams."""

import re

import pytest
from django.utils import timezone

from tests.factories import OrganizationFactory, UserFactory, WorkerFactory
from workforce.models import Team, TeamMember, Vendor, Worker
from workforce.services import accounts as services
from workforce.services import teams

pytestmark = pytest.mark.django_db

PAGE = "/work/profile/"


def join(worker: Worker, team: Team) -> TeamMember:
    """The worker joins by an emailed invitation, as in the product."""
    owner_user = UserFactory()
    (invitation,) = teams.team_invite(team=team, emails=[worker.user.email], invited_by=owner_user)
    return teams.invitation_accept(invitation=invitation, user=worker.user)


def stat(html: str, label: str) -> str:
    match = re.search(rf"<dt>{label}</dt>\s*<dd[^>]*>([^<]+)</dd>", html)
    assert match, label
    return match.group(1).strip()


# --- who may see it -------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(PAGE)

    assert (response.status_code, response.url) == (302, f"/accounts/login/?next={PAGE}")


def test_a_user_without_a_worker_profile_is_sent_to_the_join_page(client):
    client.force_login(UserFactory())

    assert client.get(PAGE).url == "/work/join"
    assert client.post(PAGE, {"display_name": "Sneaky"}).url == "/work/join"
    assert Worker.objects.count() == 0


def test_a_worker_who_did_not_accept_the_terms_is_sent_to_the_join_page(client):
    user = UserFactory()
    worker = services.worker_register(user=user, display_name="Ada", accept_terms=False)
    client.force_login(user)

    response = client.post(PAGE, {"display_name": "Changed"})

    assert response.url == "/work/join"
    worker.refresh_from_db()
    assert worker.display_name == "Ada"


def test_a_banned_worker_is_sent_to_the_join_page(client):
    worker = WorkerFactory(display_name="Ada")
    Worker.objects.filter(pk=worker.pk).update(banned_at=timezone.now())
    client.force_login(worker.user)

    assert client.post(PAGE, {"display_name": "Changed"}).url == "/work/join"
    worker.refresh_from_db()
    assert worker.display_name == "Ada"


# --- what it shows --------------------------------------------------------------------------------


def test_a_new_worker_sees_their_name_terms_and_first_values(client):
    worker = WorkerFactory(display_name="Ada")
    client.force_login(worker.user)

    response = client.get(PAGE)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="display_name" value="Ada"' in html
    accepted = worker.terms_accepted_at
    assert f'You accepted the worker terms on <time datetime="{accepted.isoformat()}">' in html
    assert f"{accepted:%B} {accepted.day}, {accepted.year}</time>" in html
    # System qualifications before any review: 100% approval (as MTurk), no gold answered
    assert stat(html, "Approval rate") == "100%"
    assert stat(html, "Approved tasks") == "0"
    assert stat(html, "Gold accuracy") == "No gold tasks yet"
    assert "You are not on a team yet" in html
    assert '<a class="nav-link" href="/work/profile/" aria-current="page">Profile</a>' in html


def test_the_values_come_from_the_work_results(client):
    # Given a worker with 7 of 9 reviewed assignments approved and 2 of 3 gold answers right
    # (counters the review services keep; set directly here as no review has run)
    worker = WorkerFactory()
    Worker.objects.filter(pk=worker.pk).update(
        approved_count=7, rejected_count=2, gold_answered_count=3, gold_correct_count=2
    )
    client.force_login(worker.user)

    html = client.get(PAGE).content.decode()

    # 100 * 7 // 9 = 77 and 100 * 2 // 3 = 66, as the qualification requirements compare them
    assert stat(html, "Approval rate") == "77%"
    assert stat(html, "Approved tasks") == "7"
    assert stat(html, "Gold accuracy") == "66%"


def test_teams_show_their_owner(client):
    # Given a worker on a requester's private team and on a vendor's team
    worker = WorkerFactory()
    organization = OrganizationFactory(name="Acme Robotics")
    vendor = Vendor.objects.create(name="Labelers Ltd", slug="labelers")
    join(worker, teams.team_create(owner=organization, name="Cats"))
    join(worker, teams.team_create(owner=vendor, name="Boxes"))
    # And a team they are not on
    teams.team_create(owner=organization, name="Dogs")
    client.force_login(worker.user)

    html = client.get(PAGE).content.decode()

    rows = re.findall(
        r"<tr>\s*<td><strong>([^<]+)</strong></td>\s*<td data-label=\"Run by\">([^<]+) "
        r"<span class=\"badge\">(\w+)</span>",
        html,
    )
    assert rows == [("Boxes", "Labelers Ltd", "vendor"), ("Cats", "Acme Robotics", "requester")]
    assert "Dogs" not in html


def test_the_team_list_takes_a_fixed_number_of_queries(client, django_assert_num_queries):
    worker = WorkerFactory()
    organization = OrganizationFactory()
    for n in range(4):
        join(worker, teams.team_create(owner=organization, name=f"Team {n}"))
    client.force_login(worker.user)
    client.get(PAGE)

    # session, user, worker, the teams (with owners), and the user's roles, read once for the
    # MFA rule and the navigation (requester organisation, worker profile, vendor): the same
    # for four teams or forty
    with django_assert_num_queries(7):
        response = client.get(PAGE)

    assert response.content.decode().count("Team ") == 4


# --- editing the display name ---------------------------------------------------------------------


def test_changing_the_display_name(client):
    worker = WorkerFactory(display_name="Ada")
    client.force_login(worker.user)

    response = client.post(PAGE, {"display_name": "  Ada Lovelace  "}, follow=True)

    assert response.redirect_chain == [(PAGE, 302)]
    assert "Your profile was saved." in response.content.decode()
    worker.refresh_from_db()
    assert worker.display_name == "Ada Lovelace"
    assert 'value="Ada Lovelace"' in response.content.decode()


def test_a_blank_display_name_falls_back_to_the_email(client):
    worker = WorkerFactory(display_name="Ada")
    client.force_login(worker.user)

    client.post(PAGE, {"display_name": ""})

    worker.refresh_from_db()
    assert worker.display_name == ""
    assert str(worker) == worker.user.email


def test_a_too_long_display_name_is_refused(client):
    worker = WorkerFactory(display_name="Ada")
    client.force_login(worker.user)

    response = client.post(PAGE, {"display_name": "x" * 101})

    assert response.status_code == 400
    assert "Ensure this value has at most 100 characters (it has 101)." in response.content.decode()
    worker.refresh_from_db()
    assert worker.display_name == "Ada"


def test_worker_profile_update_service():
    worker = WorkerFactory(display_name="Ada")

    updated = services.worker_profile_update(worker=worker, display_name=" Grace ")

    worker.refresh_from_db()
    assert updated.display_name == worker.display_name == "Grace"


def test_worker_profile_update_refuses_more_than_100_characters():
    from marketplace.errors import ApplicationError

    worker = WorkerFactory(display_name="Ada")

    with pytest.raises(ApplicationError) as refused:
        services.worker_profile_update(worker=worker, display_name="x" * 101)

    assert (refused.value.code, refused.value.fields) == (
        "display_name_too_long",
        {"display_name": ["A display name has at most 100 characters."]},
    )
    worker.refresh_from_db()
    assert worker.display_name == "Ada"


def test_the_navigation_shows_profile_only_to_workers(client):
    client.force_login(UserFactory())
    assert 'href="/work/profile/"' not in client.get("/").content.decode()

    client.force_login(WorkerFactory().user)
    assert (
        '<a class="nav-link" href="/work/profile/">Profile</a>' in client.get("/").content.decode()
    )
