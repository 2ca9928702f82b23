"""Reconciliation: the ledger's movements through funding clearing against Stripe's balance
transactions (the fake's, over HTTP), with every kind of difference listed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from payments import reconciliation
from payments.models import LedgerAccount, LedgerTransaction
from payments.services import ledger, payouts
from tests.conftest import bearer_client
from tests.factories import OrganizationFactory, WorkerFactory
from tests.payments.test_finance_api import finance_user, payout_requested

pytestmark = pytest.mark.django_db

Kind = LedgerTransaction.Kind


def today() -> str:
    return timezone.now().date().isoformat()


def with_external_id(posted: LedgerTransaction, external_id: str) -> LedgerTransaction:
    """The funding service names the Stripe object once it knows it, as here."""
    posted.external_id = external_id
    posted.save(update_fields=["external_id"])
    return posted


def charged(owner: str, mills: int, external_id: str) -> LedgerTransaction:
    posted = ledger.funding_record(owner=owner, amount_mills=mills, reference=external_id)
    return with_external_id(posted, external_id)


def taken_back(owner: str, mills: int, kind: str, external_id: str) -> LedgerTransaction:
    """A refund or a dispute: the requester's balance goes back to the outside world."""
    posted = ledger.ledger_post(
        idempotency_key=f"{kind}:{external_id}",
        kind=kind,
        memo=f"{kind} {external_id}",
        entries=[
            (ledger.account_get(kind=LedgerAccount.Kind.REQUESTER_AVAILABLE, owner=owner), -mills),
            (ledger.account_get(kind=LedgerAccount.Kind.FUNDING_CLEARING, owner="platform"), mills),
        ],
    )
    return with_external_id(posted, external_id)


def given_back(owner: str, mills: int, external_id: str) -> LedgerTransaction:
    """A dispute won: the money comes back to the requester."""
    posted = ledger.ledger_post(
        idempotency_key=f"dispute-won:{external_id}",
        kind=Kind.DISPUTE_WON,
        memo=f"dispute won {external_id}",
        entries=[
            (
                ledger.account_get(kind=LedgerAccount.Kind.FUNDING_CLEARING, owner="platform"),
                -mills,
            ),
            (ledger.account_get(kind=LedgerAccount.Kind.REQUESTER_AVAILABLE, owner=owner), mills),
        ],
    )
    return with_external_id(posted, external_id)


def charge(charge_id: str, cents: int, payment_intent: str) -> dict:
    return {
        "id": charge_id,
        "object": "charge",
        "amount": cents,
        "amount_refunded": 0,
        "currency": "usd",
        "payment_intent": payment_intent,
        "status": "succeeded",
    }


def refund(refund_id: str, cents: int, charge_id: str) -> dict:
    return {
        "id": refund_id,
        "object": "refund",
        "amount": cents,
        "charge": charge_id,
        "currency": "usd",
        "status": "succeeded",
    }


def dispute(dispute_id: str, cents: int, charge_id: str, status: str) -> dict:
    return {
        "id": dispute_id,
        "object": "dispute",
        "amount": cents,
        "charge": charge_id,
        "currency": "usd",
        "reason": "fraudulent",
        "status": status,
    }


def stripe_payout_paid(stripe, finance, django_capture_on_commit_callbacks):
    """A payee with a ready Stripe account, paid by a transfer the fake records in its balance."""
    worker = WorkerFactory()
    payouts.payout_account_connect(
        owner=worker.ledger_owner,
        email=worker.user.email,
        refresh_url="https://groundwork.example/refresh",
        return_url="https://groundwork.example/return",
    )
    account = next(o for o in stripe.objects.values() if o["object"] == "account")
    payouts.payout_account_updated(
        {**account, "details_submitted": True, "payouts_enabled": True}, None
    )
    payout = payout_requested(worker.ledger_owner, 12_345)
    with django_capture_on_commit_callbacks(execute=True):
        payouts.payout_approve(payout=payout, actor=finance)
    payout.refresh_from_db()
    assert payout.status == "sent" and payout.transfer_id.startswith("tr_")
    return payout


def manual_payout_paid(settings, finance, reference: str):
    """A payout paid by hand while the platform had no Stripe keys."""
    key = settings.STRIPE_SECRET_KEY
    settings.STRIPE_SECRET_KEY = ""
    payout = payout_requested(WorkerFactory().ledger_owner, 11_000)
    payouts.payout_approve(payout=payout, actor=finance)
    payouts.payout_mark_paid(payout=payout, actor=finance, reference=reference)
    settings.STRIPE_SECRET_KEY = key
    return payout


def test_every_difference_is_listed_beside_what_matches(
    stripe, settings, django_capture_on_commit_callbacks
):
    # Given the ledger's movements through clearing and Stripe's balance transactions:
    finance = finance_user()
    owner = OrganizationFactory().ledger_owner
    stripe_payout = stripe_payout_paid(stripe, finance, django_capture_on_commit_callbacks)
    manual = manual_payout_paid(settings, finance, reference="WIRE-0042")
    stripe_payer_funded, manual_payer_funded = (
        LedgerTransaction.objects.filter(idempotency_key__startswith="funding:fund-")
        .order_by("pk")
        .values_list("idempotency_key", flat=True)
    )
    # a charge the ledger knows by its id, and one it knows by its payment intent
    charged(owner, 25_000, "ch_known")
    stripe.balance_transaction_add(
        source=charge("ch_known", 2_500, "pi_known"), amount=2_500, type_="charge", fee=103
    )
    charged(owner, 10_000, "pi_early")
    stripe.balance_transaction_add(
        source=charge("ch_late", 1_000, "pi_early"), amount=1_000, type_="charge", fee=59
    )
    # a refund, and a dispute lost then won
    taken_back(owner, 5_000, Kind.REFUND, "re_part")
    stripe.balance_transaction_add(
        source=refund("re_part", 500, "ch_known"), amount=-500, type_="refund"
    )
    taken_back(owner, 3_000, Kind.DISPUTE, "dp_card")
    stripe.balance_transaction_add(
        source=dispute("dp_card", 300, "ch_known", "needs_response"),
        amount=-300,
        type_="adjustment",
    )
    given_back(owner, 3_000, "dp_card")
    stripe.balance_transaction_add(
        source=dispute("dp_card", 300, "ch_known", "won"), amount=300, type_="adjustment"
    )
    # a charge the ledger never credited, one Stripe does not have, one of another amount
    missing = stripe.balance_transaction_add(
        source=charge("ch_stray", 700, "pi_stray"), amount=700, type_="charge"
    )
    charged(owner, 4_000, "ch_ghost")
    charged(owner, 8_000, "ch_short")
    short = stripe.balance_transaction_add(
        source=charge("ch_short", 790, "pi_short"), amount=790, type_="charge"
    )
    # and the platform's own payout to its bank, which the ledger does not track
    stripe.balance_transaction_add(
        source={"id": "po_bank", "object": "payout", "amount": 5_000}, amount=-5_000, type_="payout"
    )

    # When finance reconciles today
    report = reconciliation.reconciliation_report(
        date_from=timezone.now().date(), date_to=timezone.now().date()
    )

    # Then the matches
    assert report.stripe_configured is True
    assert sorted(
        (line.source_id, line.ledger_kind, line.ledger_amount_mills, line.stripe_amount_mills)
        for line in report.matched
    ) == sorted(
        [
            ("ch_known", "funding", 25_000, 25_000),
            ("ch_late", "funding", 10_000, 10_000),
            ("re_part", "refund", -5_000, -5_000),
            ("dp_card", "dispute", -3_000, -3_000),
            ("dp_card", "dispute_won", 3_000, 3_000),
            (stripe_payout.transfer_id, "payout_sent", -12_340, -12_340),
        ]
    )
    assert report.matched_count == 6
    # every difference
    assert sorted(
        (
            line.difference,
            line.source_id,
            line.ledger_key,
            line.stripe_id,
            line.ledger_amount_mills,
            line.stripe_amount_mills,
        )
        for line in report.differences
    ) == sorted(
        [
            ("amount_differs", "ch_short", "funding:ch_short", short["id"], 8_000, 7_900),
            ("missing_in_ledger", "ch_stray", "", missing["id"], None, 7_000),
            ("missing_in_stripe", "", stripe_payer_funded, "", 14_814, None),
            ("missing_in_stripe", "", manual_payer_funded, "", 13_200, None),
            ("missing_in_stripe", "ch_ghost", "funding:ch_ghost", "", 4_000, None),
        ]
    )
    # (the payees' earnings were funded by credits without a Stripe reference: 12.345 and
    # 11.000 with the platform's fee of 20%)
    assert {
        line.note for line in report.differences if line.ledger_key.startswith("funding:fund-")
    } == {"No Stripe reference on this ledger transaction."}
    # the manual payout, expected to be unknown to Stripe, and Stripe's own movements
    assert [
        (line.source_id, line.ledger_key, line.ledger_amount_mills) for line in report.manual
    ] == [("WIRE-0042", f"payout:{manual.pk}:sent", -11_000)]
    assert [(line.source_id, line.stripe_amount_mills) for line in report.stripe_other] == [
        ("po_bank", -50_000)
    ]
    assert report.ledger_only == []
    # and the totals
    assert report.matched_total_mills == 25_000 + 10_000 - 5_000 - 3_000 + 3_000 - 12_340
    assert report.ledger_total_mills == (
        report.matched_total_mills + 8_000 + 14_814 + 13_200 + 4_000 - 11_000
    )
    assert report.stripe_total_mills == report.matched_total_mills + 7_900 + 7_000


def test_without_stripe_the_report_says_so_and_lists_the_ledger_side(settings):
    finance = finance_user()
    owner = OrganizationFactory().ledger_owner
    charged(owner, 25_000, "ch_known")
    manual_payout_paid(settings, finance, reference="WIRE-7")

    report = reconciliation.reconciliation_report(
        date_from=timezone.now().date(), date_to=timezone.now().date()
    )

    assert report.stripe_configured is False
    assert report.matched == [] and report.differences == []
    # the requester credits behind the payees' earnings are listed too, as the ledger has them
    assert ("funding", "ch_known", 25_000) in [
        (line.ledger_kind, line.source_id, line.ledger_amount_mills) for line in report.ledger_only
    ]
    assert all(line.ledger_kind == "funding" for line in report.ledger_only)
    assert [(line.source_id, line.ledger_amount_mills) for line in report.manual] == [
        ("WIRE-7", -11_000)
    ]


def test_a_period_without_movements_is_empty_on_both_sides(stripe):
    owner = OrganizationFactory().ledger_owner
    charged(owner, 25_000, "ch_known")
    stripe.balance_transaction_add(
        source=charge("ch_known", 2_500, "pi_known"), amount=2_500, type_="charge"
    )
    last_week = timezone.now().date() - timedelta(days=7)

    report = reconciliation.reconciliation_report(date_from=last_week, date_to=last_week)

    assert (report.matched, report.differences, report.manual) == ([], [], [])


# --- the API -------------------------------------------------------------------------------------


def test_the_api_reports_the_period_with_counts_and_totals(stripe):
    owner = OrganizationFactory().ledger_owner
    charged(owner, 25_000, "ch_known")
    stripe.balance_transaction_add(
        source=charge("ch_known", 2_500, "pi_known"), amount=2_500, type_="charge"
    )
    stripe.balance_transaction_add(
        source=charge("ch_stray", 700, "pi_stray"), amount=700, type_="charge"
    )
    client = bearer_client(finance_user())

    response = client.get(f"/api/v1/finance/reconciliation?from={today()}&to={today()}")

    assert response.status_code == 200
    body = response.json()
    assert {
        key: body[key]
        for key in (
            "date_from", "date_to", "stripe_configured", "message", "matched_count",
            "difference_count", "ledger_total_mills", "stripe_total_mills", "matched_total_mills",
        )
    } == {
        "date_from": today(),
        "date_to": today(),
        "stripe_configured": True,
        "message": "1 differences between the ledger and Stripe.",
        "matched_count": 1,
        "difference_count": 1,
        "ledger_total_mills": 25_000,
        "stripe_total_mills": 32_000,
        "matched_total_mills": 25_000,
    }  # fmt: skip
    (difference,) = body["differences"]
    assert (difference["difference"], difference["source_id"], difference["ledger_key"]) == (
        "missing_in_ledger",
        "ch_stray",
        "",
    )


def test_the_api_refuses_a_period_that_is_missing_or_backwards(stripe):
    client = bearer_client(finance_user())

    missing = client.get("/api/v1/finance/reconciliation")
    backwards = client.get("/api/v1/finance/reconciliation?from=2025-03-02&to=2025-03-01")
    too_long = client.get("/api/v1/finance/reconciliation?from=2024-01-01&to=2025-03-01")

    assert (missing.status_code, set(missing.json()["fields"])) == (400, {"from", "to"})
    assert (backwards.status_code, list(backwards.json()["fields"])) == (400, ["to"])
    assert (too_long.status_code, list(too_long.json()["fields"])) == (400, ["to"])
    assert stripe.calls("GET", "/v1/balance_transactions") == []


def test_stripe_failing_is_a_502_that_names_stripe(stripe):
    stripe.fail_next("GET", "/v1/balance_transactions", status=500)
    client = bearer_client(finance_user())

    response = client.get(f"/api/v1/finance/reconciliation?from={today()}&to={today()}")

    assert response.status_code == 502
    assert response.json()["code"] == "stripe_unavailable"
