"""A vendor job stays off every job board until its vendor accepts it; then the members of the
accepting team see it and may claim its tasks, and nobody else does."""

import pytest

from marketplace.services import offers
from tasks import selectors
from tasks.models import Assignment
from tests.conftest import bearer_client
from tests.factories import WorkerFactory, job_in_progress
from tests.marketplace.test_vendor_offers import join, offer_of, vendor_job, vendor_with_teams

pytestmark = pytest.mark.django_db


@pytest.fixture
def crew(organization):
    """A vendor job offered to a vendor with teams Alpha and Beta, a member of each, a member of
    another vendor's team, and a public worker; a public job is open to all of them."""
    vendor, manager, (alpha, beta) = vendor_with_teams("Alpha", "Beta")
    _, _, (elsewhere,) = vendor_with_teams("Alpha")
    workers = {name: WorkerFactory() for name in ("alpha", "beta", "other vendor", "public")}
    join(alpha, workers["alpha"])
    join(beta, workers["beta"])
    join(elsewhere, workers["other vendor"])
    public = job_in_progress(organization, objects=1, name="public-job")
    job = vendor_job(organization, vendor)
    return {"job": job, "public_job": public, "manager": manager, "teams": (alpha, beta), **workers}


def board_ids(worker) -> set[int]:
    return {job.pk for job in selectors.job_board_for(worker=worker)}


def api_board_ids(worker) -> set[int]:
    response = bearer_client(worker.user).get("/api/v1/worker/jobs")
    assert response.status_code == 200
    return {job["id"] for job in response.json()["results"]}


WORKERS = ["alpha", "beta", "other vendor", "public"]


@pytest.mark.parametrize("answer", ["none yet", "declined", "withdrawn"])
def test_an_unaccepted_vendor_job_is_on_nobodys_board(crew, requester, answer):
    offer = offer_of(crew["job"])
    if answer == "declined":
        offers.vendor_offer_decline(offer=offer, reason="Busy.", responded_by=crew["manager"])
    elif answer == "withdrawn":
        offers.vendor_offer_withdraw(offer=offer, withdrawn_by=requester)

    for name in WORKERS:
        worker = crew[name]
        assert board_ids(worker) == {crew["public_job"].pk}, name
        assert api_board_ids(worker) == {crew["public_job"].pk}, name
        claim = bearer_client(worker.user).post(f"/api/v1/worker/jobs/{crew['job'].pk}/assignments")
        assert claim.status_code == 404, name
    assert Assignment.objects.filter(job=crew["job"]).count() == 0


def test_an_accepted_vendor_job_is_on_the_board_of_the_accepting_team_only(crew):
    alpha, _ = crew["teams"]
    job, public = crew["job"], crew["public_job"]

    offers.vendor_offer_accept(offer=offer_of(job), team=alpha, responded_by=crew["manager"])

    assert board_ids(crew["alpha"]) == api_board_ids(crew["alpha"]) == {job.pk, public.pk}
    for name in ("beta", "other vendor", "public"):
        assert board_ids(crew[name]) == api_board_ids(crew[name]) == {public.pk}, name
    listed = bearer_client(crew["alpha"].user).get("/api/v1/worker/jobs").json()["results"]
    assert [entry["tasks_available"] for entry in listed if entry["id"] == job.pk] == [3]


def test_only_the_accepting_teams_members_can_claim(crew):
    alpha, _ = crew["teams"]
    job = crew["job"]
    offers.vendor_offer_accept(offer=offer_of(job), team=alpha, responded_by=crew["manager"])

    refused = {
        name: bearer_client(crew[name].user).post(f"/api/v1/worker/jobs/{job.pk}/assignments")
        for name in ("beta", "other vendor", "public")
    }
    assert {name: response.status_code for name, response in refused.items()} == {
        "beta": 404,
        "other vendor": 404,
        "public": 404,
    }
    assert Assignment.objects.filter(job=job).count() == 0

    claimed = bearer_client(crew["alpha"].user).post(f"/api/v1/worker/jobs/{job.pk}/assignments")

    assert claimed.status_code == 201
    assert list(Assignment.objects.filter(job=job).values_list("worker", "status")) == [
        (crew["alpha"].pk, "reserved")
    ]
