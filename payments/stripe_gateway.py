"""Everything said to Stripe goes through here: one client, built from settings, and the few
calls the platform makes. Stripe counts in cents; callers pass cents and keep the rest.

Errors are Stripe's own (`stripe.StripeError` and its subclasses); callers decide what a retry
can fix. Every call that creates something sends an idempotency key derived from our own row,
so a retry after a timeout can never create a second one.
"""

from collections.abc import Iterator

import stripe
from django.conf import settings

StripeError = stripe.StripeError
SignatureError = stripe.SignatureVerificationError


def configured() -> bool:
    """Without a secret key the platform runs on the manual rail: no top-ups by card, and
    finance pays approved payouts by hand with a reference."""
    return bool(settings.STRIPE_SECRET_KEY)


def _client() -> stripe.StripeClient:
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE, "connect": settings.STRIPE_CONNECT_BASE},
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS),
    )


def event_verified(*, payload: bytes, signature: str) -> stripe.Event:
    """The event Stripe signed with one of STRIPE_WEBHOOK_SECRETS (the account's endpoint and
    its Connect endpoint sign with secrets of their own), or SignatureError: a bad or missing
    signature, one too old, or no secret configured."""
    refused = SignatureError("No Stripe webhook secret is configured.", signature)
    for secret in settings.STRIPE_WEBHOOK_SECRETS:
        try:
            return stripe.Webhook.construct_event(payload, signature, secret)
        except SignatureError as error:
            refused = error
        except ValueError as error:
            raise SignatureError(f"The payload is not a Stripe event: {error}", signature) from None
    raise refused


def checkout_session_create(
    *,
    amount_cents: int,
    description: str,
    success_url: str,
    cancel_url: str,
    metadata: dict[str, str],
    idempotency_key: str,
) -> stripe.checkout.Session:
    return _client().v1.checkout.sessions.create(
        {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": amount_cents,
                        "product_data": {"name": description},
                    },
                }
            ],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": metadata.get("top_up_id", ""),
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
        },
        {"idempotency_key": idempotency_key},
    )


def express_account_create(
    *, email: str, metadata: dict[str, str], idempotency_key: str
) -> stripe.Account:
    return _client().v1.accounts.create(
        {
            "type": "express",
            "email": email,
            "capabilities": {"transfers": {"requested": True}},
            "metadata": metadata,
        },
        {"idempotency_key": idempotency_key},
    )


def account_link_create(*, account_id: str, refresh_url: str, return_url: str) -> str:
    """The one-time onboarding address of an Express account (it expires within minutes)."""
    link = _client().v1.account_links.create(
        {
            "account": account_id,
            "refresh_url": refresh_url,
            "return_url": return_url,
            "type": "account_onboarding",
        }
    )
    return link.url


def transfer_create(
    *, amount_cents: int, destination: str, metadata: dict[str, str], idempotency_key: str
) -> stripe.Transfer:
    return _client().v1.transfers.create(
        {
            "amount": amount_cents,
            "currency": "usd",
            "destination": destination,
            "metadata": metadata,
        },
        {"idempotency_key": idempotency_key},
    )


def balance_transactions(
    *, created_from: int, created_to: int
) -> Iterator[stripe.BalanceTransaction]:
    """Every balance transaction created in [created_from, created_to) (Unix seconds), with the
    charge, refund, dispute or transfer behind it expanded, page after page."""
    page = _client().v1.balance_transactions.list(
        {
            "created": {"gte": created_from, "lt": created_to},
            "limit": 100,
            "expand": ["data.source"],
        }
    )
    yield from page.auto_paging_iter()
