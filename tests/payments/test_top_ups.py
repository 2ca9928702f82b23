"""Top-ups: POST /api/v1/top-ups opens a Stripe Checkout Session (through the fake Stripe over
HTTP) and credits nothing until Stripe's webhook says it was paid; GET lists the organisation's
own top-ups; the console's "Add funds" form does the same for a browser."""

import pytest
from django.test import Client
from playwright.sync_api import expect

from payments import selectors
from payments.models import LedgerAccount, LedgerTransaction, TopUp
from tests.conftest import bearer_client
from tests.e2e.conftest import browser_page  # noqa: F401 - the browser fixture, used below
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

SESSIONS = "/v1/checkout/sessions"


def available(organization) -> int:
    return selectors.balance_mills(
        kind=LedgerAccount.Kind.REQUESTER_AVAILABLE, owner=organization.ledger_owner
    )


def test_a_top_up_opens_a_checkout_session_and_credits_nothing_yet(
    stripe, organization, requester, requester_client
):
    response = requester_client.post("/api/v1/top-ups", {"amount": "25.00"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    top_up = TopUp.objects.get()
    assert set(body) == {"id", "amount", "amount_mills", "status", "checkout_url", "created_at"}
    assert body["id"] == top_up.pk
    assert body["amount"] == "25.000"
    assert body["amount_mills"] == 25_000
    assert body["status"] == "open"
    assert body["checkout_url"].startswith("https://checkout.stripe.com/c/pay/cs_test")
    assert top_up.owner == organization.ledger_owner
    assert top_up.requested_by == requester
    assert top_up.checkout_url == body["checkout_url"]
    [call] = stripe.calls("POST", SESSIONS)
    assert top_up.checkout_session_id == stripe.objects[top_up.checkout_session_id]["id"]
    assert call["idempotency_key"] == f"top-up:{top_up.pk}"
    assert call["params"]["mode"] == "payment"
    assert call["params"]["line_items"]["0"]["price_data"]["unit_amount"] == "2500"
    assert call["params"]["line_items"]["0"]["price_data"]["currency"] == "usd"
    assert call["params"]["metadata"] == {
        "top_up_id": str(top_up.pk),
        "owner": organization.ledger_owner,
    }
    assert call["params"]["payment_intent_data"]["metadata"]["top_up_id"] == str(top_up.pk)
    assert call["params"]["success_url"] == "http://testserver/jobs/?top_up=paid"
    assert call["params"]["cancel_url"] == "http://testserver/jobs/?top_up=cancelled"
    assert available(organization) == 0
    assert LedgerTransaction.objects.count() == 0
    assert requester_client.get("/api/v1/balance").json() == {
        "available": "0.000",
        "available_mills": 0,
    }


def test_the_return_addresses_given_are_the_ones_checkout_uses(stripe, requester_client):
    response = requester_client.post(
        "/api/v1/top-ups",
        {
            "amount": "5.00",
            "success_url": "https://app.example.com/paid",
            "cancel_url": "https://app.example.com/cancelled",
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    [call] = stripe.calls("POST", SESSIONS)
    assert call["params"]["success_url"] == "https://app.example.com/paid"
    assert call["params"]["cancel_url"] == "https://app.example.com/cancelled"
    assert call["params"]["line_items"]["0"]["price_data"]["unit_amount"] == "500"


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("abc", "'abc' is not a decimal amount."),
        ("-5.00", "The amount must be a positive decimal."),
        ("25.0001", "Amounts are in tenths of a cent at most (three decimal places)."),
        ("25.005", "A top-up is a whole number of cents."),
        ("4.99", "A top-up is between $5.00 and $100,000.00."),
        ("100000.01", "A top-up is between $5.00 and $100,000.00."),
        ("", "This field may not be blank."),
        (None, "This field is required."),
    ],
)
def test_a_bad_amount_is_400_naming_the_field_and_nothing_is_stored(
    stripe, requester_client, amount, reason
):
    body = {} if amount is None else {"amount": amount}

    response = requester_client.post("/api/v1/top-ups", body, format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == {"amount": [reason]}
    assert TopUp.objects.count() == 0
    assert stripe.calls("POST", SESSIONS) == []


def test_the_limits_come_from_the_settings(stripe, settings, requester_client):
    settings.TOP_UP_MINIMUM_MILLS = 50_000
    settings.TOP_UP_MAXIMUM_MILLS = 60_000

    low = requester_client.post("/api/v1/top-ups", {"amount": "49.99"}, format="json")
    high = requester_client.post("/api/v1/top-ups", {"amount": "60.01"}, format="json")
    edge = requester_client.post("/api/v1/top-ups", {"amount": "60.00"}, format="json")

    assert low.status_code == high.status_code == 400
    assert low.json()["fields"] == {"amount": ["A top-up is between $50.00 and $60.00."]}
    assert edge.status_code == 201
    assert TopUp.objects.get().amount_mills == 60_000


def test_without_stripe_a_top_up_is_refused_and_nothing_is_stored(requester_client):
    response = requester_client.post("/api/v1/top-ups", {"amount": "25.00"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "stripe_not_configured"
    assert TopUp.objects.count() == 0


def test_stripe_failing_is_a_502_and_leaves_no_top_up_behind(stripe, requester_client):
    stripe.fail_next("POST", SESSIONS, status=500)

    response = requester_client.post("/api/v1/top-ups", {"amount": "25.00"}, format="json")

    assert response.status_code == 502
    assert response.json()["code"] == "stripe_unavailable"
    assert TopUp.objects.count() == 0
    assert LedgerTransaction.objects.count() == 0

    retried = requester_client.post("/api/v1/top-ups", {"amount": "25.00"}, format="json")

    assert retried.status_code == 201
    top_up = TopUp.objects.get()
    assert top_up.status == TopUp.Status.OPEN
    assert top_up.checkout_session_id.startswith("cs_test")
    assert [c["idempotency_key"] for c in stripe.calls("POST", SESSIONS)] == [
        f"top-up:{top_up.pk - 1}",
        f"top-up:{top_up.pk}",
    ]


def test_stripe_answering_too_late_is_a_502_and_leaves_no_top_up_behind(
    stripe, settings, requester_client
):
    settings.STRIPE_TIMEOUT_SECONDS = 0.5
    stripe.fail_next("POST", SESSIONS, delay_seconds=1.5)

    response = requester_client.post("/api/v1/top-ups", {"amount": "25.00"}, format="json")

    assert response.status_code == 502
    assert response.json()["code"] == "stripe_unavailable"
    assert TopUp.objects.count() == 0


def test_the_list_shows_the_organisations_own_top_ups_newest_first(
    stripe, organization, requester_client
):
    for amount in ("5.00", "7.50"):
        requester_client.post("/api/v1/top-ups", {"amount": amount}, format="json")
    other = OrganizationFactory()
    other_client = bearer_client(other.memberships.get().user)
    other_client.post("/api/v1/top-ups", {"amount": "9.00"}, format="json")

    mine = requester_client.get("/api/v1/top-ups").json()
    theirs = other_client.get("/api/v1/top-ups").json()

    assert mine["count"] == 2
    assert [(row["amount"], row["status"]) for row in mine["results"]] == [
        ("7.500", "open"),
        ("5.000", "open"),
    ]
    assert [row["amount_mills"] for row in theirs["results"]] == [9_000]


# --- the console ---------------------------------------------------------------------------------


def console(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_console_shows_the_balance_and_an_add_funds_form(stripe, organization, requester):
    page = console(requester).get("/jobs/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "Balance" in html
    assert "$0.000" in html
    assert 'action="/jobs/add-funds"' in html
    assert 'name="amount"' in html


def test_without_stripe_the_console_says_card_payments_are_not_set_up(organization, requester):
    page = console(requester).get("/jobs/")

    html = page.content.decode()
    assert "Card payments are not set up on this platform" in html
    assert 'action="/jobs/add-funds"' not in html


def test_adding_funds_from_the_console_sends_the_browser_to_checkout(
    stripe, organization, requester
):
    response = console(requester).post("/jobs/add-funds", {"amount": "25.00"})

    top_up = TopUp.objects.get()
    assert response.status_code == 302
    assert response["Location"] == top_up.checkout_url
    assert top_up.amount_mills == 25_000
    assert top_up.owner == organization.ledger_owner
    [call] = stripe.calls("POST", SESSIONS)
    assert call["params"]["success_url"] == "http://testserver/jobs/?top_up=paid"
    assert available(organization) == 0


def test_a_bad_amount_in_the_console_is_shown_and_nothing_is_stored(
    stripe, organization, requester
):
    client = console(requester)

    response = client.post("/jobs/add-funds", {"amount": "2.00"}, follow=True)

    assert response.redirect_chain == [("/jobs/", 302)]
    assert "A top-up is between $5.00 and $100,000.00." in response.content.decode()
    assert TopUp.objects.count() == 0
    assert stripe.calls("POST", SESSIONS) == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_requester_adds_funds_in_the_browser_and_lands_on_checkout(
    live_server,
    browser_page,  # noqa: F811 - the fixture imported above
    stripe,
    organization,
    requester,
    tmp_path,
):
    page = browser_page
    # Stripe's own page is out of reach of the test: answer for it.
    page.route(
        "https://checkout.stripe.com/**",
        lambda route: route.fulfill(body="<h1>Stripe Checkout</h1>", content_type="text/html"),
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", requester.email)
    page.fill("input[name=password]", "correct-horse-battery-staple")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_attached()
    page.goto(f"{live_server.url}/jobs/")
    expect(page.locator("[data-balance=available]")).to_have_text("$0.000")
    page.screenshot(path=tmp_path / "add-funds.png", full_page=True)

    page.get_by_label("Add funds (USD)").fill("25.00")
    page.get_by_role("button", name="Add funds").click()

    expect(page.get_by_role("heading", name="Stripe Checkout")).to_be_visible()
    top_up = TopUp.objects.get()
    assert page.url == top_up.checkout_url
    assert top_up.amount_mills == 25_000
    assert available(organization) == 0
