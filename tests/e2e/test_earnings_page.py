"""The worker's Earnings page in headless Chromium: from the navigation, request a payout and see
it in the payout history, with the balances moved."""

import pytest
from playwright.sync_api import expect

from payments.models import Payout
from tasks import services
from tests.e2e.test_labeling_portal import sign_in
from tests.factories import job_in_progress
from tests.tasks.test_earnings_api import approved, released

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_worker_requests_a_payout_and_sees_it_in_the_history(
    live_server, browser_page, organization, worker, settings, tmp_path
):
    # Given two approved answers at $0.050 released, a pending one with a $0.250 bonus
    settings.PAYOUT_MINIMUM_MILLS = 100
    job = job_in_progress(organization, objects=3)
    approved(worker=worker, job=job)
    approved(worker=worker, job=job)
    released()
    recent = approved(worker=worker, job=job)
    services.assignment_bonus(
        assignment=recent, amount_mills=250, reason="Great care with the hard ones.",
        unique_request_token="e2e",
    )  # fmt: skip
    page = browser_page
    sign_in(page, live_server.url, worker)

    # When the worker opens Earnings from the navigation
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Earnings").click()
    expect(page.get_by_role("heading", name="Earnings", level=1)).to_be_visible()
    expect(page.locator('[data-balance="available"]')).to_have_text("$0.100")
    expect(page.locator('[data-balance="pending"]')).to_have_text("$0.300")
    expect(page.locator("#earnings tbody tr")).to_have_count(4)
    expect(page.locator("#earnings tbody tr").first).to_contain_text(
        "Great care with the hard ones."
    )
    expect(page.get_by_text("Payouts are paid by the platform by bank transfer")).to_be_visible()

    # And requests a payout
    page.get_by_role("button", name="Request payout").click()

    # Then it shows in the payout history, in review, and the balances moved
    expect(page.get_by_role("status")).to_contain_text("You asked for a payout of $0.100.")
    history = page.locator("#payouts tbody tr")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text("$0.100")
    expect(history.first).to_contain_text("In review")
    expect(page.locator('[data-balance="available"]')).to_have_text("$0.000")
    expect(page.locator('[data-balance="in_payout"]')).to_have_text("$0.100")
    expect(page.get_by_role("button", name="Request payout")).to_be_disabled()
    expect(page.get_by_text("A payout is on its way already")).to_be_visible()
    payout = Payout.objects.get()
    assert (payout.owner, payout.amount_mills, payout.status) == (
        worker.ledger_owner,
        100,
        Payout.Status.IN_REVIEW,
    )
    page.screenshot(path=str(tmp_path / "earnings.png"), full_page=True)
