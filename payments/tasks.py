from celery import shared_task
from django.db import OperationalError

from payments import stripe_gateway
from payments.services import ledger, payouts, webhooks


@shared_task
def earnings_release_task() -> None:
    """Beat: earnings whose hold is over become available to their payees."""
    ledger.earnings_release_due()


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=8)
def stripe_event_process_task(stripe_event_id: int) -> None:
    webhooks.stripe_event_process(stripe_event_id=stripe_event_id)


@shared_task
def payouts_build_task() -> None:
    """Beat, weekly: a payout for every payee whose available balance reaches the minimum."""
    payouts.payouts_build()


# Stripe not answering, answering late or with a 5xx: the same idempotency key makes the retry
# safe (Stripe returns the transfer it made, never a second one). Refusals never get here.
@shared_task(
    autoretry_for=(stripe_gateway.StripeError, OperationalError),
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=10,
)
def payout_send_task(payout_id: int) -> None:
    payouts.payout_send(payout_id=payout_id)
