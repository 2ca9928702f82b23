"""CSV statements of one ledger account over a period: an opening balance, one line per entry
with the balance after it, a closing balance; each export recorded as a finance action."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from payments.models import FinanceAction, LedgerAccount, LedgerTransaction
from payments.services import ledger, payouts
from tests.conftest import bearer_client
from tests.factories import WorkerFactory
from tests.payments.test_finance_api import earnings_released, finance_user

pytestmark = pytest.mark.django_db


def rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_a_statement_has_every_entry_with_its_running_balance(settings):
    # Given a worker who earned 7.500 and 5.255, released, then had 12.750 paid out by hand
    finance = finance_user()
    worker = WorkerFactory()
    owner = worker.ledger_owner
    first, second = earnings_released(owner, 7_500, 5_255)
    payout = payouts.payout_request(owner=owner)
    payouts.payout_approve(payout=payout, actor=finance)
    payouts.payout_mark_paid(payout=payout, actor=finance, reference="WIRE-1")
    client = bearer_client(finance)
    today = timezone.now().date().isoformat()

    # When finance exports the statement of the worker's available balance for today
    response = client.get(
        f"/api/v1/finance/statements?owner={owner}&kind=worker_available&from={today}&to={today}"
    )

    # Then
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="statement-worker_available-worker-{worker.pk}-{today}-{today}.csv"'
    )
    lines = rows(response)
    released = LedgerTransaction.objects.filter(releases__in=[first, second]).order_by("pk")
    reserve = LedgerTransaction.objects.get(idempotency_key=f"payout:{payout.pk}:reserve")
    assert [line[1:] for line in lines] == [
        ["transaction", "kind", "memo", "amount", "balance"],
        ["", "opening_balance", "Opening balance", "", "0.000"],
        [released[0].idempotency_key, "earning_release", released[0].memo, "7.500", "7.500"],
        [released[1].idempotency_key, "earning_release", released[1].memo, "5.255", "12.755"],
        [reserve.idempotency_key, "payout", reserve.memo, "-12.750", "0.005"],
        ["", "closing_balance", "Closing balance", "", "0.005"],
    ]
    assert [lines[0][0], lines[1][0], lines[-1][0]] == ["date", today, today]
    assert lines[2][0] == released[0].created_at.isoformat()
    # And the export is on record
    action = FinanceAction.objects.get(action="statement_export")
    assert (action.actor, action.payout, action.detail) == (
        finance,
        None,
        {"kind": "worker_available", "owner": owner, "from": today, "to": today, "entries": 3},
    )


def test_a_later_period_opens_with_the_balance_before_it():
    finance = finance_user()
    owner = WorkerFactory().ledger_owner
    earnings_released(owner, 7_500)
    tomorrow = (timezone.now().date() + timedelta(days=1)).isoformat()

    response = bearer_client(finance).get(
        f"/api/v1/finance/statements?owner={owner}&kind=worker_available"
        f"&from={tomorrow}&to={tomorrow}"
    )

    assert response.status_code == 200
    assert [line[2:] for line in rows(response)] == [
        ["kind", "memo", "amount", "balance"],
        ["opening_balance", "Opening balance", "", "7.500"],
        ["closing_balance", "Closing balance", "", "7.500"],
    ]


def test_a_memo_a_spreadsheet_would_run_as_a_formula_is_quoted():
    owner = "organization:77"
    ledger.ledger_post(
        idempotency_key="=cmd|'/c calc'!A1",
        kind=LedgerTransaction.Kind.FUNDING,
        memo='=HYPERLINK("https://evil.example")',
        entries=[
            (ledger.account_get(kind=LedgerAccount.Kind.FUNDING_CLEARING, owner="platform"), -100),
            (ledger.account_get(kind=LedgerAccount.Kind.REQUESTER_AVAILABLE, owner=owner), 100),
        ],
    )
    today = timezone.now().date().isoformat()

    response = bearer_client(finance_user()).get(
        f"/api/v1/finance/statements?owner={owner}&kind=requester_available&from={today}&to={today}"
    )

    assert rows(response)[2][1:5] == [
        "'=cmd|'/c calc'!A1",
        "funding",
        '\'=HYPERLINK("https://evil.example")',
        "0.100",
    ]


def test_an_account_the_ledger_does_not_have_is_404_and_nothing_is_recorded():
    response = bearer_client(finance_user()).get(
        "/api/v1/finance/statements?owner=worker:999&kind=worker_available"
        "&from=2025-01-01&to=2025-01-31"
    )

    assert response.status_code == 404
    assert response.json()["code"] == "unknown_account"
    assert FinanceAction.objects.count() == 0


def test_bad_parameters_are_400_naming_each_and_nothing_is_recorded():
    client = bearer_client(finance_user())

    missing = client.get("/api/v1/finance/statements")
    wrong = client.get(
        "/api/v1/finance/statements?owner=worker:1&kind=savings&from=2025-02-01&to=2025-01-01"
    )
    backwards = client.get(
        "/api/v1/finance/statements?owner=worker:1&kind=worker_available"
        "&from=2025-02-01&to=2025-01-01"
    )

    assert (missing.status_code, set(missing.json()["fields"])) == (
        400,
        {"owner", "kind", "from", "to"},
    )
    assert (wrong.status_code, set(wrong.json()["fields"])) == (400, {"kind"})
    assert (backwards.status_code, set(backwards.json()["fields"])) == (400, {"to"})
    assert FinanceAction.objects.count() == 0


def test_a_client_asking_for_csv_gets_it_and_its_errors_as_json():
    finance = finance_user()
    owner = WorkerFactory().ledger_owner
    earnings_released(owner, 7_500)
    today = timezone.now().date().isoformat()
    client = bearer_client(finance)
    query = f"owner={owner}&kind=worker_available&from={today}&to={today}"

    ok = client.get(f"/api/v1/finance/statements?{query}", HTTP_ACCEPT="text/csv")
    refused = client.get("/api/v1/finance/statements?owner=x", HTTP_ACCEPT="text/csv")

    assert ok.status_code == 200
    assert rows(ok)[-1][1:] == ["", "closing_balance", "Closing balance", "", "7.500"]
    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid"
