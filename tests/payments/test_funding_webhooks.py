"""Stripe's word on a top-up: the balance is credited once, by `checkout.session.completed` or
`payment_intent.succeeded` (whichever comes first), and debited by refunds and disputes.

Events are signed for real and posted to the webhook endpoint; their objects are the fake
Stripe's, shaped like Stripe's own (see tests/stripe_fake.py)."""

import pytest
from rest_framework.test import APIClient

from marketplace.errors import ApplicationError
from payments import selectors
from payments.models import LedgerAccount, LedgerEntry, LedgerTransaction, StripeEvent, TopUp
from payments.services import funding, ledger
from tests.concurrency import run_concurrently
from tests.conftest import stripe_webhook_post

pytestmark = pytest.mark.django_db

Kind = LedgerTransaction.Kind


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    """Post a signed event as Stripe does and handle it (after the commit, as in production)."""

    def post(event: dict) -> StripeEvent:
        with django_capture_on_commit_callbacks(execute=True):
            response = stripe_webhook_post(APIClient(), event)
        assert response.status_code == 200, response.content
        return StripeEvent.objects.get(event_id=event["id"])

    return post


def open_top_up(organization, requester, *, amount_mills: int = 25_000) -> TopUp:
    return funding.top_up_create(
        owner=organization.ledger_owner,
        requested_by=requester,
        amount_mills=amount_mills,
        success_url="https://app.example.com/paid",
        cancel_url="https://app.example.com/cancelled",
    )


def available(organization) -> int:
    return selectors.balance_mills(
        kind=LedgerAccount.Kind.REQUESTER_AVAILABLE, owner=organization.ledger_owner
    )


def postings() -> list[tuple[str, str, str, int]]:
    """Every posting to requester balances: (key, kind, external id, amount)."""
    return list(
        LedgerEntry.objects.filter(account__kind=LedgerAccount.Kind.REQUESTER_AVAILABLE)
        .order_by("pk")
        .values_list(
            "transaction__idempotency_key",
            "transaction__kind",
            "transaction__external_id",
            "amount_mills",
        )
    )


# --- paying a top-up ---------------------------------------------------------------------------


def test_a_completed_checkout_session_credits_the_balance_once(
    stripe, organization, requester, deliver
):
    top_up = open_top_up(organization, requester)
    session, payment_intent, _ = stripe.checkout_session_pay(top_up.checkout_session_id)

    stored = deliver(stripe.event("checkout.session.completed", session))

    top_up.refresh_from_db()
    assert stored.status == StripeEvent.Status.PROCESSED, stored.error
    assert top_up.status == TopUp.Status.PAID
    assert top_up.paid_at is not None
    assert top_up.payment_intent_id == payment_intent["id"]
    assert available(organization) == 25_000
    assert postings() == [(f"top-up:{top_up.pk}:paid", Kind.FUNDING, payment_intent["id"], 25_000)]
    assert selectors.balance_mills(kind="funding_clearing", owner="platform") == -25_000


def test_payment_intent_succeeded_after_the_session_changes_nothing_but_names_the_charge(
    stripe, organization, requester, deliver
):
    top_up = open_top_up(organization, requester)
    session, payment_intent, charge = stripe.checkout_session_pay(top_up.checkout_session_id)
    deliver(stripe.event("checkout.session.completed", session))

    stored = deliver(stripe.event("payment_intent.succeeded", payment_intent))

    top_up.refresh_from_db()
    assert stored.status == StripeEvent.Status.PROCESSED, stored.error
    assert available(organization) == 25_000
    assert top_up.charge_id == charge["id"]
    assert postings() == [(f"top-up:{top_up.pk}:paid", Kind.FUNDING, charge["id"], 25_000)]


def test_payment_intent_succeeded_first_credits_and_the_session_after_changes_nothing(
    stripe, organization, requester, deliver
):
    top_up = open_top_up(organization, requester)
    session, payment_intent, charge = stripe.checkout_session_pay(top_up.checkout_session_id)

    first = deliver(stripe.event("payment_intent.succeeded", payment_intent))
    top_up.refresh_from_db()
    paid_at = top_up.paid_at
    assert first.status == StripeEvent.Status.PROCESSED, first.error
    assert available(organization) == 25_000

    second = deliver(stripe.event("checkout.session.completed", session))

    top_up.refresh_from_db()
    assert second.status == StripeEvent.Status.PROCESSED, second.error
    assert top_up.status == TopUp.Status.PAID
    assert top_up.paid_at == paid_at
    assert (top_up.payment_intent_id, top_up.charge_id) == (payment_intent["id"], charge["id"])
    assert available(organization) == 25_000
    assert postings() == [(f"top-up:{top_up.pk}:paid", Kind.FUNDING, charge["id"], 25_000)]


def test_a_replayed_event_changes_nothing(stripe, organization, requester, deliver):
    top_up = open_top_up(organization, requester)
    session, _, _ = stripe.checkout_session_pay(top_up.checkout_session_id)
    event = stripe.event("checkout.session.completed", session)
    deliver(event)

    with_replay = stripe_webhook_post(APIClient(), event)

    assert with_replay.json() == {"received": True, "duplicate": True}
    assert available(organization) == 25_000
    assert LedgerTransaction.objects.count() == 1


def test_an_unpaid_completed_session_credits_nothing_until_its_payment_succeeds(
    stripe, organization, requester, deliver
):
    top_up = open_top_up(organization, requester)
    session, _, _ = stripe.checkout_session_pay(top_up.checkout_session_id)
    pending = {**session, "payment_status": "unpaid"}  # a bank debit, still on its way

    deliver(stripe.event("checkout.session.completed", pending))

    top_up.refresh_from_db()
    assert top_up.status == TopUp.Status.OPEN
    assert available(organization) == 0

    deliver(stripe.event("checkout.session.async_payment_succeeded", session))

    top_up.refresh_from_db()
    assert top_up.status == TopUp.Status.PAID
    assert available(organization) == 25_000


def test_a_paid_amount_that_differs_from_the_top_up_is_refused(
    stripe, organization, requester, deliver
):
    top_up = open_top_up(organization, requester)
    session, _, _ = stripe.checkout_session_pay(top_up.checkout_session_id)

    stored = deliver(stripe.event("checkout.session.completed", {**session, "amount_total": 2_400}))

    top_up.refresh_from_db()
    assert stored.status == StripeEvent.Status.FAILED
    assert stored.error.startswith("amount_mismatch: Stripe says 2400 usd cents were paid")
    assert top_up.status == TopUp.Status.OPEN
    assert LedgerTransaction.objects.count() == 0


def test_a_payment_for_no_top_up_fails_the_event_and_credits_nothing(stripe, deliver):
    stored = deliver(
        stripe.event(
            "payment_intent.succeeded",
            {
                "id": "pi_test_elsewhere",
                "object": "payment_intent",
                "amount": 1_000,
                "amount_received": 1_000,
                "currency": "usd",
                "latest_charge": "ch_test_elsewhere",
                "metadata": {},
                "status": "succeeded",
            },
        )
    )

    assert stored.status == StripeEvent.Status.FAILED
    assert stored.error == "top_up_not_found: No top-up is paid by pi_test_elsewhere."
    assert LedgerTransaction.objects.count() == 0


def test_another_payment_naming_a_paid_top_up_is_refused(stripe, organization, requester, deliver):
    top_up = open_top_up(organization, requester)
    session, payment_intent, _ = stripe.checkout_session_pay(top_up.checkout_session_id)
    deliver(stripe.event("checkout.session.completed", session))
    other = {**payment_intent, "id": "pi_test_other", "latest_charge": "ch_test_other"}

    stored = deliver(stripe.event("payment_intent.succeeded", other))

    top_up.refresh_from_db()
    assert stored.status == StripeEvent.Status.FAILED
    assert stored.error == (
        f"top_up_mismatch: Top-up {top_up.pk} was paid by {payment_intent['id']}, "
        "not pi_test_other."
    )
    assert top_up.payment_intent_id == payment_intent["id"]
    assert top_up.charge_id == ""
    assert available(organization) == 25_000


def test_an_expired_session_expires_an_open_top_up_and_not_a_paid_one(
    stripe, organization, requester, deliver
):
    unpaid = open_top_up(organization, requester)
    paid = open_top_up(organization, requester, amount_mills=10_000)
    session, _, _ = stripe.checkout_session_pay(paid.checkout_session_id)
    deliver(stripe.event("checkout.session.completed", session))

    deliver(
        stripe.event(
            "checkout.session.expired", stripe.checkout_session_expire(unpaid.checkout_session_id)
        )
    )
    deliver(stripe.event("checkout.session.expired", {**session, "status": "expired"}))

    unpaid.refresh_from_db()
    paid.refresh_from_db()
    assert unpaid.status == TopUp.Status.EXPIRED
    assert paid.status == TopUp.Status.PAID
    assert available(organization) == 10_000


# --- races ---------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_one_completed_event_delivered_four_times_at_once_credits_once(
    stripe, organization, requester
):
    top_up = open_top_up(organization, requester)
    session, _, _ = stripe.checkout_session_pay(top_up.checkout_session_id)
    event = stripe.event("checkout.session.completed", session)

    outcomes = run_concurrently(4, lambda index: stripe_webhook_post(APIClient(), event))

    assert all(outcome.succeeded for outcome in outcomes), outcomes
    assert sorted(o.value.json()["duplicate"] for o in outcomes) == [False, True, True, True]
    assert StripeEvent.objects.get(event_id=event["id"]).status == StripeEvent.Status.PROCESSED
    assert available(organization) == 25_000
    assert LedgerTransaction.objects.filter(kind=Kind.FUNDING).count() == 1
    assert TopUp.objects.get().status == TopUp.Status.PAID


@pytest.mark.django_db(transaction=True)
def test_the_session_and_the_payment_intent_events_at_once_credit_once(
    stripe, organization, requester
):
    top_up = open_top_up(organization, requester)
    session, payment_intent, charge = stripe.checkout_session_pay(top_up.checkout_session_id)
    events = [
        stripe.event("checkout.session.completed", session),
        stripe.event("payment_intent.succeeded", payment_intent),
    ] * 2  # each delivered twice, all four at the same moment

    outcomes = run_concurrently(4, lambda index: stripe_webhook_post(APIClient(), events[index]))

    assert all(outcome.succeeded for outcome in outcomes), outcomes
    statuses = set(StripeEvent.objects.values_list("status", flat=True))
    assert statuses == {StripeEvent.Status.PROCESSED}
    assert StripeEvent.objects.count() == 2
    assert available(organization) == 25_000
    assert postings() == [(f"top-up:{top_up.pk}:paid", Kind.FUNDING, charge["id"], 25_000)]
    top_up.refresh_from_db()
    assert (top_up.payment_intent_id, top_up.charge_id) == (payment_intent["id"], charge["id"])


# --- refunds and disputes ----------------------------------------------------------------------


def paid_top_up(stripe, organization, requester, deliver, *, amount_mills: int = 25_000):
    top_up = open_top_up(organization, requester, amount_mills=amount_mills)
    session, payment_intent, charge = stripe.checkout_session_pay(top_up.checkout_session_id)
    deliver(stripe.event("checkout.session.completed", session))
    deliver(stripe.event("payment_intent.succeeded", payment_intent))
    return top_up, charge


def test_a_partial_then_a_full_refund_debits_exactly_what_was_refunded(
    stripe, organization, requester, deliver
):
    top_up, charge = paid_top_up(stripe, organization, requester, deliver)
    partial = stripe.charge_refund(charge["id"], 1_000)
    first = stripe.event("charge.refunded", partial)

    deliver(first)

    assert available(organization) == 15_000
    full = stripe.charge_refund(charge["id"])
    deliver(stripe.event("charge.refunded", full))
    stripe_webhook_post(APIClient(), first)  # a replay of the first

    first_refund, second_refund = partial["refunds"]["data"][0], full["refunds"]["data"][0]
    assert (full["amount_refunded"], full["refunded"]) == (2_500, True)
    assert available(organization) == 0
    assert postings() == [
        (f"top-up:{top_up.pk}:paid", Kind.FUNDING, charge["id"], 25_000),
        (f"refund:{charge['id']}:1000", Kind.REFUND, first_refund["id"], -10_000),
        (f"refund:{charge['id']}:2500", Kind.REFUND, second_refund["id"], -15_000),
    ]
    refunds = [t for t in stripe.balance_transactions if t["type"] == "refund"]
    assert [(t["source"], t["amount"]) for t in refunds] == [
        (first_refund["id"], -1_000),
        (second_refund["id"], -1_500),
    ]


def test_refund_events_out_of_order_debit_the_total_once(stripe, organization, requester, deliver):
    top_up, charge = paid_top_up(stripe, organization, requester, deliver)
    partial = stripe.charge_refund(charge["id"], 400)
    later = stripe.charge_refund(charge["id"], 600)

    deliver(stripe.event("charge.refunded", later))  # amount_refunded 1000 so far
    stored = deliver(stripe.event("charge.refunded", partial))  # only 400 so far: nothing new

    assert stored.status == StripeEvent.Status.PROCESSED
    assert available(organization) == 15_000
    assert [p for p in postings() if p[1] == Kind.REFUND] == [
        (f"refund:{charge['id']}:1000", Kind.REFUND, charge["id"], -10_000)
    ]


def test_a_dispute_debits_the_amount_and_winning_it_credits_it_back(
    stripe, organization, requester, deliver
):
    top_up, charge = paid_top_up(stripe, organization, requester, deliver)
    dispute = stripe.dispute_open(charge["id"])

    deliver(stripe.event("charge.dispute.created", dispute))

    assert available(organization) == 0
    won = stripe.dispute_close(dispute["id"], status="won")
    deliver(stripe.event("charge.dispute.closed", won))

    assert available(organization) == 25_000
    assert postings()[1:] == [
        (f"dispute:{dispute['id']}", Kind.DISPUTE, dispute["id"], -25_000),
        (f"dispute-won:{dispute['id']}", Kind.DISPUTE_WON, dispute["id"], 25_000),
    ]
    assert [(t["source"], t["amount"]) for t in stripe.balance_transactions[1:]] == [
        (dispute["id"], -2_500),
        (dispute["id"], 2_500),
    ]


def test_a_lost_dispute_keeps_the_amount_debited_once(stripe, organization, requester, deliver):
    top_up, charge = paid_top_up(stripe, organization, requester, deliver)
    dispute = stripe.dispute_open(charge["id"], amount=1_000, reason="product_not_received")
    deliver(stripe.event("charge.dispute.created", dispute))

    lost = deliver(
        stripe.event("charge.dispute.closed", stripe.dispute_close(dispute["id"], status="lost"))
    )

    assert lost.status == StripeEvent.Status.PROCESSED
    assert available(organization) == 15_000
    assert postings()[1:] == [
        (f"dispute:{dispute['id']}", Kind.DISPUTE, dispute["id"], -10_000),
    ]


def test_a_closed_dispute_whose_opening_never_came_is_withdrawn_then_settled(
    stripe, organization, requester, deliver
):
    top_up, charge = paid_top_up(stripe, organization, requester, deliver)
    dispute = stripe.dispute_open(charge["id"], amount=1_000)

    deliver(
        stripe.event("charge.dispute.closed", stripe.dispute_close(dispute["id"], status="won"))
    )

    assert available(organization) == 25_000
    assert [p[1] for p in postings()] == [Kind.FUNDING, Kind.DISPUTE, Kind.DISPUTE_WON]


def test_an_inquiry_takes_nothing(stripe, organization, requester, deliver):
    top_up, charge = paid_top_up(stripe, organization, requester, deliver)
    inquiry = {**stripe.dispute_open(charge["id"]), "status": "warning_needs_response"}

    deliver(stripe.event("charge.dispute.created", inquiry))
    deliver(stripe.event("charge.dispute.closed", {**inquiry, "status": "warning_closed"}))

    assert available(organization) == 25_000
    assert LedgerTransaction.objects.count() == 1


def test_a_requester_in_debt_after_a_dispute_cannot_spend(stripe, organization, requester, deliver):
    payer = organization.ledger_owner
    top_up, charge = paid_top_up(stripe, organization, requester, deliver)
    ledger.escrow_reserve(
        payer=payer, escrow_owner="job:1", amount_mills=20_000, idempotency_key="job:1:escrow"
    )
    deliver(stripe.event("charge.dispute.created", stripe.dispute_open(charge["id"])))
    assert available(organization) == -20_000
    paid_top_up(stripe, organization, requester, deliver, amount_mills=10_000)
    assert available(organization) == -10_000
    before = LedgerTransaction.objects.count()

    with pytest.raises(ApplicationError) as escrow:
        ledger.escrow_reserve(
            payer=payer, escrow_owner="job:2", amount_mills=1, idempotency_key="job:2:escrow"
        )
    with pytest.raises(ApplicationError) as bonus:
        ledger.bonus_pay(
            payer=payer, payee_owner="worker:1", amount_mills=1, idempotency_key="bonus:1"
        )

    assert escrow.value.code == bonus.value.code == "insufficient_balance"
    assert escrow.value.message == (
        "The job needs 1 mills in escrow but the balance is -10000 mills."
    )
    assert LedgerTransaction.objects.count() == before
    assert available(organization) == -10_000


def test_the_charge_shows_in_stripes_balance_less_its_fee(stripe, organization, requester, deliver):
    top_up, charge = paid_top_up(stripe, organization, requester, deliver)

    [txn] = stripe.balance_transactions
    assert (txn["type"], txn["source"], txn["amount"], txn["fee"], txn["net"]) == (
        "charge",
        charge["id"],
        2_500,
        103,
        2_397,
    )
