"""Requesters' money from outside: Stripe Checkout top-ups, and the refunds and disputes that
take some of it back."""


def checkout_session_completed(obj, event):
    raise NotImplementedError  # SCAFFOLD: written by the funding work


def checkout_session_expired(obj, event):
    raise NotImplementedError  # SCAFFOLD


def payment_intent_succeeded(obj, event):
    raise NotImplementedError  # SCAFFOLD


def charge_refunded(obj, event):
    raise NotImplementedError  # SCAFFOLD


def dispute_created(obj, event):
    raise NotImplementedError  # SCAFFOLD


def dispute_closed(obj, event):
    raise NotImplementedError  # SCAFFOLD
