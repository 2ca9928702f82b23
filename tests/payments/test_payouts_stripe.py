"""Payouts on the Stripe rail, against the fake Stripe over HTTP: payout accounts and their
webhooks, transfers, refusals, reversals, and the fault test (a 500, then a timeout, then a
retry: one transfer, and the amount never both available and sent)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from marketplace.celery import app as celery_app
from marketplace.errors import ApplicationError
from payments import stripe_gateway
from payments import tasks as payment_tasks
from payments.models import LedgerTransaction, Payout, PayoutAccount, StripeEvent
from payments.services import payouts as services
from tests.conftest import stripe_webhook_post
from tests.payments.test_payouts import (
    clearing,
    earn_available,
    entries,
    money,
    veteran_worker,
)
from tests.payments.test_payouts import (
    finance as finance,  # noqa: F401 - the fixture
)

pytestmark = pytest.mark.django_db
Kind = services.Kind
REFRESH = "https://groundwork.example/payouts/refresh"
RETURN = "https://groundwork.example/payouts/done"


def connect(owner: str) -> str:
    return services.payout_account_connect(
        owner=owner, email=f"{owner.replace(':', '-')}@example.com", refresh_url=REFRESH,
        return_url=RETURN,
    )  # fmt: skip


def deliver(stripe, capture, type_: str, obj: dict, *, account: str | None = None) -> StripeEvent:
    """Post a signed event to the webhook endpoint and handle it, as Stripe would deliver it."""
    event = stripe.event(type_, obj, account=account)
    with capture(execute=True):
        response = stripe_webhook_post(APIClient(), event)
    assert response.status_code == 200
    return StripeEvent.objects.get(event_id=event["id"])


def account_object(stripe, account_id: str, **changes) -> dict:
    """The account as Stripe would describe it in account.updated."""
    return {**stripe.objects[account_id], **changes}


def onboarded(stripe, account_id: str, *, fingerprint: str = "fp_bank_1") -> dict:
    return account_object(
        stripe,
        account_id,
        details_submitted=True,
        payouts_enabled=True,
        requirements={"currently_due": [], "disabled_reason": None},
        external_accounts={
            "object": "list",
            "data": [{"id": "ba_1", "object": "bank_account", "fingerprint": fingerprint}],
            "has_more": False,
        },
    )


def ready_payee(stripe, capture, *, fingerprint: str = "fp_bank_1", worker=None) -> str:
    """A worker whose payout account Stripe says can receive payouts."""
    owner = (worker or veteran_worker()).ledger_owner
    connect(owner)
    account = PayoutAccount.objects.get(owner=owner)
    obj = onboarded(stripe, account.stripe_account_id, fingerprint=fingerprint)
    assert deliver(stripe, capture, "account.updated", obj).status == StripeEvent.Status.PROCESSED
    return owner


def transfers(stripe) -> list[dict]:
    return [o for o in stripe.objects.values() if o["object"] == "transfer"]


def sent_count() -> int:
    return LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.PAYOUT_SENT).count()


# --- payout accounts ----------------------------------------------------------------------------
def test_connecting_without_stripe_is_refused():
    owner = veteran_worker().ledger_owner

    with pytest.raises(ApplicationError) as refused:
        connect(owner)

    assert (refused.value.code, refused.value.status) == ("stripe_not_configured", 400)
    assert PayoutAccount.objects.count() == 0


def test_connecting_creates_one_express_account_and_a_fresh_link_each_time(stripe):
    owner = veteran_worker().ledger_owner

    first = connect(owner)
    second = connect(owner)

    account = PayoutAccount.objects.get(owner=owner)
    assert account.status == PayoutAccount.Status.ONBOARDING
    [created] = stripe.calls("POST", "/v1/accounts")
    assert created["idempotency_key"] == f"payout-account:{owner}"
    assert created["params"]["type"] == "express"
    assert created["params"]["metadata"] == {"owner": owner}
    assert account.stripe_account_id == stripe.objects[account.stripe_account_id]["id"]
    links = stripe.calls("POST", "/v1/account_links")
    assert [link["params"]["account"] for link in links] == [account.stripe_account_id] * 2
    assert links[0]["params"]["return_url"] == RETURN
    assert first != second
    assert first.startswith(f"https://connect.stripe.com/setup/e/{account.stripe_account_id}/")


def test_account_updated_makes_the_account_ready_then_restricted(
    stripe, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    owner = veteran_worker().ledger_owner
    connect(owner)
    account_id = PayoutAccount.objects.get(owner=owner).stripe_account_id

    deliver(stripe, capture, "account.updated", account_object(stripe, account_id))
    onboarding = PayoutAccount.objects.get(owner=owner)
    deliver(stripe, capture, "account.updated", onboarded(stripe, account_id))
    ready = PayoutAccount.objects.get(owner=owner)
    deliver(stripe, capture, "account.updated", onboarded(stripe, account_id))
    still_ready = PayoutAccount.objects.get(owner=owner)
    restricted_obj = account_object(
        stripe,
        account_id,
        details_submitted=True,
        payouts_enabled=False,
        requirements={"currently_due": ["individual.verification.document"]},
    )
    deliver(stripe, capture, "account.updated", restricted_obj)
    restricted = PayoutAccount.objects.get(owner=owner)

    assert onboarding.status == PayoutAccount.Status.ONBOARDING
    assert onboarding.requirements_due == [
        "external_account",
        "individual.dob.day",
        "tos_acceptance.date",
    ]
    assert (ready.status, ready.payouts_enabled, ready.details_submitted) == ("ready", True, True)
    assert (ready.requirements_due, ready.bank_fingerprint) == ([], "fp_bank_1")
    assert ready.ready_at is not None
    assert still_ready.ready_at == ready.ready_at
    assert (restricted.status, restricted.payouts_enabled) == ("restricted", False)
    assert restricted.requirements_due == ["individual.verification.document"]
    assert restricted.ready_at == ready.ready_at


def test_an_update_of_an_account_we_do_not_know_fails_the_event(
    stripe, django_capture_on_commit_callbacks
):
    obj = {"id": "acct_unknown", "object": "account", "payouts_enabled": True}

    stored = deliver(stripe, django_capture_on_commit_callbacks, "account.updated", obj)

    assert stored.status == StripeEvent.Status.FAILED
    assert stored.error.startswith("unknown_account")
    assert PayoutAccount.objects.count() == 0


def test_the_stripe_rail_needs_a_ready_payout_account(stripe, django_capture_on_commit_callbacks):
    worker = veteran_worker()
    owner = worker.ledger_owner
    earn_available(owner, 20_000)

    with pytest.raises(ApplicationError) as no_account:
        services.payout_request(owner=owner)
    connect(owner)
    with pytest.raises(ApplicationError) as onboarding:
        services.payout_request(owner=owner)

    assert no_account.value.code == onboarding.value.code == "payout_account_not_ready"
    assert Payout.objects.count() == 0
    assert services.payouts_build() == []
    ready_payee(stripe, django_capture_on_commit_callbacks, worker=worker)
    payout = services.payout_request(owner=owner)
    assert (payout.rail, payout.payout_account.owner) == (Payout.Rail.STRIPE, owner)
    assert money(owner) == {"pending": 0, "available": 0, "in_payout": 20_000, "paid": 0}


def test_a_bank_account_behind_another_payee_flags_the_next_payout(
    stripe, finance, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    first = ready_payee(stripe, capture, fingerprint="fp_shared")
    second = ready_payee(stripe, capture, fingerprint="fp_own")
    earn_available(second, 10_000)
    before = services.payout_request(owner=second)
    account = PayoutAccount.objects.get(owner=second)

    obj = onboarded(stripe, account.stripe_account_id, fingerprint="fp_shared")
    deliver(stripe, capture, "account.updated", obj)
    services.payout_reject(payout=before, actor=finance, note="Checking the bank.")
    after = services.payout_request(owner=second)

    connected = {
        "code": "new_account",
        "detail": f"The payout account was connected on {account.created_at:%Y-%m-%d}.",
    }
    assert before.flags == [connected]
    assert after.flags == [
        connected,
        {
            "code": "shared_payout_account",
            "detail": f"The same bank account receives the payouts of {first}.",
        },
    ]


def test_a_failed_bank_payout_restricts_the_payout_account(
    stripe, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    owner = ready_payee(stripe, capture)
    account = PayoutAccount.objects.get(owner=owner)
    bank_payout = {
        "id": "po_1",
        "object": "payout",
        "amount": 2_000,
        "currency": "usd",
        "status": "failed",
        "failure_code": "account_closed",
        "failure_message": "The bank account has been closed.",
    }

    stored = deliver(stripe, capture, "payout.failed", bank_payout,
                     account=account.stripe_account_id)  # fmt: skip

    account.refresh_from_db()
    assert stored.status == StripeEvent.Status.PROCESSED
    assert (account.status, account.requirements_due) == ("restricted", ["external_account"])
    earn_available(owner, 20_000)
    with pytest.raises(ApplicationError) as refused:
        services.payout_request(owner=owner)
    assert refused.value.code == "payout_account_not_ready"


# --- transfers ----------------------------------------------------------------------------------
def test_approval_sends_one_transfer_then_transfer_created_marks_it_paid(
    stripe, finance, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    owner = ready_payee(stripe, capture)
    earn_available(owner, 30_007)
    payout = services.payout_request(owner=owner)
    destination = PayoutAccount.objects.get(owner=owner).stripe_account_id
    clearing_before = clearing()

    with capture(execute=True):
        services.payout_approve(payout=payout, actor=finance)

    payout.refresh_from_db()
    [call] = stripe.calls("POST", "/v1/transfers")
    assert call["idempotency_key"] == f"payout:{payout.pk}"
    assert call["params"]["amount"] == "3000"
    assert call["params"]["destination"] == destination
    assert call["params"]["metadata"] == {"payout_id": str(payout.pk), "owner": owner}
    [transfer] = transfers(stripe)
    assert (payout.status, payout.transfer_id) == (Payout.Status.SENT, transfer["id"])
    assert payout.sent_at is not None
    assert money(owner) == {"pending": 0, "available": 7, "in_payout": 0, "paid": 30_000}
    assert clearing() == clearing_before + 30_000
    sent = LedgerTransaction.objects.get(idempotency_key=f"payout:{payout.pk}:sent")
    assert sent.external_id == transfer["id"]

    stored = deliver(stripe, capture, "transfer.created", transfer)

    payout.refresh_from_db()
    assert stored.status == StripeEvent.Status.PROCESSED
    assert (payout.status, payout.paid_at is not None) == (Payout.Status.PAID, True)
    assert money(owner) == {"pending": 0, "available": 7, "in_payout": 0, "paid": 30_000}
    assert sent_count() == 1


def test_a_refused_transfer_fails_the_payout_and_gives_the_amount_back(
    stripe, finance, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    owner = ready_payee(stripe, capture)
    earn_available(owner, 20_000)
    payout = services.payout_request(owner=owner)
    stripe.fail_next("POST", "/v1/transfers", status=400)

    with capture(execute=True):
        services.payout_approve(payout=payout, actor=finance)

    payout.refresh_from_db()
    assert payout.status == Payout.Status.FAILED
    assert payout.failure_reason.startswith("Stripe refused the transfer: ")
    assert (payout.sent_at, payout.transfer_id) == (None, None)
    assert len(stripe.calls("POST", "/v1/transfers")) == 1
    assert money(owner) == {"pending": 0, "available": 20_000, "in_payout": 0, "paid": 0}
    assert entries(f"payout:{payout.pk}:return") == [
        (Kind.PAYOUTS_IN_FLIGHT, owner, -20_000),
        (Kind.WORKER_AVAILABLE, owner, 20_000),
    ]
    assert sent_count() == 0


def test_a_reversed_transfer_fails_the_paid_payout_and_gives_the_amount_back(
    stripe, finance, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    owner = ready_payee(stripe, capture)
    earn_available(owner, 20_000)
    payout = services.payout_request(owner=owner)
    with capture(execute=True):
        services.payout_approve(payout=payout, actor=finance)
    [transfer] = transfers(stripe)
    deliver(stripe, capture, "transfer.created", transfer)
    clearing_before = clearing()
    reversed_transfer = {**transfer, "amount_reversed": transfer["amount"], "reversed": True}

    stored = deliver(stripe, capture, "transfer.reversed", reversed_transfer)
    replay = deliver(stripe, capture, "transfer.reversed", reversed_transfer)

    payout.refresh_from_db()
    assert stored.status == replay.status == StripeEvent.Status.PROCESSED
    assert payout.status == Payout.Status.FAILED
    assert payout.failure_reason == f"Stripe reversed the transfer {transfer['id']}."
    assert money(owner) == {"pending": 0, "available": 20_000, "in_payout": 0, "paid": 0}
    assert clearing() == clearing_before - 20_000
    assert entries(f"payout:{payout.pk}:return") == [
        (Kind.FUNDING_CLEARING, "platform", -20_000),
        (Kind.WORKER_AVAILABLE, owner, 20_000),
    ]


def test_a_partial_reversal_is_left_to_finance(stripe, finance, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    owner = ready_payee(stripe, capture)
    earn_available(owner, 20_000)
    payout = services.payout_request(owner=owner)
    with capture(execute=True):
        services.payout_approve(payout=payout, actor=finance)
    [transfer] = transfers(stripe)

    stored = deliver(stripe, capture, "transfer.reversed", {**transfer, "amount_reversed": 500})

    assert stored.status == StripeEvent.Status.FAILED
    assert stored.error.startswith("partial_reversal")
    assert Payout.objects.get(pk=payout.pk).status == Payout.Status.SENT
    assert money(owner) == {"pending": 0, "available": 0, "in_payout": 0, "paid": 20_000}


def test_transfer_created_posts_the_sending_when_the_answer_was_lost(
    stripe, finance, settings, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    owner = ready_payee(stripe, capture)
    earn_available(owner, 20_000)
    payout = services.payout_request(owner=owner)
    with capture() as queued:
        services.payout_approve(payout=payout, actor=finance)
    assert len(queued) == 1
    stripe.fail_next("POST", "/v1/transfers", delay_seconds=settings.STRIPE_TIMEOUT_SECONDS + 1)

    with pytest.raises(stripe_gateway.StripeError):
        services.payout_send(payout_id=payout.pk)
    [transfer] = transfers(stripe)  # Stripe made it; we never heard
    assert Payout.objects.get(pk=payout.pk).status == Payout.Status.APPROVED
    assert money(owner) == {"pending": 0, "available": 0, "in_payout": 20_000, "paid": 0}

    deliver(stripe, capture, "transfer.created", transfer)
    payout.refresh_from_db()
    assert (payout.status, payout.transfer_id) == (Payout.Status.PAID, transfer["id"])
    assert money(owner) == {"pending": 0, "available": 0, "in_payout": 0, "paid": 20_000}
    sent = LedgerTransaction.objects.get(idempotency_key=f"payout:{payout.pk}:sent")
    assert sent.external_id == transfer["id"]

    assert services.payout_send(payout_id=payout.pk).status == Payout.Status.PAID  # the retry
    assert len(stripe.calls("POST", "/v1/transfers")) == 1
    assert sent_count() == 1


def test_fault_a_500_then_a_timeout_then_a_retry_sends_one_transfer(
    stripe, finance, settings, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    owner = ready_payee(stripe, capture)
    earn_available(owner, 12_345)
    payout = services.payout_request(owner=owner)
    with capture() as queued:  # the task's attempts are made by hand, one by one, below
        services.payout_approve(payout=payout, actor=finance)
    assert len(queued) == 1
    stripe.fail_next("POST", "/v1/transfers", status=500)
    stripe.fail_next("POST", "/v1/transfers", delay_seconds=settings.STRIPE_TIMEOUT_SECONDS + 1)
    unsent = {"pending": 0, "available": 5, "in_payout": 12_340, "paid": 0}

    with pytest.raises(stripe_gateway.StripeError) as server_error:
        services.payout_send(payout_id=payout.pk)
    assert server_error.value.http_status == 500
    assert transfers(stripe) == []
    assert Payout.objects.get(pk=payout.pk).status == Payout.Status.APPROVED
    assert money(owner) == unsent
    assert sent_count() == 0

    with pytest.raises(stripe_gateway.StripeError) as timeout:
        services.payout_send(payout_id=payout.pk)
    assert timeout.value.http_status is None  # no answer in time
    assert len(transfers(stripe)) == 1  # made at Stripe all the same
    assert Payout.objects.get(pk=payout.pk).status == Payout.Status.APPROVED
    assert money(owner) == unsent
    assert sent_count() == 0

    sent = services.payout_send(payout_id=payout.pk)

    [transfer] = transfers(stripe)
    calls = stripe.calls("POST", "/v1/transfers")
    assert [call["idempotency_key"] for call in calls] == [f"payout:{payout.pk}"] * 3
    assert (sent.status, sent.transfer_id) == (Payout.Status.SENT, transfer["id"])
    assert money(owner) == {"pending": 0, "available": 5, "in_payout": 0, "paid": 12_340}
    assert sent_count() == 1


def test_fault_the_send_task_retries_through_a_500_and_a_timeout(
    stripe, finance, settings, monkeypatch, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    # Eager Celery runs a retry at once instead of later, as long as it does not re-raise the
    # error the retry is for (as a worker would not).
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", False)
    owner = ready_payee(stripe, capture)
    earn_available(owner, 12_345)
    payout = services.payout_request(owner=owner)
    stripe.fail_next("POST", "/v1/transfers", status=500)
    stripe.fail_next("POST", "/v1/transfers", delay_seconds=settings.STRIPE_TIMEOUT_SECONDS + 1)

    with capture(execute=True):
        services.payout_approve(payout=payout, actor=finance)

    payout.refresh_from_db()
    [transfer] = transfers(stripe)
    calls = stripe.calls("POST", "/v1/transfers")
    assert [call["idempotency_key"] for call in calls] == [f"payout:{payout.pk}"] * 3
    assert (payout.status, payout.transfer_id) == (Payout.Status.SENT, transfer["id"])
    assert money(owner) == {"pending": 0, "available": 5, "in_payout": 0, "paid": 12_340}
    assert sent_count() == 1


def test_beat_sends_again_an_approved_payout_whose_send_was_lost(
    stripe, finance, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    owner = ready_payee(stripe, capture)
    earn_available(owner, 20_000)
    payout = services.payout_request(owner=owner)
    with capture() as queued:  # the send task's message is lost: it never runs
        services.payout_approve(payout=payout, actor=finance)
    assert len(queued) == 1

    payment_tasks.payouts_send_again_task()  # within the hour: left to the task
    assert transfers(stripe) == []
    Payout.objects.filter(pk=payout.pk).update(
        reviewed_at=timezone.now() - payment_tasks.SEND_AGAIN_AFTER - timedelta(minutes=1)
    )
    payment_tasks.payouts_send_again_task()
    payment_tasks.payouts_send_again_task()  # sent now: nothing left to send

    [transfer] = transfers(stripe)
    payout.refresh_from_db()
    assert (payout.status, payout.transfer_id) == (Payout.Status.SENT, transfer["id"])
    assert len(stripe.calls("POST", "/v1/transfers")) == 1
    assert money(owner) == {"pending": 0, "available": 0, "in_payout": 0, "paid": 20_000}
