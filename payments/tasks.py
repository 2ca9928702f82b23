from datetime import timedelta

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from payments import selectors, stripe_gateway
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


# How long after approval a Stripe payout may stay unsent before beat sends it again.
SEND_AGAIN_AFTER = timedelta(hours=1)


@shared_task
def payouts_send_again_task() -> None:
    """Beat: a Stripe payout approved an hour ago and still unsent (its task gave up, or its
    message was lost) is sent again; the payout's idempotency key keeps it one transfer."""
    for payout_id in selectors.payouts_unsent(approved_before=timezone.now() - SEND_AGAIN_AFTER):
        payout_send_task.delay(payout_id)
