"""A payee's money through the API: `worker/earnings`, `worker/payouts`, `worker/payout-account`
and the vendor's three. Earnings are walked through the services: approved work is pending, the
hold's end makes it available, a payout request puts it in a payout, finance paying it makes it
paid; a worker or vendor only ever sees their own."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from marketplace.services import offers
from payments.models import LedgerTransaction, Payout, PayoutAccount
from payments.services import ledger
from payments.services import payouts as payout_services
from tasks import services
from tasks.models import Assignment
from tests.conftest import bearer_client, stripe_webhook_post
from tests.factories import UserFactory, WorkerFactory, job_in_progress
from tests.marketplace.test_vendor_offers import join, vendor_job, vendor_with_teams
from workforce.models import Worker

pytestmark = pytest.mark.django_db

CAT = {"crowd-image-classifier": {"label": "cat"}}
DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def money_settings(settings):
    settings.EARNINGS_HOLD_DAYS = 7
    settings.PAYOUT_MINIMUM_MILLS = 100


def approved(*, worker: Worker, job) -> Assignment:
    """The worker answers the job's next object and the requester approves it."""
    assignment, created = services.assignment_claim(worker=worker, job=job)
    assert created
    assignment = services.assignment_submit(assignment=assignment, answer=CAT)
    return services.assignment_approve(assignment=assignment)


def released(days: int = 8) -> None:
    """The hold is over for everything earned until now."""
    ledger.earnings_release_due(now=timezone.now() + days * DAY)


def balances(body: dict) -> dict:
    return {key: body[key] for key in body if key not in ("count", "next", "previous", "results")}


def summary(body: dict) -> list[tuple]:
    return [
        (e["kind"], e["assignment_id"], e["job_name"], e["amount"], e["state"], e["payout_id"])
        for e in body["results"]
    ]


def finance_user():
    user = UserFactory()
    user.is_finance = True
    user.save(update_fields=["is_finance"])
    return user


# --- the states of an earning, walked through the services --------------------------------------


def test_earnings_walk_from_pending_to_available_to_in_a_payout_to_paid(organization, worker):
    # Given two approved answers at $0.050 on "pets" and a $0.100 bonus on the second
    job = job_in_progress(organization, objects=3)
    first = approved(worker=worker, job=job)
    second = approved(worker=worker, job=job)
    bonus, _ = services.assignment_bonus(
        assignment=second, amount_mills=100, reason="Careful work.", unique_request_token="t1"
    )
    client = bearer_client(worker.user)

    # When the worker reads their earnings: all three are pending until the hold is over
    pending = client.get("/api/v1/worker/earnings").json()
    assert balances(pending) == {
        "pending": "0.200", "pending_mills": 200, "available": "0.000", "available_mills": 0,
        "in_payout": "0.000", "in_payout_mills": 0, "paid": "0.000", "paid_mills": 0,
    }  # fmt: skip
    assert pending["count"] == 3
    assert summary(pending) == [
        ("bonus", second.pk, "pets", "0.100", "pending", None),
        ("reward", second.pk, "pets", "0.050", "pending", None),
        ("reward", first.pk, "pets", "0.050", "pending", None),
    ]
    bonus_row = pending["results"][0]
    earning = LedgerTransaction.objects.get(pk=bonus_row["id"])
    assert earning.idempotency_key == f"bonus:{organization.pk}:t1"
    assert (bonus_row["bonus_reason"], bonus_row["job_title"]) == ("Careful work.", "Cat or dog?")
    assert bonus_row["approved_at"] == earning.created_at.isoformat().replace("+00:00", "Z")
    assert bonus_row["available_from"] == (earning.created_at + 7 * DAY).isoformat().replace(
        "+00:00", "Z"
    )
    assert bonus_row["released_at"] is None

    # When the hold is over: available
    released()
    available = client.get("/api/v1/worker/earnings").json()
    assert (available["pending_mills"], available["available_mills"]) == (0, 200)
    assert {e["state"] for e in available["results"]} == {"available"}
    assert all(e["released_at"] and e["available_from"] is None for e in available["results"])

    # When the worker asks for a payout: all of it is in the payout
    requested = client.post("/api/v1/worker/payouts")
    assert requested.status_code == 201, requested.json()
    payout = Payout.objects.get()
    assert {k: requested.json()[k] for k in ("id", "amount", "amount_mills", "status", "rail")} == {
        "id": payout.pk, "amount": "0.200", "amount_mills": 200, "status": "in_review",
        "rail": "manual",
    }  # fmt: skip
    in_payout = client.get("/api/v1/worker/earnings").json()
    assert (in_payout["available_mills"], in_payout["in_payout_mills"]) == (0, 200)
    assert {(e["state"], e["payout_id"]) for e in in_payout["results"]} == {
        ("in_payout", payout.pk)
    }

    # When finance approves it and pays it by hand (manual rail): paid
    finance = finance_user()
    payout_services.payout_approve(payout=payout, actor=finance)
    payout_services.payout_mark_paid(payout=payout, actor=finance, reference="BANK-77")
    paid = client.get("/api/v1/worker/earnings").json()
    assert (paid["in_payout_mills"], paid["paid"], paid["paid_mills"]) == (0, "0.200", 200)
    assert {(e["state"], e["payout_id"]) for e in paid["results"]} == {("paid", payout.pk)}
    (listed,) = client.get("/api/v1/worker/payouts").json()["results"]
    payout.refresh_from_db()
    assert (listed["status"], listed["paid_at"], listed["failed_at"]) == (
        "paid",
        payout.paid_at.isoformat().replace("+00:00", "Z"),
        None,
    )


def test_a_rejected_payout_gives_the_earnings_back_to_available(organization, worker):
    job = job_in_progress(organization, objects=2)
    approved(worker=worker, job=job)
    approved(worker=worker, job=job)
    released()
    client = bearer_client(worker.user)
    assert client.post("/api/v1/worker/payouts").status_code == 201
    payout = Payout.objects.get()

    payout_services.payout_reject(payout=payout, actor=finance_user(), note="Looks odd.")

    body = client.get("/api/v1/worker/earnings").json()
    assert (body["available_mills"], body["in_payout_mills"], body["paid_mills"]) == (100, 0, 0)
    assert [(e["state"], e["payout_id"]) for e in body["results"]] == [("available", None)] * 2
    (listed,) = client.get("/api/v1/worker/payouts").json()["results"]
    assert (listed["id"], listed["status"]) == (payout.pk, "rejected")


def test_earnings_not_yet_over_the_hold_stay_pending(organization, worker):
    job = job_in_progress(organization, objects=1)
    approved(worker=worker, job=job)

    released(days=6)

    body = bearer_client(worker.user).get("/api/v1/worker/earnings").json()
    assert (body["pending_mills"], body["available_mills"]) == (50, 0)
    assert [e["state"] for e in body["results"]] == ["pending"]


# --- a payee sees only their own ------------------------------------------------------------------


def test_a_worker_never_sees_another_workers_earnings_or_payouts(organization, worker):
    # Given another worker with an earning and a payout
    job = job_in_progress(organization, objects=4)
    other = WorkerFactory()
    approved(worker=other, job=job)
    approved(worker=other, job=job)
    released()
    assert bearer_client(other.user).post("/api/v1/worker/payouts").status_code == 201
    mine = approved(worker=worker, job=job)
    client = bearer_client(worker.user)

    # When the worker reads their earnings and payouts
    earnings = client.get("/api/v1/worker/earnings").json()
    payouts = client.get("/api/v1/worker/payouts").json()

    # Then only their own pending reward shows, and no payout
    assert (earnings["pending_mills"], earnings["in_payout_mills"], earnings["count"]) == (50, 0, 1)
    assert summary(earnings) == [("reward", mine.pk, "pets", "0.050", "pending", None)]
    assert (payouts["count"], payouts["results"]) == (0, [])


def test_a_vendor_sees_its_own_earnings_and_payouts_and_another_vendor_sees_none(
    organization,
):
    # Given a vendor job of two objects at $0.100, worked by the vendor's team and approved
    vendor, manager, (alpha,) = vendor_with_teams()
    other_vendor, other_manager, _ = vendor_with_teams()
    ana = WorkerFactory()
    join(alpha, ana)
    job = vendor_job(organization, vendor, objects=2, name="vend")
    offers.vendor_offer_accept(offer=job.vendor_offers.get(), team=alpha, responded_by=manager)
    first = approved(worker=ana, job=job)
    second = approved(worker=ana, job=job)
    client, other_client = bearer_client(manager), bearer_client(other_manager)

    # When the vendor reads its earnings: the vendor's price per object, pending
    body = client.get("/api/v1/vendor/earnings").json()
    assert balances(body) == {
        "pending": "0.200", "pending_mills": 200, "available": "0.000", "available_mills": 0,
        "in_payout": "0.000", "in_payout_mills": 0, "paid": "0.000", "paid_mills": 0,
    }  # fmt: skip
    assert summary(body) == [
        ("reward", second.pk, "vend", "0.100", "pending", None),
        ("reward", first.pk, "vend", "0.100", "pending", None),
    ]
    # (the worker earns nothing of a vendor job: the vendor pays its workers)
    assert bearer_client(ana.user).get("/api/v1/worker/earnings").json()["count"] == 0

    # When the hold is over and the vendor asks for a payout
    released()
    requested = client.post("/api/v1/vendor/payouts")
    assert requested.status_code == 201, requested.json()
    payout = Payout.objects.get()
    assert (payout.owner, payout.amount_mills) == (vendor.ledger_owner, 200)
    assert client.get("/api/v1/vendor/payouts").json()["results"][0]["id"] == payout.pk
    assert {e["state"] for e in client.get("/api/v1/vendor/earnings").json()["results"]} == {
        "in_payout"
    }

    # Then another vendor sees none of it
    theirs = other_client.get("/api/v1/vendor/earnings").json()
    assert (theirs["pending_mills"], theirs["in_payout_mills"], theirs["count"]) == (0, 0, 0)
    assert other_client.get("/api/v1/vendor/payouts").json()["count"] == 0
    assert other_client.post("/api/v1/vendor/payouts").json()["code"] == "below_minimum"
    assert Payout.objects.count() == 1
    assert other_client.get("/api/v1/vendor/payout-account").json() == {
        "status": "none", "requirements_due": [], "rail": "manual",
    }  # fmt: skip


# --- asking for a payout: refusals ----------------------------------------------------------------


def test_a_payout_below_the_minimum_is_refused_and_nothing_changes(organization, worker):
    job = job_in_progress(organization, objects=1)
    approved(worker=worker, job=job)
    released()  # $0.050 available; the minimum is $0.100
    ledger_before = LedgerTransaction.objects.count()

    response = bearer_client(worker.user).post("/api/v1/worker/payouts")

    assert (response.status_code, response.json()["code"]) == (400, "below_minimum")
    assert (Payout.objects.count(), LedgerTransaction.objects.count()) == (0, ledger_before)


def test_a_second_payout_while_one_is_open_is_a_conflict(organization, worker):
    job = job_in_progress(organization, objects=3)
    for _ in range(2):
        approved(worker=worker, job=job)
    released()
    client = bearer_client(worker.user)
    assert client.post("/api/v1/worker/payouts").status_code == 201
    approved(worker=worker, job=job)
    released()
    approved_again = LedgerTransaction.objects.count()

    response = client.post("/api/v1/worker/payouts")

    assert (response.status_code, response.json()["code"]) == (409, "payout_open")
    assert (Payout.objects.count(), LedgerTransaction.objects.count()) == (1, approved_again)


def test_on_stripe_a_payout_needs_a_ready_payout_account(organization, worker, stripe):
    job = job_in_progress(organization, objects=2)
    for _ in range(2):
        approved(worker=worker, job=job)
    released()

    response = bearer_client(worker.user).post("/api/v1/worker/payouts")

    assert (response.status_code, response.json()["code"]) == (400, "payout_account_not_ready")
    assert Payout.objects.count() == 0


# --- the payout account ---------------------------------------------------------------------------


def test_on_the_manual_rail_there_is_no_payout_account_to_connect(worker):
    client = bearer_client(worker.user)

    assert client.get("/api/v1/worker/payout-account").json() == {
        "status": "none", "requirements_due": [], "rail": "manual",
    }  # fmt: skip
    response = client.post("/api/v1/worker/payout-account")
    assert (response.status_code, response.json()["code"]) == (400, "stripe_not_configured")
    assert PayoutAccount.objects.count() == 0


def test_connecting_a_payout_account_returns_stripes_onboarding_and_a_webhook_makes_it_ready(
    worker, stripe, django_capture_on_commit_callbacks
):
    client = bearer_client(worker.user)
    assert client.get("/api/v1/worker/payout-account").json()["rail"] == "stripe"

    # When the worker connects a payout account
    response = client.post("/api/v1/worker/payout-account")

    # Then they get Stripe's onboarding address, back to their earnings page afterwards
    assert response.status_code == 200, response.json()
    account = PayoutAccount.objects.get(owner=worker.ledger_owner)
    url = response.json()["onboarding_url"]
    assert url.startswith(f"https://connect.stripe.com/setup/e/{account.stripe_account_id}/")
    (link,) = stripe.calls("POST", "/v1/account_links")
    assert (link["params"]["return_url"], link["params"]["refresh_url"]) == (
        "http://testserver/work/earnings?onboarding=done",
        "http://testserver/work/earnings?onboarding=expired",
    )
    assert client.get("/api/v1/worker/payout-account").json() == {
        "status": "onboarding", "requirements_due": [], "rail": "stripe",
    }  # fmt: skip

    # When Stripe says what is still due, then that the account can receive payouts
    for update in (
        {"payouts_enabled": False, "requirements": {"currently_due": ["external_account"]}},
        {"payouts_enabled": True, "details_submitted": True, "requirements": {}},
    ):
        event = stripe.event("account.updated", {"id": account.stripe_account_id, **update})
        with django_capture_on_commit_callbacks(execute=True):
            assert stripe_webhook_post(APIClient(), event).status_code == 200
        if not update["payouts_enabled"]:
            assert client.get("/api/v1/worker/payout-account").json() == {
                "status": "onboarding", "requirements_due": ["external_account"],
                "rail": "stripe",
            }  # fmt: skip

    assert client.get("/api/v1/worker/payout-account").json() == {
        "status": "ready", "requirements_due": [], "rail": "stripe",
    }  # fmt: skip


# --- lists: pages, queries ------------------------------------------------------------------------


def test_earnings_are_paginated_newest_first(organization, worker):
    job = job_in_progress(organization, objects=3)
    done = [approved(worker=worker, job=job) for _ in range(3)]
    client = bearer_client(worker.user)

    first = client.get("/api/v1/worker/earnings?page_size=2").json()
    second = client.get(first["next"]).json()

    assert (first["count"], first["previous"], second["next"]) == (3, None, None)
    assert [e["assignment_id"] for e in first["results"] + second["results"]] == [
        done[2].pk,
        done[1].pk,
        done[0].pk,
    ]
    assert second["pending_mills"] == 150


def earn_many(organization, worker, *, count: int) -> None:
    """`count` approved answers, half of them with a bonus, all released, and a payout."""
    job = job_in_progress(organization, objects=count, name=f"many{count}")
    for number in range(count):
        assignment = approved(worker=worker, job=job)
        if number % 2:
            services.assignment_bonus(
                assignment=assignment,
                amount_mills=10,
                reason="Thanks.",
                unique_request_token=f"{count}-{number}",
            )
    released()
    payout_services.payout_request(owner=worker.ledger_owner)


@pytest.mark.parametrize("count", [2, 12])
def test_reading_earnings_takes_the_same_queries_for_few_or_many(
    organization, worker, count, django_assert_max_num_queries
):
    earn_many(organization, worker, count=count)
    client = bearer_client(worker.user)

    with django_assert_max_num_queries(9):
        body = client.get("/api/v1/worker/earnings").json()

    assert body["count"] == count + count // 2
    assert {e["state"] for e in body["results"]} == {"in_payout"}
    assert all(e["job_name"] == f"many{count}" for e in body["results"])


@pytest.mark.parametrize("count", [2, 12])
def test_reading_payouts_takes_the_same_queries_for_few_or_many(
    organization, worker, count, django_assert_max_num_queries
):
    earn_many(organization, worker, count=count)
    client = bearer_client(worker.user)

    with django_assert_max_num_queries(4):
        body = client.get("/api/v1/worker/payouts").json()

    assert body["count"] == 1
