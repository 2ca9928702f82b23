"""Stripe webhooks: each event is verified, stored once, then handled after the commit.

The event id is unique in PostgreSQL, so a delivery repeated (even two at the same moment) is
stored once and handled once. The handler's outcome is kept on the row: processed, ignored (a
type the platform does not act on), or failed with the reason.
"""

import json
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplace.errors import ApplicationError
from payments import stripe_gateway
from payments.models import StripeEvent
from payments.services import funding, payouts

Handler = Callable[[dict, StripeEvent], None]

# What each event type does; the object handed over is the event's `data.object`.
HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": funding.checkout_session_completed,
    "checkout.session.async_payment_succeeded": funding.checkout_session_completed,
    "checkout.session.expired": funding.checkout_session_expired,
    "payment_intent.succeeded": funding.payment_intent_succeeded,
    "charge.refunded": funding.charge_refunded,
    "charge.dispute.created": funding.dispute_created,
    "charge.dispute.closed": funding.dispute_closed,
    "account.updated": payouts.payout_account_updated,
    "transfer.created": payouts.transfer_created,
    "transfer.reversed": payouts.transfer_reversed,
    "payout.failed": payouts.bank_payout_failed,
}


def stripe_event_receive(*, payload: bytes, signature: str) -> StripeEvent | None:
    """Verify and store an event; None when it was stored before (a replay changes nothing).
    Raises ApplicationError for a bad signature, before anything is stored."""
    try:
        event = stripe_gateway.event_verified(payload=payload, signature=signature)
    except stripe_gateway.SignatureError as error:
        raise ApplicationError("invalid_signature", f"Stripe signature refused: {error}") from None
    from payments import tasks

    try:
        with transaction.atomic():
            stored = StripeEvent.objects.create(
                event_id=event.id,
                type=event.type,
                account=getattr(event, "account", None) or "",
                livemode=bool(event.livemode),
                payload=json.loads(payload),
            )
            transaction.on_commit(lambda: tasks.stripe_event_process_task.delay(stored.pk))
    except IntegrityError:
        return None
    return stored


@transaction.atomic
def stripe_event_process(*, stripe_event_id: int) -> StripeEvent:
    """Handle a stored event once. A business refusal, or an object missing what its type
    promises, is kept on the row as `failed`; anything else (the database gone, say) rolls back
    and leaves the event to be handled again."""
    stored = StripeEvent.objects.select_for_update().get(pk=stripe_event_id)
    if stored.status != StripeEvent.Status.RECEIVED:
        return stored
    handler = HANDLERS.get(stored.type)
    if handler is None:
        stored.status = StripeEvent.Status.IGNORED
    else:
        try:
            with transaction.atomic():
                handler(stored.payload["data"]["object"], stored)
            stored.status = StripeEvent.Status.PROCESSED
        except ApplicationError as error:
            stored.status = StripeEvent.Status.FAILED
            stored.error = f"{error.code}: {error.message}"
        except (KeyError, TypeError, ValueError) as error:
            # Signed by Stripe, yet not shaped as its type says (an API version we do not
            # read, say): kept as failed with the reason rather than retried for ever.
            stored.status = StripeEvent.Status.FAILED
            stored.error = f"malformed_event: {type(error).__name__}: {error}"
    stored.processed_at = timezone.now()
    stored.save(update_fields=["status", "error", "processed_at"])
    return stored
