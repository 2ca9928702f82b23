"""Requesters' money from outside: Stripe Checkout top-ups, and the refunds and disputes that
take some of it back.

A top-up credits the balance only when a verified webhook says it was paid:
`checkout.session.completed` or `payment_intent.succeeded`, whichever comes first; the other
one finds the top-up paid and changes nothing. Every handler locks the top-up row first, so
events about one payment are handled one after the other even when they arrive together.

Money moves between the platform's funding clearing account (the outside world) and the
owner's available balance. A refund or a dispute can take back money the requester already
spent or put in escrow: the available balance then goes below zero, a debt that blocks
spending until new funds cover it.
"""

from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from marketplace.errors import ApplicationError
from payments import stripe_gateway
from payments.models import LedgerAccount, LedgerEntry, LedgerTransaction, StripeEvent, TopUp
from payments.services import ledger

Kind = LedgerAccount.Kind


# --- top-ups -----------------------------------------------------------------------------------


def top_up_create(
    *, owner: str, requested_by, amount_mills: int, success_url: str, cancel_url: str
) -> TopUp:
    """Open a top-up and its Stripe Checkout Session; the payer goes to `checkout_url`.

    The row and the session are made in one short transaction around the one Stripe call
    (bounded by STRIPE_TIMEOUT_SECONDS): the row's pk names the session's idempotency key, and
    if Stripe fails the row is rolled back, so no open top-up is ever left without a session.
    """
    if not stripe_gateway.configured():
        raise ApplicationError(
            "stripe_not_configured",
            "Card payments are not set up on this platform: Stripe has no key.",
        )
    _check_top_up_amount(amount_mills)
    cents = amount_mills // 10
    with transaction.atomic():
        top_up = TopUp.objects.create(
            owner=owner, requested_by=requested_by, amount_mills=amount_mills
        )
        try:
            session = stripe_gateway.checkout_session_create(
                amount_cents=cents,
                description=f"Groundwork balance top-up of {_dollars(amount_mills)}",
                success_url=success_url,
                cancel_url=cancel_url,
                metadata={"top_up_id": str(top_up.pk), "owner": owner},
                idempotency_key=f"top-up:{top_up.pk}",
            )
        except stripe_gateway.StripeError:
            raise ApplicationError(
                "stripe_unavailable",
                "Stripe could not open the payment page; nothing was charged. Try again.",
                status=502,
            ) from None
        top_up.checkout_session_id = session.id
        top_up.checkout_url = session.url
        top_up.save(update_fields=["checkout_session_id", "checkout_url"])
    return top_up


def _check_top_up_amount(amount_mills: int) -> None:
    minimum, maximum = settings.TOP_UP_MINIMUM_MILLS, settings.TOP_UP_MAXIMUM_MILLS
    if amount_mills % 10:
        raise ApplicationError(
            "invalid_amount", "A top-up is a whole number of cents.", field="amount"
        )
    if not minimum <= amount_mills <= maximum:
        raise ApplicationError(
            "invalid_amount",
            f"A top-up is between {_dollars(minimum)} and {_dollars(maximum)}.",
            field="amount",
        )


def _dollars(mills: int) -> str:
    """5000 -> '$5.00' (whole cents)."""
    return f"${mills // 1000:,}.{mills % 1000 // 10:02d}"


# --- webhook handlers: payment -----------------------------------------------------------------


def checkout_session_completed(obj: dict, event: StripeEvent) -> None:
    """A Checkout Session finished. Credits the top-up once it is paid (an asynchronous payment
    method completes the session unpaid and sends `async_payment_succeeded` later)."""
    if obj.get("payment_status") != "paid":
        return
    top_up = _top_up_locked(
        checkout_session_id=obj["id"], top_up_id=_metadata(obj).get("top_up_id")
    )
    if top_up.checkout_session_id != obj["id"]:
        raise ApplicationError(
            "top_up_mismatch",
            f"Top-up {top_up.pk} belongs to session {top_up.checkout_session_id}, not {obj['id']}.",
        )
    payment_intent_id = _id(obj.get("payment_intent"))
    _top_up_paid(
        top_up=top_up,
        amount_cents=obj["amount_total"],
        currency=obj["currency"],
        payment_intent_id=payment_intent_id,
        charge_id="",
    )


def payment_intent_succeeded(obj: dict, event: StripeEvent) -> None:
    """The payment behind a top-up succeeded: the same credit as a completed session."""
    top_up = _top_up_locked(payment_intent_id=obj["id"], top_up_id=_metadata(obj).get("top_up_id"))
    _top_up_paid(
        top_up=top_up,
        amount_cents=obj["amount_received"],
        currency=obj["currency"],
        payment_intent_id=obj["id"],
        charge_id=_id(obj.get("latest_charge")),
    )


def checkout_session_expired(obj: dict, event: StripeEvent) -> None:
    """Nobody paid within the session's lifetime: an open top-up is expired."""
    top_up = _top_up_locked(
        checkout_session_id=obj["id"], top_up_id=_metadata(obj).get("top_up_id")
    )
    if top_up.status == TopUp.Status.OPEN:
        top_up.status = TopUp.Status.EXPIRED
        top_up.save(update_fields=["status"])


def _top_up_paid(
    *, top_up: TopUp, amount_cents: int, currency: str, payment_intent_id: str, charge_id: str
) -> None:
    """Credit a locked top-up once, keyed on the top-up; later events only fill in the payment
    intent and charge ids they carry."""
    if currency != "usd" or amount_cents * 10 != top_up.amount_mills:
        raise ApplicationError(
            "amount_mismatch",
            f"Stripe says {amount_cents} {currency} cents were paid for top-up {top_up.pk} "
            f"of {top_up.amount_mills} mills.",
        )
    if payment_intent_id and top_up.payment_intent_id not in (None, payment_intent_id):
        raise ApplicationError(
            "top_up_mismatch",
            f"Top-up {top_up.pk} was paid by {top_up.payment_intent_id}, not {payment_intent_id}.",
        )
    changed = []
    if payment_intent_id and top_up.payment_intent_id != payment_intent_id:
        top_up.payment_intent_id = payment_intent_id
        changed.append("payment_intent_id")
    if charge_id and top_up.charge_id != charge_id:
        top_up.charge_id = charge_id
        changed.append("charge_id")
    clearing, available = _accounts(top_up)
    credit = ledger.ledger_post(
        idempotency_key=f"top-up:{top_up.pk}:paid",
        kind=LedgerTransaction.Kind.FUNDING,
        memo=f"Top-up {top_up.pk} paid by card",
        entries=[(clearing, -top_up.amount_mills), (available, top_up.amount_mills)],
    )
    # The charge is what Stripe's balance shows; until an event names it, the payment intent.
    external_id = top_up.charge_id or top_up.payment_intent_id or ""
    if external_id and credit.external_id != external_id:
        credit.external_id = external_id
        credit.save(update_fields=["external_id"])
    if top_up.status != TopUp.Status.PAID:
        top_up.status = TopUp.Status.PAID
        top_up.paid_at = timezone.now()
        changed += ["status", "paid_at"]
    if changed:
        top_up.save(update_fields=changed)


# --- webhook handlers: money taken back --------------------------------------------------------


def charge_refunded(obj: dict, event: StripeEvent) -> None:
    """Some or all of a top-up's charge was refunded. Stripe's `amount_refunded` is the total so
    far, so each event posts only what its total adds to the refunds posted before; a replay, or
    an older event arriving after a newer one, posts nothing."""
    top_up = _top_up_for_charge(obj, charge_id=obj["id"])
    refunded_mills = obj["amount_refunded"] * 10
    if refunded_mills > top_up.amount_mills:
        raise ApplicationError(
            "refund_too_large",
            f"{refunded_mills} mills refunded on a top-up of {top_up.amount_mills} mills.",
        )
    posted_before = (
        LedgerEntry.objects.filter(
            transaction__kind=LedgerTransaction.Kind.REFUND,
            transaction__idempotency_key__startswith=f"refund:{obj['id']}:",
            account__kind=Kind.FUNDING_CLEARING,
        ).aggregate(total=Sum("amount_mills"))["total"]
        or 0
    )
    difference = refunded_mills - posted_before
    if difference <= 0:
        return
    _take_back(
        top_up=top_up,
        amount_mills=difference,
        idempotency_key=f"refund:{obj['id']}:{obj['amount_refunded']}",
        kind=LedgerTransaction.Kind.REFUND,
        external_id=_refund_id(obj, amount_cents=difference // 10) or obj["id"],
        memo=f"Refund on top-up {top_up.pk}",
    )


def dispute_created(obj: dict, event: StripeEvent) -> None:
    """The payer disputed the charge: Stripe withdraws the disputed amount at once. An inquiry
    (status `warning_*`) withdraws nothing."""
    if obj["status"].startswith("warning_"):
        return
    top_up = _top_up_for_charge(obj, charge_id=_id(obj["charge"]))
    _dispute_withdrawn(top_up=top_up, dispute=obj)


def dispute_closed(obj: dict, event: StripeEvent) -> None:
    """A dispute ended: `won` gives the withdrawn amount back; `lost` leaves it withdrawn.
    The withdrawal is posted here too if its `created` event never came."""
    if obj["status"] not in ("won", "lost"):
        return
    top_up = _top_up_for_charge(obj, charge_id=_id(obj["charge"]))
    amount_mills = _dispute_withdrawn(top_up=top_up, dispute=obj)
    if obj["status"] == "won":
        _give_back(
            top_up=top_up,
            amount_mills=amount_mills,
            idempotency_key=f"dispute-won:{obj['id']}",
            external_id=obj["id"],
        )


def _dispute_withdrawn(*, top_up: TopUp, dispute: dict) -> int:
    amount_mills = dispute["amount"] * 10
    if dispute["currency"] != "usd" or amount_mills > top_up.amount_mills:
        raise ApplicationError(
            "dispute_amount_invalid",
            f"Dispute {dispute['id']} of {dispute['amount']} {dispute['currency']} cents on "
            f"top-up {top_up.pk} of {top_up.amount_mills} mills.",
        )
    _take_back(
        top_up=top_up,
        amount_mills=amount_mills,
        idempotency_key=f"dispute:{dispute['id']}",
        kind=LedgerTransaction.Kind.DISPUTE,
        external_id=dispute["id"],
        memo=f"Dispute ({dispute.get('reason') or 'no reason'}) on top-up {top_up.pk}",
    )
    return amount_mills


def _take_back(
    *,
    top_up: TopUp,
    amount_mills: int,
    idempotency_key: str,
    kind: str,
    external_id: str,
    memo: str,
) -> LedgerTransaction:
    """Debit the owner's available balance, even below zero (a debt), back to the outside."""
    clearing, available = _accounts(top_up)
    taken = ledger.ledger_post(
        idempotency_key=idempotency_key,
        kind=kind,
        memo=memo,
        entries=[(available, -amount_mills), (clearing, amount_mills)],
    )
    return _with_external_id(taken, external_id)


def _give_back(
    *, top_up: TopUp, amount_mills: int, idempotency_key: str, external_id: str
) -> LedgerTransaction:
    clearing, available = _accounts(top_up)
    returned = ledger.ledger_post(
        idempotency_key=idempotency_key,
        kind=LedgerTransaction.Kind.DISPUTE_WON,
        memo=f"Dispute won on top-up {top_up.pk}",
        entries=[(clearing, -amount_mills), (available, amount_mills)],
    )
    return _with_external_id(returned, external_id)


def _accounts(top_up: TopUp) -> tuple[LedgerAccount, LedgerAccount]:
    """The outside world's side and the owner's available balance."""
    return (
        ledger.account_get(kind=Kind.FUNDING_CLEARING, owner=ledger.PLATFORM),
        ledger.account_get(kind=Kind.REQUESTER_AVAILABLE, owner=top_up.owner),
    )


def _with_external_id(posted: LedgerTransaction, external_id: str) -> LedgerTransaction:
    if not posted.external_id:
        posted.external_id = external_id
        posted.save(update_fields=["external_id"])
    return posted


def _refund_id(charge: dict, *, amount_cents: int) -> str:
    """The refund a difference is for, when the charge lists it (newest first)."""
    refunds = (charge.get("refunds") or {}).get("data") or []
    return next((r["id"] for r in refunds if r["amount"] == amount_cents), "")


# --- finding the top-up an event is about ------------------------------------------------------


def _top_up_locked(
    *,
    checkout_session_id: str = "",
    payment_intent_id: str = "",
    charge_id: str = "",
    top_up_id: Any = None,
) -> TopUp:
    """The top-up named by a Stripe id (or by the top_up_id our metadata carries), locked for
    the rest of the transaction."""
    locked = TopUp.objects.select_for_update()
    for field, value in (
        ("checkout_session_id", checkout_session_id),
        ("payment_intent_id", payment_intent_id),
        ("charge_id", charge_id),
    ):
        if value and (top_up := locked.filter(**{field: value}).first()) is not None:
            return top_up
    if top_up_id and str(top_up_id).isdigit():
        top_up = locked.filter(pk=int(top_up_id)).first()
        if top_up is not None:
            return top_up
    named = checkout_session_id or payment_intent_id or charge_id
    raise ApplicationError("top_up_not_found", f"No top-up is paid by {named}.", status=404)


def _top_up_for_charge(obj: dict, *, charge_id: str) -> TopUp:
    """For a charge or a dispute: by its charge, else its payment intent, else our metadata."""
    top_up = _top_up_locked(
        charge_id=charge_id,
        payment_intent_id=_id(obj.get("payment_intent")),
        top_up_id=_metadata(obj).get("top_up_id"),
    )
    if charge_id and not top_up.charge_id:
        top_up.charge_id = charge_id
        top_up.save(update_fields=["charge_id"])
    return top_up


def _id(value: Any) -> str:
    """A Stripe reference, given as its id or as the expanded object."""
    if isinstance(value, dict):
        return value.get("id") or ""
    return value or ""


def _metadata(obj: dict) -> dict:
    return obj.get("metadata") or {}
