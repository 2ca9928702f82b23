from celery import shared_task
from django.db import OperationalError

from payments.services import ledger, webhooks


@shared_task
def earnings_release_task() -> None:
    """Beat: earnings whose hold is over become available to their payees."""
    ledger.earnings_release_due()


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=8)
def stripe_event_process_task(stripe_event_id: int) -> None:
    webhooks.stripe_event_process(stripe_event_id=stripe_event_id)
