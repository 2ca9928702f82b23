from celery import shared_task

from payments import services


@shared_task
def earnings_release_task() -> None:
    """Beat: earnings whose hold is over become available to their payees."""
    services.earnings_release_due()
