"""The Stripe webhook endpoint: signatures verified for real, each event stored and handled once."""

import pytest
from rest_framework.test import APIClient

from payments import stripe_gateway
from payments.models import LedgerTransaction, StripeEvent
from tests import stripe_fake
from tests.concurrency import run_concurrently
from tests.conftest import stripe_webhook_post

pytestmark = pytest.mark.django_db


def _unhandled_event(stripe) -> dict:
    return stripe.event("customer.created", {"id": "cus_test1", "object": "customer"})


def test_a_bad_signature_is_400_and_stores_nothing(stripe):
    event = _unhandled_event(stripe)

    response = stripe_webhook_post(APIClient(), event, secret="whsec_someone_else")  # noqa: S106

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_signature"
    assert StripeEvent.objects.count() == 0


def test_an_event_of_the_connect_endpoint_is_verified_with_its_own_secret(stripe):
    event = stripe.event(
        "account.application.authorized", {"id": "ca_1", "object": "application"}, account="acct_1"
    )

    response = stripe_webhook_post(APIClient(), event, secret=stripe_fake.CONNECT_WEBHOOK_SECRET)

    assert response.status_code == 200
    assert StripeEvent.objects.get(event_id=event["id"]).account == "acct_1"


def test_without_a_webhook_secret_every_event_is_refused(stripe, settings):
    settings.STRIPE_WEBHOOK_SECRETS = []

    response = stripe_webhook_post(APIClient(), _unhandled_event(stripe))

    assert response.status_code == 400
    assert "No Stripe webhook secret is configured" in response.json()["detail"]
    assert StripeEvent.objects.count() == 0


def test_a_missing_signature_or_a_body_that_is_not_json_is_400(stripe):
    client = APIClient()
    event = _unhandled_event(stripe)
    unsigned = client.generic(
        "POST", "/api/v1/webhooks/stripe", b'{"id": "evt_1"}', content_type="application/json"
    )
    garbage = b"not json"
    not_json = client.generic(
        "POST",
        "/api/v1/webhooks/stripe",
        garbage,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe_fake.signature_header(garbage),
    )

    assert unsigned.status_code == 400
    assert not_json.status_code == 400
    assert StripeEvent.objects.filter(event_id=event["id"]).count() == 0
    assert StripeEvent.objects.count() == 0


def test_a_signature_older_than_stripes_tolerance_is_refused(stripe):
    event = _unhandled_event(stripe)
    payload, _ = stripe_fake.signed(event)
    stale = stripe_fake.signature_header(payload, timestamp=1_000_000_000)

    response = APIClient().generic(
        "POST",
        "/api/v1/webhooks/stripe",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stale,
    )

    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0


def test_an_event_the_platform_does_not_act_on_is_stored_as_ignored(
    stripe, django_capture_on_commit_callbacks
):
    event = _unhandled_event(stripe)

    with django_capture_on_commit_callbacks(execute=True):
        response = stripe_webhook_post(APIClient(), event)

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    stored = StripeEvent.objects.get(event_id=event["id"])
    assert stored.type == "customer.created"
    assert stored.payload == event
    assert stored.status == StripeEvent.Status.IGNORED
    assert stored.processed_at is not None


def test_a_replayed_event_is_acknowledged_and_stored_once(stripe):
    event = _unhandled_event(stripe)
    client = APIClient()

    first = stripe_webhook_post(client, event)
    again = stripe_webhook_post(client, event)

    assert first.json()["duplicate"] is False
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert StripeEvent.objects.filter(event_id=event["id"]).count() == 1


def test_the_gateway_talks_to_stripe_over_http_with_our_idempotency_key(stripe):
    session = stripe_gateway.checkout_session_create(
        amount_cents=2_500,
        description="Groundwork balance",
        success_url="https://example.test/ok",
        cancel_url="https://example.test/cancel",
        metadata={"top_up_id": "7"},
        idempotency_key="top-up:7",
    )

    assert session.url.startswith("https://checkout.stripe.com/c/pay/cs_")
    [call] = stripe.calls("POST", "/v1/checkout/sessions")
    assert call["idempotency_key"] == "top-up:7"
    assert call["params"]["line_items"]["0"]["price_data"]["unit_amount"] == "2500"
    assert call["params"]["payment_intent_data"]["metadata"]["top_up_id"] == "7"


@pytest.mark.django_db(transaction=True)
def test_one_event_delivered_four_times_at_once_is_stored_and_handled_once(stripe):
    event = _unhandled_event(stripe)

    outcomes = run_concurrently(4, lambda index: stripe_webhook_post(APIClient(), event))

    assert all(outcome.succeeded for outcome in outcomes), outcomes
    duplicates = sorted(outcome.value.json()["duplicate"] for outcome in outcomes)
    assert duplicates == [False, True, True, True]
    assert StripeEvent.objects.filter(event_id=event["id"]).count() == 1
    assert StripeEvent.objects.get(event_id=event["id"]).status == StripeEvent.Status.IGNORED
    assert LedgerTransaction.objects.count() == 0


def test_an_event_whose_object_lacks_what_its_type_promises_is_kept_as_failed(
    stripe, django_capture_on_commit_callbacks
):
    # A dispute without its status: signed by Stripe, but not shaped as a dispute
    event = stripe.event("charge.dispute.created", {"id": "dp_test1", "object": "dispute"})

    with django_capture_on_commit_callbacks(execute=True):
        response = stripe_webhook_post(APIClient(), event)

    assert response.status_code == 200
    stored = StripeEvent.objects.get(event_id=event["id"])
    assert stored.status == StripeEvent.Status.FAILED
    assert stored.error == "malformed_event: KeyError: 'status'"
    assert LedgerTransaction.objects.count() == 0
