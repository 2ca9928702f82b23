"""The vendor offer API: requesters (`vendor-offers`) and vendor managers (`vendor/offers`).
Each endpoint is checked for every role; a refusal changes nothing."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from marketplace.models import VendorOffer
from marketplace.services import offers as services
from tests.conftest import bearer_client
from tests.factories import OrganizationFactory, UserFactory, WorkerFactory, job_in_progress
from tests.marketplace.test_vendor_offers import (
    offer_of,
    offers_snapshot,
    vendor_job,
    vendor_with_teams,
)
from workforce.models import VendorManager

pytestmark = pytest.mark.django_db


def drf_time(value) -> str | None:
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


@pytest.fixture
def world(organization, requester):
    """An offered vendor job of `organization`, and a client for every role."""
    vendor, manager, (alpha, beta) = vendor_with_teams("Alpha", "Beta")
    offer = offer_of(vendor_job(organization, vendor))
    unprotected = UserFactory()  # a second manager of the same vendor, without MFA
    VendorManager.objects.create(vendor=vendor, user=unprotected)
    _, other_manager, (other_team,) = vendor_with_teams("Gamma")
    clients = {
        "anonymous": APIClient(),
        "worker": bearer_client(WorkerFactory().user),
        "requester": bearer_client(requester),
        "other requester": bearer_client(OrganizationFactory().memberships.get().user),
        "manager": bearer_client(manager),
        "other manager": bearer_client(other_manager),
        "manager without MFA": bearer_client(unprotected),
    }
    return {
        "offer": offer,
        "vendor": vendor,
        "manager": manager,
        "teams": (alpha, beta),
        "other_team": other_team,
        "clients": clients,
    }


# --- every endpoint, every role ------------------------------------------------------------------

ROLES = [
    "anonymous",
    "worker",
    "requester",
    "other requester",
    "manager",
    "other manager",
    "manager without MFA",
]
REQUESTER_SIDE = {
    "anonymous": 401,
    "worker": 403,
    "other requester": 404,
    "manager": 403,
    "other manager": 403,
    "manager without MFA": 403,
}
VENDOR_SIDE = {
    "anonymous": 401,
    "worker": 403,
    "requester": 403,
    "other requester": 403,
    "other manager": 404,
    "manager without MFA": 403,
}


def _withdraw_first(world) -> None:
    services.vendor_offer_withdraw(
        offer=world["offer"], withdrawn_by=world["offer"].job.organization.memberships.get().user
    )


ENDPOINTS = {
    "list offers (requester)": (
        "get", "/api/v1/vendor-offers", None, None,
        {**REQUESTER_SIDE, "requester": 200, "other requester": 200},
    ),
    "get offer (requester)": (
        "get", "/api/v1/vendor-offers/{pk}", None, None, {**REQUESTER_SIDE, "requester": 200},
    ),
    "offer again": (
        "post", "/api/v1/vendor-offers", lambda w: {"job": w["offer"].job.name}, _withdraw_first,
        {**REQUESTER_SIDE, "requester": 201},
    ),
    "withdraw": (
        "post", "/api/v1/vendor-offers/{pk}/withdraw", None, None,
        {**REQUESTER_SIDE, "requester": 200},
    ),
    "list offers (vendor)": (
        "get", "/api/v1/vendor/offers", None, None,
        {**VENDOR_SIDE, "manager": 200, "other manager": 200},
    ),
    "get offer (vendor)": (
        "get", "/api/v1/vendor/offers/{pk}", None, None, {**VENDOR_SIDE, "manager": 200},
    ),
    "accept": (
        "post", "/api/v1/vendor/offers/{pk}/accept", lambda w: {"team_id": w["teams"][0].pk},
        None, {**VENDOR_SIDE, "manager": 200},
    ),
    "decline": (
        "post", "/api/v1/vendor/offers/{pk}/decline", lambda w: {"reason": "No capacity."},
        None, {**VENDOR_SIDE, "manager": 200},
    ),
}  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_each_endpoint_answers_each_role(world, endpoint, role):
    method, url, body, prepare, expected = ENDPOINTS[endpoint]
    if prepare:
        prepare(world)
    before = offers_snapshot()
    client = world["clients"][role]

    response = getattr(client, method)(
        url.format(pk=world["offer"].pk), body(world) if body else None, format="json"
    )

    assert response.status_code == expected[role], response.content
    if response.status_code >= 400:
        assert set(response.json()) == {"code", "detail", "fields"}
        assert offers_snapshot() == before
    if role == "manager without MFA":  # refused for MFA on the vendor's side only
        vendor_side = url.startswith("/api/v1/vendor/")
        assert response.json()["code"] == ("mfa_required" if vendor_side else "permission_denied")
    if response.status_code == 404:
        assert response.json() == {"code": "not_found", "detail": "Not found.", "fields": {}}
    if role in ("other requester", "other manager") and response.status_code == 200:
        assert response.json()["count"] == 0  # lists: nothing of anyone else's


# --- the requester's side ------------------------------------------------------------------------


def test_the_requester_lists_its_offers(world, requester_client):
    offer, vendor = world["offer"], world["vendor"]

    body = requester_client.get("/api/v1/vendor-offers").json()

    assert body == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": offer.pk,
                "job": "pets",
                "vendor": {"slug": vendor.slug, "name": vendor.name},
                "price_per_object": "0.100",
                "status": "pending",
                "team": None,
                "created_at": drf_time(offer.created_at),
                "responded_at": None,
                "decline_reason": "",
            }
        ],
    }


def test_the_requester_sees_the_team_and_the_decline_reason(world, organization, requester_client):
    alpha, _ = world["teams"]
    world["clients"]["manager"].post(
        f"/api/v1/vendor/offers/{world['offer'].pk}/accept", {"team_id": alpha.pk}, format="json"
    )
    declined = offer_of(vendor_job(organization, world["vendor"], name="cars"))
    world["clients"]["manager"].post(
        f"/api/v1/vendor/offers/{declined.pk}/decline", {"reason": "No car experts."}, format="json"
    )

    everything = requester_client.get("/api/v1/vendor-offers").json()["results"]
    only_declined = requester_client.get("/api/v1/vendor-offers?status=declined").json()
    by_job = requester_client.get("/api/v1/vendor-offers?job=PETS").json()

    assert [(o["job"], o["status"], o["team"], o["decline_reason"]) for o in everything] == [
        ("cars", "declined", None, "No car experts."),
        ("pets", "accepted", "Alpha", ""),
    ]
    assert all(o["responded_at"] is not None for o in everything)
    assert [o["id"] for o in only_declined["results"]] == [declined.pk]
    assert [o["id"] for o in by_job["results"]] == [world["offer"].pk]


def test_the_requester_offers_a_withdrawn_job_again(world, requester_client):
    withdrawn = requester_client.post(f"/api/v1/vendor-offers/{world['offer'].pk}/withdraw")

    again = requester_client.post("/api/v1/vendor-offers", {"job": "PETS"}, format="json")

    assert (withdrawn.status_code, withdrawn.json()["status"]) == (200, "withdrawn")
    assert again.status_code == 201
    new = VendorOffer.objects.get(pk=again.json()["id"])
    assert (new.status, new.job, new.created_by.email) == (
        "pending", world["offer"].job, world["offer"].job.created_by.email,
    )  # fmt: skip
    assert again.json()["price_per_object"] == "0.100"


@pytest.mark.parametrize(
    ("job", "status", "code"),
    [
        ("pets", 409, "offer_exists"),
        ("public-job", 400, "not_vendor_job"),
        ("nope", 404, "not_found"),
    ],
)
def test_offering_again_is_refused_for_a_live_offer_a_public_job_or_an_unknown_job(
    world, organization, requester_client, job, status, code
):
    job_in_progress(organization, objects=1, name="public-job")
    before = offers_snapshot()

    response = requester_client.post("/api/v1/vendor-offers", {"job": job}, format="json")

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert offers_snapshot() == before


def test_an_accepted_offer_cannot_be_withdrawn(world, requester_client):
    alpha, _ = world["teams"]
    services.vendor_offer_accept(offer=world["offer"], team=alpha, responded_by=world["manager"])
    before = offers_snapshot()

    response = requester_client.post(f"/api/v1/vendor-offers/{world['offer'].pk}/withdraw")

    assert response.status_code == 409
    assert response.json() == {
        "code": "invalid_transition",
        "detail": "The offer is accepted and cannot become withdrawn.",
        "fields": {},
    }
    assert offers_snapshot() == before


# --- the vendor's side ---------------------------------------------------------------------------


def test_the_vendor_sees_what_it_needs_of_the_job_and_nothing_else(world):
    offer = world["offer"]
    job = offer.job

    body = world["clients"]["manager"].get("/api/v1/vendor/offers").json()

    assert body["results"] == [
        {
            "id": offer.pk,
            "job": {
                "id": job.pk,
                "title": "Cat or dog?",
                "description": "Pick the animal in the photo.",
                "task_type": "image_classification",
                "status": "InProgress",
                "object_count": 3,
                "workers_per_object": 1,
                "label_counters": {
                    "total_labeled": 0,
                    "human_labeled": 0,
                    "machine_labeled": 0,
                    "failed_non_retryable_error": 0,
                    "unlabeled": 3,
                },
            },
            "price_per_object": "0.100",
            "status": "pending",
            "team": None,
            "created_at": drf_time(offer.created_at),
            "responded_at": None,
            "decline_reason": "",
        }
    ]


def test_the_vendor_accepts_with_a_team(world):
    _, beta = world["teams"]
    manager = world["clients"]["manager"]

    response = manager.post(
        f"/api/v1/vendor/offers/{world['offer'].pk}/accept", {"team_id": beta.pk}, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["team"]) == (
        "accepted", {"id": beta.pk, "name": "Beta"},
    )  # fmt: skip
    offer = VendorOffer.objects.get(pk=world["offer"].pk)
    assert (offer.status, offer.team, offer.responded_by) == ("accepted", beta, world["manager"])
    listed = manager.get("/api/v1/vendor/offers?status=accepted").json()["results"]
    assert [o["id"] for o in listed] == [offer.pk]
    assert manager.get("/api/v1/vendor/offers?status=pending").json()["count"] == 0


@pytest.mark.parametrize("team", ["another vendor's", "unknown", "missing"])
def test_accepting_needs_one_of_the_vendors_own_teams(world, team):
    body = {
        "another vendor's": {"team_id": world["other_team"].pk},
        "unknown": {"team_id": 999_999},
        "missing": {},
    }[team]
    before = offers_snapshot()

    response = world["clients"]["manager"].post(
        f"/api/v1/vendor/offers/{world['offer'].pk}/accept", body, format="json"
    )

    assert response.status_code == 400
    if team == "missing":
        assert response.json()["fields"] == {"team_id": ["This field is required."]}
    else:
        assert response.json() == {
            "code": "unknown_team",
            "detail": "Choose one of your own teams.",
            "fields": {"team_id": ["Choose one of your own teams."]},
        }
    assert offers_snapshot() == before


def test_the_vendor_declines_with_a_reason_the_requester_sees(world, requester_client):
    manager = world["clients"]["manager"]
    url = f"/api/v1/vendor/offers/{world['offer'].pk}/decline"
    before = offers_snapshot()

    blank = manager.post(url, {"reason": "  "}, format="json")
    unchanged = offers_snapshot()
    declined = manager.post(url, {"reason": "We only label text."}, format="json")

    assert blank.status_code == 400
    assert blank.json() == {
        "code": "reason_required",
        "detail": "Say why the offer is declined.",
        "fields": {"reason": ["Say why the offer is declined."]},
    }
    assert unchanged == before
    assert declined.status_code == 200
    assert (declined.json()["status"], declined.json()["decline_reason"]) == (
        "declined", "We only label text.",
    )  # fmt: skip
    seen = requester_client.get(f"/api/v1/vendor-offers/{world['offer'].pk}").json()
    assert (seen["status"], seen["decline_reason"]) == ("declined", "We only label text.")


# --- no N+1 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "url"), [("requester", "/api/v1/vendor-offers"), ("manager", "/api/v1/vendor/offers")]
)
def test_the_lists_take_the_same_number_of_queries_for_one_offer_or_many(
    world, organization, side, url
):
    client = world["clients"][side]
    alpha, _ = world["teams"]
    services.vendor_offer_accept(offer=world["offer"], team=alpha, responded_by=world["manager"])
    client.get(url)  # the key's first use writes last_used_at; count from the second call
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).json()["count"] == 1
    for name in ("cars", "boats", "trains"):
        offer = offer_of(vendor_job(organization, world["vendor"], name=name, objects=1))
        services.vendor_offer_accept(offer=offer, team=alpha, responded_by=world["manager"])

    with CaptureQueriesContext(connection) as many:
        assert client.get(url).json()["count"] == 4

    assert len(many) == len(one)
