"""The vendor console pages: answer offers (accept with a team, decline with a reason), follow
accepted jobs, see the workers' statistics. Only the vendor's managers with MFA get in."""

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from marketplace.models import VendorOffer
from marketplace.services import offers as services
from tasks import services as queue
from tests.factories import OrganizationFactory, UserFactory, WorkerFactory
from tests.marketplace.test_vendor_offers import (
    join,
    offer_of,
    offers_snapshot,
    vendor_job,
    vendor_with_teams,
)
from workforce.models import VendorManager

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(organization, client):
    """A vendor with teams Alpha and Beta, two offered jobs, and its manager signed in."""
    vendor, manager, (alpha, beta) = vendor_with_teams("Alpha", "Beta")
    pets = offer_of(vendor_job(organization, vendor, name="pets", title="Cat or dog?"))
    cars = offer_of(vendor_job(organization, vendor, name="cars", objects=4, title="Which car?"))
    client.force_login(manager)
    return {
        "vendor": vendor,
        "manager": manager,
        "teams": (alpha, beta),
        "pets": pets,
        "cars": cars,
    }


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_the_console_lists_pending_offers_with_the_teams_to_choose(console, client):
    alpha, beta = console["teams"]

    response = client.get("/vendor/")

    assert response.status_code == 200
    page = response.content.decode()
    text = text_of(response)
    assert "Cat or dog?" in text and "Which car?" in text
    assert "$0.100 / object" in text
    assert "4 objects" in text and "Worth $0.400" in text
    for offer in (console["pets"], console["cars"]):
        assert f'action="/vendor/offers/{offer.pk}/accept"' in page
        assert f'action="/vendor/offers/{offer.pk}/decline"' in page
    assert f'<option value="{alpha.pk}">Alpha (0 members)</option>' in page
    assert f'<option value="{beta.pk}">Beta (0 members)</option>' in page
    assert 'href="/vendor/teams/"' in page and 'href="/vendor/workers/"' in page
    assert "No accepted jobs yet." in text


def test_accepting_from_the_console_moves_the_job_to_the_accepted_list(console, client):
    _, beta = console["teams"]
    offer = console["pets"]

    response = client.post(f"/vendor/offers/{offer.pk}/accept", {"team_id": beta.pk}, follow=True)

    offer.refresh_from_db()
    assert (offer.status, offer.team, offer.responded_by) == ("accepted", beta, console["manager"])
    assert response.redirect_chain == [(reverse("vendor-console"), 302)]
    assert messages_of(response) == ["You accepted “Cat or dog?”. Beta can start working on it."]
    page = response.content.decode()
    assert f'action="/vendor/offers/{offer.pk}/accept"' not in page
    assert 'aria-valuenow="0"' in page and 'aria-valuemax="3"' in page
    assert "0 / 3" in text_of(response)


def test_the_progress_bar_follows_the_label_counters(console, client):
    alpha, _ = console["teams"]
    offer = console["pets"]
    services.vendor_offer_accept(offer=offer, team=alpha, responded_by=console["manager"])
    worker = WorkerFactory()
    join(alpha, worker)
    for _ in range(2):  # one worker per object: each answer labels an object
        assignment, _ = queue.assignment_claim(worker=worker, job=offer.job)
        queue.assignment_submit(
            assignment=assignment, answer={"crowd-image-classifier": {"label": "cat"}}
        )
        queue.data_object_consolidate(data_object_id=assignment.data_object_id)

    page = client.get("/vendor/").content.decode()

    assert 'aria-valuenow="2"' in page
    assert 'style="width: 67%"' in page
    assert "2 / 3" in page


@pytest.mark.parametrize("team", ["another vendor's", "missing"])
def test_accepting_with_a_team_that_is_not_the_vendors_changes_nothing(console, client, team):
    team_id = vendor_with_teams("Gamma")[2][0].pk if team == "another vendor's" else ""
    before = offers_snapshot()

    response = client.post(
        f"/vendor/offers/{console['pets'].pk}/accept", {"team_id": team_id}, follow=True
    )

    assert offers_snapshot() == before
    assert messages_of(response) == [
        "“Cat or dog?” was not accepted: Choose one of your own teams."
    ]


def test_declining_from_the_console_needs_a_reason(console, client):
    offer = console["cars"]
    before = offers_snapshot()

    refused = client.post(f"/vendor/offers/{offer.pk}/decline", {"reason": " "}, follow=True)
    unchanged = offers_snapshot()
    declined = client.post(
        f"/vendor/offers/{offer.pk}/decline", {"reason": "No car experts."}, follow=True
    )

    assert unchanged == before
    assert messages_of(refused) == ["“Which car?” was not declined: Say why the offer is declined."]
    offer.refresh_from_db()
    assert (offer.status, offer.decline_reason) == ("declined", "No car experts.")
    assert messages_of(declined) == ["You declined “Which car?”."]
    assert "Past offers" in text_of(declined) and "No car experts." in text_of(declined)


def test_an_answered_offer_cannot_be_answered_again_from_a_stale_page(console, client):
    alpha, _ = console["teams"]
    offer = console["pets"]
    services.vendor_offer_withdraw(offer=offer, withdrawn_by=offer.job.created_by)
    before = offers_snapshot()

    response = client.post(f"/vendor/offers/{offer.pk}/accept", {"team_id": alpha.pk}, follow=True)

    assert offers_snapshot() == before
    assert messages_of(response) == [
        "“Cat or dog?” was not accepted: The offer is withdrawn and cannot become accepted."
    ]


def test_another_vendors_manager_cannot_answer_the_offers(console, client):
    _, other_manager, (other_team,) = vendor_with_teams("Gamma")
    client.force_login(other_manager)
    before = offers_snapshot()

    page = client.get("/vendor/")
    accept = client.post(f"/vendor/offers/{console['pets'].pk}/accept", {"team_id": other_team.pk})
    decline = client.post(f"/vendor/offers/{console['pets'].pk}/decline", {"reason": "Mine."})

    assert page.status_code == 200 and "Cat or dog?" not in text_of(page)
    assert (accept.status_code, decline.status_code) == (404, 404)
    assert offers_snapshot() == before


@pytest.mark.parametrize("who", ["requester", "worker"])
@pytest.mark.parametrize("path", ["/vendor/", "/vendor/workers/"])
def test_the_console_is_not_found_for_anyone_but_vendor_managers(console, client, who, path):
    user = (
        OrganizationFactory().memberships.get().user if who == "requester" else WorkerFactory().user
    )
    client.force_login(user)

    assert client.get(path).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(console, client):
    client.logout()

    response = client.get("/vendor/")

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_a_manager_without_mfa_is_asked_to_set_it_up(console, client, settings):
    unprotected = UserFactory()
    VendorManager.objects.create(vendor=console["vendor"], user=unprotected)
    client.force_login(unprotected)
    alpha, _ = console["teams"]
    before = offers_snapshot()

    redirected = client.get("/vendor/")  # the site-wide MFA middleware redirects first
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "MfaRequired" not in m]
    bare = Client()  # without it, the console refuses by itself
    bare.force_login(unprotected)
    page = bare.get("/vendor/")
    accept = bare.post(f"/vendor/offers/{console['pets'].pk}/accept", {"team_id": alpha.pk})

    assert redirected.status_code == 302 and redirected.url == reverse("mfa_activate_totp")
    assert page.status_code == 403 and "Set up two-factor authentication" in text_of(page)
    assert accept.status_code == 403
    assert offers_snapshot() == before
    assert VendorOffer.objects.get(pk=console["pets"].pk).status == "pending"


def test_the_workers_page_shows_each_workers_statistics(console, client):
    alpha, beta = console["teams"]
    offer = console["pets"]
    services.vendor_offer_accept(offer=offer, team=alpha, responded_by=console["manager"])
    ana, bo = WorkerFactory(display_name="Ana"), WorkerFactory(display_name="Bo")
    join(alpha, ana)
    join(beta, ana, bo)
    claimed_at = timezone.now() - timedelta(minutes=5)
    with mock.patch("django.utils.timezone.now", return_value=claimed_at):
        assignment, _ = queue.assignment_claim(worker=ana, job=offer.job)
    with mock.patch("django.utils.timezone.now", return_value=claimed_at + timedelta(seconds=42)):
        queue.assignment_submit(
            assignment=assignment, answer={"crowd-image-classifier": {"label": "cat"}}
        )
    queue.assignment_approve(assignment=assignment)

    response = client.get("/vendor/workers/")

    assert response.status_code == 200
    rows = re.findall(r"<tr>(.*?)</tr>", response.content.decode(), re.S)
    cells = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).split() for row in rows[1:]]
    assert cells == [
        ["Ana", ana.public_id, "Alpha,", "Beta", "1", "1", "0", "1", "42.0", "s", "100.0%", "—",
         "—", "$0.100"],
        ["Bo", bo.public_id, "Beta", "0", "0", "0", "0", "—", "—", "—", "—", "$0.000"],
    ]  # fmt: skip
