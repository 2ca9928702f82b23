"""The finance API: the payout review queue, a payout's detail, the review actions (hold, approve,
reject, mark paid on the manual rail), and the ledger's transactions and accounts.

The helpers at the top build payees with released earnings through the ledger and payout
services; the reconciliation and statement tests use them too."""

from datetime import datetime

import pytest
from allauth.mfa.models import Authenticator
from django.db import connection
from django.test.utils import CaptureQueriesContext

from payments import selectors
from payments.models import FinanceAction, LedgerTransaction, Payout
from payments.services import ledger, payouts
from tests.conftest import bearer_client
from tests.factories import OrganizationFactory, UserFactory, WorkerFactory
from workforce.models import User

pytestmark = pytest.mark.django_db


# --- helpers shared by the finance tests ---------------------------------------------------------


def finance_user(*, mfa: bool = True) -> User:
    # No service grants the finance role: staff set the flag in the admin.
    user = UserFactory()
    user.is_finance = True
    user.save(update_fields=["is_finance"])
    if mfa:
        Authenticator.objects.create(
            user=user, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"}
        )
    return user


def earnings_released(owner: str, *amounts_mills: int) -> list[LedgerTransaction]:
    """The payee earned these amounts on a requester's job and their hold is over: a funded
    requester, the job's escrow, one earning per amount (with the platform fee) and its release."""
    organization = OrganizationFactory()
    payer = organization.ledger_owner
    escrow = f"job:test-{organization.pk}"
    cost = sum(a + ledger.platform_fee_mills(amount_mills=a) for a in amounts_mills)
    ledger.funding_record(owner=payer, amount_mills=cost, reference=f"fund-{organization.pk}")
    ledger.escrow_reserve(
        payer=payer, escrow_owner=escrow, amount_mills=cost, idempotency_key=f"reserve:{escrow}"
    )
    earnings = []
    for n, amount in enumerate(amounts_mills):
        earning = ledger.earning_record(
            escrow_owner=escrow,
            payee_owner=owner,
            amount_mills=amount,
            service_fee_mills=0,
            idempotency_key=f"work:{escrow}:{n}",
        )
        ledger.earning_release(earning_id=earning.pk)
        earnings.append(earning)
    return earnings


def payout_requested(owner: str, *amounts_mills: int) -> Payout:
    """A payout in review carrying the payee's released earnings of these amounts."""
    earnings_released(owner, *amounts_mills)
    return payouts.payout_request(owner=owner)


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def finance() -> User:
    return finance_user()


@pytest.fixture
def client(finance):
    return bearer_client(finance)


QUEUE_FIELDS = [
    "id", "owner", "amount", "amount_mills", "status", "rail", "trigger", "flags",
    "payout_account_status",
]  # fmt: skip


def picked(row: dict, fields: list[str]) -> dict:
    return {name: row[name] for name in fields}


# --- the queue -----------------------------------------------------------------------------------


def test_the_queue_lists_payouts_oldest_first_with_their_flags(client, settings):
    # Given a payee of long standing and a new one, each with a payout in review
    settings.PAYOUT_NEW_ACCOUNT_DAYS = 0
    steady = WorkerFactory()
    steady_payout = payout_requested(steady.ledger_owner, 7_500, 5_250)
    settings.PAYOUT_NEW_ACCOUNT_DAYS = 14
    newcomer = WorkerFactory()
    new_payout = payout_requested(newcomer.ledger_owner, 20_000)

    # When finance opens the queue
    response = client.get("/api/v1/finance/payouts")

    # Then both are listed, oldest first, the new payee's flagged
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [picked(row, QUEUE_FIELDS) for row in body["results"]] == [
        {
            "id": steady_payout.pk,
            "owner": steady.ledger_owner,
            "amount": "12.750",
            "amount_mills": 12_750,
            "status": "in_review",
            "rail": "manual",
            "trigger": "request",
            "flags": [],
            "payout_account_status": None,
        },
        {
            "id": new_payout.pk,
            "owner": newcomer.ledger_owner,
            "amount": "20.000",
            "amount_mills": 20_000,
            "status": "in_review",
            "rail": "manual",
            "trigger": "request",
            "flags": [
                {
                    "code": "new_account",
                    "detail": f"The payee joined on {newcomer.created_at:%Y-%m-%d}.",
                }
            ],
            "payout_account_status": None,
        },
    ]
    assert when(body["results"][0]["created_at"]) == steady_payout.created_at


def test_the_queue_filters_by_status_and_by_flags(client, finance, settings):
    settings.PAYOUT_NEW_ACCOUNT_DAYS = 0
    steady = payout_requested(WorkerFactory().ledger_owner, 15_000)
    settings.PAYOUT_NEW_ACCOUNT_DAYS = 14
    flagged = payout_requested(WorkerFactory().ledger_owner, 15_000)
    payouts.payout_hold(payout=flagged, actor=finance, note="New payee.")

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/v1/finance/payouts?{query}")
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids("flagged=true") == [flagged.pk]
    assert ids("flagged=false") == [steady.pk]
    assert ids("status=held") == [flagged.pk]
    assert ids("status=in_review") == [steady.pk]
    assert ids("status=paid") == []
    assert ids("status=in_review&flagged=true") == []

    wrong = client.get("/api/v1/finance/payouts?status=lost")
    assert wrong.status_code == 400
    assert set(wrong.json()["fields"]) == {"status"}


def test_the_queue_reads_a_page_in_the_same_number_of_queries_however_long(client):
    payout_requested(WorkerFactory().ledger_owner, 15_000)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/v1/finance/payouts").status_code == 200
        return len(captured)

    queries()  # the key's first use notes when it was used
    one = queries()
    for _ in range(3):
        payout_requested(WorkerFactory().ledger_owner, 15_000)

    assert queries() == one


# --- a payout's detail ---------------------------------------------------------------------------


def test_the_detail_shows_the_earnings_carried_the_history_and_the_payee_balances(client, finance):
    # Given a payee whose 12.755 earned became a payout of 12.750 (whole cents), held once
    worker = WorkerFactory()
    first, second = earnings_released(worker.ledger_owner, 7_500, 5_255)
    payout = payouts.payout_request(owner=worker.ledger_owner)
    payouts.payout_hold(payout=payout, actor=finance, note="Checking the new account.")

    # When finance opens it
    response = client.get(f"/api/v1/finance/payouts/{payout.pk}")

    # Then
    assert response.status_code == 200
    body = response.json()
    assert picked(body, ["id", "owner", "amount", "amount_mills", "status", "reference"]) == {
        "id": payout.pk,
        "owner": worker.ledger_owner,
        "amount": "12.750",
        "amount_mills": 12_750,
        "status": "held",
        "reference": "",
    }
    assert [
        picked(row, ["key", "kind", "amount", "amount_mills", "memo"]) for row in body["earnings"]
    ] == [
        {
            "key": first.idempotency_key,
            "kind": "earning",
            "amount": "7.500",
            "amount_mills": 7_500,
            "memo": first.memo,
        },
        {
            "key": second.idempotency_key,
            "kind": "earning",
            "amount": "5.255",
            "amount_mills": 5_255,
            "memo": second.memo,
        },
    ]
    assert when(body["earnings"][0]["created_at"]) == first.created_at
    (held,) = body["history"]
    assert picked(held, ["who", "what", "note", "detail"]) == {
        "who": finance.email,
        "what": "hold",
        "note": "Checking the new account.",
        "detail": {"from": "in_review", "to": "held"},
    }
    assert when(held["when"]) == FinanceAction.objects.get().created_at
    assert body["balances"] == {
        "pending": {"amount": "0.000", "amount_mills": 0},
        "available": {"amount": "0.005", "amount_mills": 5},
        "in_payout": {"amount": "12.750", "amount_mills": 12_750},
        "paid": {"amount": "0.000", "amount_mills": 0},
    }


def test_an_unknown_payout_is_404(client):
    assert client.get("/api/v1/finance/payouts/987654").status_code == 404
    response = client.post("/api/v1/finance/payouts/987654/approve", {}, format="json")
    assert response.status_code == 404
    assert FinanceAction.objects.count() == 0


# --- review actions ------------------------------------------------------------------------------


def test_hold_then_approve_then_mark_paid_on_the_manual_rail(client, finance):
    # Given a payout in review (no Stripe keys: the manual rail)
    worker = WorkerFactory()
    payout = payout_requested(worker.ledger_owner, 12_000)
    url = f"/api/v1/finance/payouts/{payout.pk}"

    # When finance holds it, approves it and pays it by hand
    held = client.post(f"{url}/hold", {"note": "Asking the payee for an ID."}, format="json")
    approved = client.post(f"{url}/approve", {"note": "ID checked."}, format="json")
    paid = client.post(
        f"{url}/mark-paid", {"reference": "WIRE-2025-0042", "note": "Sent by wire."}, format="json"
    )

    # Then each step answers with the payout as it became
    assert (held.status_code, held.json()["status"]) == (200, "held")
    assert (approved.status_code, approved.json()["status"]) == (200, "approved")
    assert paid.status_code == 200
    body = paid.json()
    assert (body["status"], body["reference"]) == ("paid", "WIRE-2025-0042")
    assert [picked(row, ["who", "what", "note"]) for row in body["history"]] == [
        {"who": finance.email, "what": "hold", "note": "Asking the payee for an ID."},
        {"who": finance.email, "what": "approve", "note": "ID checked."},
        {"who": finance.email, "what": "mark_paid", "note": "Sent by wire."},
    ]
    assert body["balances"]["paid"] == {"amount": "12.000", "amount_mills": 12_000}
    assert body["balances"]["in_payout"] == {"amount": "0.000", "amount_mills": 0}
    # And the ledger shows the money leaving with the reference
    sent = LedgerTransaction.objects.get(idempotency_key=f"payout:{payout.pk}:sent")
    assert (sent.kind, sent.external_id) == ("payout_sent", "WIRE-2025-0042")


def test_reject_gives_the_amount_back_to_the_payee(client, finance):
    worker = WorkerFactory()
    payout = payout_requested(worker.ledger_owner, 12_000)

    response = client.post(
        f"/api/v1/finance/payouts/{payout.pk}/reject",
        {"note": "The answers were copied."},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert selectors.payee_balances_mills(owner=worker.ledger_owner) == {
        "pending": 0,
        "available": 12_000,
        "in_payout": 0,
        "paid": 0,
    }
    action = FinanceAction.objects.get()
    assert (action.actor, action.action, action.note) == (
        finance,
        "reject",
        "The answers were copied.",
    )


@pytest.mark.parametrize("action", ["hold", "reject"])
def test_hold_and_reject_need_a_note_and_change_nothing_without_one(client, action):
    worker = WorkerFactory()
    payout = payout_requested(worker.ledger_owner, 12_000)
    ledger_before = LedgerTransaction.objects.count()

    blank = client.post(
        f"/api/v1/finance/payouts/{payout.pk}/{action}", {"note": "  "}, format="json"
    )
    missing = client.post(f"/api/v1/finance/payouts/{payout.pk}/{action}", {}, format="json")

    for response in (blank, missing):
        assert response.status_code == 400
        assert response.json()["code"] == "note_required"
        assert list(response.json()["fields"]) == ["note"]
    payout.refresh_from_db()
    assert payout.status == Payout.Status.IN_REVIEW
    assert FinanceAction.objects.count() == 0
    assert LedgerTransaction.objects.count() == ledger_before


def test_mark_paid_needs_an_approved_payout_and_a_reference(client, finance):
    worker = WorkerFactory()
    payout = payout_requested(worker.ledger_owner, 12_000)
    url = f"/api/v1/finance/payouts/{payout.pk}/mark-paid"

    too_early = client.post(url, {"reference": "WIRE-1"}, format="json")
    payouts.payout_approve(payout=payout, actor=finance)
    without_reference = client.post(url, {"note": "Paid."}, format="json")

    assert too_early.status_code == 409
    assert too_early.json()["code"] == "invalid_transition"
    assert without_reference.status_code == 400
    assert list(without_reference.json()["fields"]) == ["reference"]
    payout.refresh_from_db()
    assert (payout.status, payout.reference) == (Payout.Status.APPROVED, "")
    assert list(FinanceAction.objects.values_list("action", flat=True)) == ["approve"]
    assert not LedgerTransaction.objects.filter(kind="payout_sent").exists()


def test_a_paid_payout_cannot_be_approved_held_or_rejected_again(client, finance):
    worker = WorkerFactory()
    payout = payout_requested(worker.ledger_owner, 12_000)
    payouts.payout_approve(payout=payout, actor=finance)
    payouts.payout_mark_paid(payout=payout, actor=finance, reference="WIRE-7")

    answers = [
        client.post(
            f"/api/v1/finance/payouts/{payout.pk}/{action}", {"note": "Again."}, format="json"
        )
        for action in ("approve", "hold", "reject")
    ]

    assert [(r.status_code, r.json()["code"]) for r in answers] == [(409, "invalid_transition")] * 3
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID
    assert FinanceAction.objects.count() == 2
    assert selectors.payee_balances_mills(owner=worker.ledger_owner)["available"] == 0


def test_finance_without_an_authenticator_app_is_refused_and_nothing_changes():
    payout = payout_requested(WorkerFactory().ledger_owner, 12_000)
    client = bearer_client(finance_user(mfa=False))

    queue = client.get("/api/v1/finance/payouts")
    approve = client.post(f"/api/v1/finance/payouts/{payout.pk}/approve", {}, format="json")

    assert (queue.status_code, queue.json()["code"]) == (403, "mfa_required")
    assert (approve.status_code, approve.json()["code"]) == (403, "mfa_required")
    payout.refresh_from_db()
    assert payout.status == Payout.Status.IN_REVIEW
    assert FinanceAction.objects.count() == 0


# --- the ledger ----------------------------------------------------------------------------------


def test_the_ledger_lists_transactions_newest_first_each_with_its_entries(client):
    # Given a payee who earned 7.500 (the platform's fee 1.500), released
    worker = WorkerFactory()
    (earning,) = earnings_released(worker.ledger_owner, 7_500)

    # When finance reads the ledger
    response = client.get("/api/v1/finance/ledger")

    # Then the four movements, newest first
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(row["kind"], row["key"]) for row in rows] == [
        ("earning_release", f"earning-release:{earning.pk}"),
        ("earning", earning.idempotency_key),
        ("escrow_reserve", rows[2]["key"]),
        ("funding", rows[3]["key"]),
    ]
    assert [
        (entry["account_kind"], entry["owner"], entry["amount"], entry["amount_mills"])
        for entry in rows[1]["entries"]
    ] == [
        ("job_escrow", rows[2]["entries"][1]["owner"], "-9.000", -9_000),
        ("worker_pending", worker.ledger_owner, "7.500", 7_500),
        ("platform_fee_revenue", "platform", "1.500", 1_500),
    ]
    assert rows[1]["memo"] == earning.memo
    assert when(rows[1]["created_at"]) == earning.created_at


def test_the_ledger_filters_by_kind_owner_account_kind_and_date(client):
    worker = WorkerFactory()
    (earning,) = earnings_released(worker.ledger_owner, 7_500)
    release = f"earning-release:{earning.pk}"

    def keys(query: str) -> list[str]:
        response = client.get(f"/api/v1/finance/ledger?{query}")
        assert response.status_code == 200, response.content
        return [row["key"] for row in response.json()["results"]]

    assert keys("kind=earning") == [earning.idempotency_key]
    assert keys(f"owner={worker.ledger_owner}") == [release, earning.idempotency_key]
    assert keys(f"owner={worker.ledger_owner}&account_kind=worker_available") == [release]
    assert keys("account_kind=platform_fee_revenue") == [earning.idempotency_key]
    assert keys("owner=worker:0") == []
    assert keys("created_after=2999-01-01T00:00:00Z") == []
    assert len(keys("created_before=2999-01-01T00:00:00Z")) == 4
    assert keys("created_before=2000-01-01") == []
    bad = client.get("/api/v1/finance/ledger?account_kind=savings")
    assert bad.status_code == 400
    assert list(bad.json()["fields"]) == ["account_kind"]


def test_the_ledger_reads_a_page_in_the_same_number_of_queries_however_long(client):
    earnings_released(WorkerFactory().ledger_owner, 7_500)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/v1/finance/ledger").status_code == 200
        return len(captured)

    queries()  # the key's first use notes when it was used
    few = queries()
    earnings_released(WorkerFactory().ledger_owner, 1_000, 2_000, 3_000)

    assert queries() == few


def test_the_accounts_show_their_balances_and_a_grand_total_of_zero(client):
    worker = WorkerFactory()
    earnings_released(worker.ledger_owner, 7_500)

    response = client.get("/api/v1/finance/ledger/accounts")

    assert response.status_code == 200
    body = response.json()
    assert [(row["kind"], row["balance"], row["balance_mills"]) for row in body["results"]] == [
        ("funding_clearing", "-9.000", -9_000),
        ("job_escrow", "0.000", 0),
        ("platform_fee_revenue", "1.500", 1_500),
        ("requester_available", "0.000", 0),
        ("worker_available", "7.500", 7_500),
        ("worker_pending", "0.000", 0),
    ]
    assert (body["grand_total"], body["grand_total_mills"]) == ("0.000", 0)

    mine = client.get(f"/api/v1/finance/ledger/accounts?owner={worker.ledger_owner}")
    assert [(row["kind"], row["balance_mills"]) for row in mine.json()["results"]] == [
        ("worker_available", 7_500),
        ("worker_pending", 0),
    ]
    assert mine.json()["grand_total_mills"] == 0
