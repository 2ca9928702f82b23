"""The finance pages: who may see them, the review actions with their errors on the page, the
ledger browser, reconciliation and statements (Django's test client); then the review of a
flagged payout in headless Chromium, signed in with an authenticator code."""

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from payments.models import FinanceAction, LedgerAccount, LedgerTransaction, Payout
from payments.services import payouts
from tests.factories import UserFactory, WorkerFactory
from tests.payments.test_finance_api import earnings_released, finance_user, payout_requested
from tests.workforce.test_security_mfa import PASSWORD, totp_activate, totp_code

# --- the pages, through Django's test client -----------------------------------------------------


@pytest.fixture
def finance(client):
    user = finance_user()
    client.force_login(user)
    return user


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["/finance/", "/finance/ledger", "/finance/reconciliation", "/finance/statements"],
)
def test_only_finance_staff_with_an_authenticator_see_the_pages(client, path):
    outsider = UserFactory()
    client.force_login(outsider)
    assert client.get(path).status_code == 404

    unprotected = finance_user(mfa=False)
    client.force_login(unprotected)
    redirected = client.get(path)
    assert (redirected.status_code, redirected.url) == (302, reverse("mfa_activate_totp"))

    client.force_login(finance_user())
    page = client.get(path)
    assert page.status_code == 200
    assert b'href="/finance/" aria-current="page">Finance</a>' in page.content


@pytest.mark.django_db
def test_a_hold_without_a_note_shows_the_error_on_the_page_and_changes_nothing(client, finance):
    payout = payout_requested(WorkerFactory().ledger_owner, 12_000)

    response = client.post(f"/finance/payouts/{payout.pk}/hold", {"note": " "})

    assert response.status_code == 400
    assert "Not done:" in response.content.decode()
    assert '<ul class="errorlist"><li>Say why, for the record.</li></ul>' in (
        response.content.decode()
    )
    payout.refresh_from_db()
    assert payout.status == Payout.Status.IN_REVIEW
    assert FinanceAction.objects.count() == 0


@pytest.mark.django_db
def test_marking_paid_without_a_reference_keeps_the_note_and_says_why(client, finance):
    payout = payout_requested(WorkerFactory().ledger_owner, 12_000)
    payouts.payout_approve(payout=payout, actor=finance)

    response = client.post(
        f"/finance/payouts/{payout.pk}/mark-paid", {"reference": "", "note": "Wire sent"}
    )

    assert response.status_code == 400
    body = response.content.decode()
    assert "Give the reference of the payment made." in body
    assert ">Wire sent</textarea>" in body
    payout.refresh_from_db()
    assert payout.status == Payout.Status.APPROVED


@pytest.mark.django_db
def test_the_ledger_browser_shows_balances_and_an_accounts_entries(client, finance):
    owner = WorkerFactory().ledger_owner
    (earning,) = earnings_released(owner, 7_500)
    account = LedgerAccount.objects.get(kind="worker_available", owner=owner)

    ledger_page = client.get("/finance/ledger").content.decode()
    account_page = client.get(f"/finance/ledger/accounts/{account.pk}").content.decode()

    assert "The sum of every account is <strong>$0.000</strong>: the ledger balances." in (
        ledger_page
    )
    assert f'href="/finance/ledger/accounts/{account.pk}"' in ledger_page
    assert f"<code>earning-release:{earning.pk}</code>" in account_page
    # the amount, the balance after it, the closing balance
    assert account_page.count('<td class="num">$7.500</td>') == 3


@pytest.mark.django_db
def test_the_reconciliation_page_without_stripe_lists_the_ledger_side(client, finance):
    earnings_released(WorkerFactory().ledger_owner, 7_500)
    today = timezone.now().date().isoformat()

    response = client.get(f"/finance/reconciliation?date_from={today}&date_to={today}")

    body = response.content.decode()
    assert response.status_code == 200
    assert "Stripe is not configured" in body
    assert "The ledger's side" in body


@pytest.mark.django_db
def test_a_statement_downloaded_from_the_page_is_recorded(client, finance):
    owner = WorkerFactory().ledger_owner
    earnings_released(owner, 7_500)
    today = timezone.now().date().isoformat()

    response = client.post(
        "/finance/statements",
        {"owner": owner, "kind": "worker_available", "date_from": today, "date_to": today},
    )
    unknown = client.post(
        "/finance/statements",
        {"owner": "worker:0", "kind": "worker_available", "date_from": today, "date_to": today},
    )

    assert response.status_code == 200
    lines = list(csv.reader(io.StringIO(response.content.decode())))
    assert lines[-1][2:] == ["closing_balance", "Closing balance", "", "7.500"]
    assert unknown.status_code == 400
    assert "The ledger has no worker_available account of worker:0." in unknown.content.decode()
    assert FinanceAction.objects.filter(action="statement_export").count() == 1


# --- in the browser ------------------------------------------------------------------------------


def sign_in_with_code(page: Page, base_url: str, email: str, secret: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.fill("input[name=code]", totp_code(secret))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_attached()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_finance_holds_a_flagged_payout_then_approves_and_pays_it_by_hand(
    live_server, browser_page, settings, tmp_path
):
    # Given a payout of a payee of long standing and a flagged one of a new payee (manual rail)
    settings.PAYOUT_NEW_ACCOUNT_DAYS = 0
    steady = payout_requested(WorkerFactory().ledger_owner, 8_000, 4_500)
    settings.PAYOUT_NEW_ACCOUNT_DAYS = 14
    newcomer = WorkerFactory()
    flagged = payout_requested(newcomer.ledger_owner, 20_000, 5_250)
    user = finance_user(mfa=False)
    secret = totp_activate(user)
    page = browser_page

    # When finance signs in with a code and opens the queue from the navigation
    sign_in_with_code(page, live_server.url, user.email, secret)
    page.get_by_role("link", name="Finance").click()

    # Then both payouts wait for review, the new payee's flagged
    expect(page.get_by_role("heading", name="Payout review")).to_be_visible()
    flagged_row = page.get_by_role("row").filter(has_text=newcomer.ledger_owner)
    steady_row = page.get_by_role("row").filter(has_text=steady.owner)
    expect(flagged_row).to_contain_text("$25.250")
    expect(flagged_row.locator(".badge.warning")).to_have_text("New account")
    expect(steady_row).to_contain_text("None")
    page.screenshot(path=tmp_path / "finance-queue.png", full_page=True)

    # When they open the flagged payout and hold it with a note
    flagged_row.get_by_role("link", name="Review").click()
    expect(page.get_by_role("heading", name=f"Payout #{flagged.pk} · $25.250")).to_be_visible()
    expect(page.get_by_role("region", name="Flags")).to_contain_text(
        f"The payee joined on {newcomer.created_at:%Y-%m-%d}."
    )
    expect(
        page.get_by_role("region", name="Earnings in this payout").get_by_role("row")
    ).to_have_count(3)
    page.get_by_label("Why").first.fill("Asking the payee for an ID.")
    page.get_by_role("button", name="Hold payout").click()

    # Then it is held, and can still be approved or rejected
    expect(page.get_by_role("status")).to_contain_text(f"Payout {flagged.pk} held.")
    expect(page.get_by_role("button", name="Hold payout")).to_have_count(0)
    page.screenshot(path=tmp_path / "finance-payout-held.png", full_page=True)

    # When they approve it, pay it by wire and mark it paid with the reference
    page.locator("#approve-note").fill("ID checked.")
    page.get_by_role("button", name="Approve payout").click()
    expect(page.get_by_role("status")).to_contain_text(f"Payout {flagged.pk} approved.")
    page.get_by_label("Reference").fill("WIRE-2025-0042")
    page.get_by_role("button", name="Mark paid").click()

    # Then it is paid, with every decision in its history
    expect(page.get_by_role("status")).to_contain_text(f"Payout {flagged.pk} marked paid.")
    expect(page.locator(".page-head .badge")).to_have_text("Paid")
    history = page.get_by_role("region", name="History").get_by_role("row")
    expect(history).to_have_count(4)
    expect(history.nth(1)).to_contain_text("Hold")
    expect(history.nth(1)).to_contain_text("Asking the payee for an ID.")
    expect(history.nth(2)).to_contain_text("ID checked.")
    expect(history.nth(3)).to_contain_text("WIRE-2025-0042")
    expect(page.get_by_role("region", name="Decide")).to_have_count(0)
    page.screenshot(path=tmp_path / "finance-payout.png", full_page=True)
    flagged.refresh_from_db()
    assert (flagged.status, flagged.reference) == (Payout.Status.PAID, "WIRE-2025-0042")
    sent = LedgerTransaction.objects.get(idempotency_key=f"payout:{flagged.pk}:sent")
    assert sent.external_id == "WIRE-2025-0042"
