"""The earnings pages: the worker's /work/earnings and the vendor console's /vendor/earnings/ —
balances, the payout request (refused with its reason, on the page), the payout account, payout
history and the earnings behind the balances."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from marketplace.services import offers
from payments.models import Payout, PayoutAccount
from payments.services import ledger
from payments.services import payouts as payout_services
from tasks import services
from tests.conftest import stripe_webhook_post
from tests.factories import UserFactory, WorkerFactory, job_in_progress
from tests.marketplace.test_vendor_offers import join, vendor_job, vendor_with_teams
from tests.tasks.test_earnings_api import approved, finance_user, released

pytestmark = pytest.mark.django_db

PAGE = "/work/earnings"
VENDOR_PAGE = "/vendor/earnings/"


@pytest.fixture(autouse=True)
def money_settings(settings):
    settings.EARNINGS_HOLD_DAYS = 7
    settings.PAYOUT_MINIMUM_MILLS = 100


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def table_rows(html: str, table_id: str) -> list[str]:
    table = re.search(rf'<table class="table" id="{table_id}">(.*?)</table>', html, re.S)
    body = re.search(r"<tbody>(.*)</tbody>", table.group(1), re.S) if table else None
    return [text(row) for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)] if body else []


def payout_button(html: str) -> str:
    return re.search(r'<button type="submit" class="button"[^>]*>Request payout</button>', html)[0]


def page_of(client, url: str = PAGE) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


# --- who may see it -------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(PAGE)

    assert (response.status_code, response.url) == (302, f"/accounts/login/?next={PAGE}")


def test_a_user_without_a_worker_profile_is_sent_to_the_join_page(client):
    client.force_login(UserFactory())

    assert client.get(PAGE).url == "/work/join"
    assert client.post(f"{PAGE}/payout").url == "/work/join"
    assert Payout.objects.count() == 0


def test_the_worker_navigation_links_to_the_page_next_to_my_work(client, worker):
    client.force_login(worker.user)

    html = page_of(client, "/work/")

    assert (
        '<a class="nav-link" href="/work/history">My work</a>\n'
        '            <a class="nav-link" href="/work/earnings">Earnings</a>'
    ) in html


# --- what it shows --------------------------------------------------------------------------------


def test_the_page_shows_balances_earnings_and_where_each_is(client, organization, worker):
    # Given a released reward, a pending reward with a bonus, and another worker's reward
    job = job_in_progress(organization, objects=3)
    old = approved(worker=worker, job=job)
    released()
    recent = approved(worker=worker, job=job)
    services.assignment_bonus(
        assignment=recent, amount_mills=120, reason="Careful work.", unique_request_token="t"
    )
    approved(worker=WorkerFactory(), job=job)
    client.force_login(worker.user)

    html = page_of(client)

    # Then the balances are the worker's own
    balances = dict(re.findall(r'data-balance="(\w+)">\$([0-9.]+)<', html))
    assert balances == {
        "pending": "0.170", "available": "0.050", "in_payout": "0.000", "paid": "0.000",
    }  # fmt: skip
    # And the earnings show newest first, with the task and job behind each
    available_from = (timezone.now() + timedelta(days=7)).strftime("%-d %b %Y")
    rows = table_rows(html, "earnings")
    assert len(rows) == 3
    assert f"Bonus on task {recent.pk} Careful work. $0.120 Pending available from " in rows[0]
    assert rows[0].endswith(available_from)
    assert f"Cat or dog? pets Task {recent.pk} $0.050 Pending" in rows[1]
    assert rows[2].endswith(f"Cat or dog? pets Task {old.pk} $0.050 Available")
    # And on the manual rail, no payout account is needed
    assert "Payouts are paid by the platform by bank transfer" in html
    assert "Connect a payout account" not in html
    assert "No payouts yet." in html


def test_below_the_minimum_the_payout_button_is_disabled_with_the_reason(
    client, organization, worker
):
    approved(worker=worker, job=job_in_progress(organization, objects=1))
    released()  # $0.050 available, the minimum is $0.100
    client.force_login(worker.user)

    html = page_of(client)

    assert "disabled" in payout_button(html)
    assert "You can ask for a payout from $0.100 available." in html


def test_requesting_a_payout_shows_it_in_the_history_and_disables_the_next(
    client, organization, worker
):
    # Given $0.100 available
    job = job_in_progress(organization, objects=2)
    approved(worker=worker, job=job)
    approved(worker=worker, job=job)
    released()
    client.force_login(worker.user)
    assert "disabled" not in payout_button(page_of(client))

    # When the worker requests a payout
    response = client.post(f"{PAGE}/payout", follow=True)

    # Then it is in review, in the history and in the balances; the button waits for it
    payout = Payout.objects.get(owner=worker.ledger_owner)
    html = response.content.decode()
    assert response.redirect_chain == [(PAGE, 302)]
    assert "You asked for a payout of $0.100." in text(html)
    (row,) = table_rows(html, "payouts")
    assert row == f"{payout.created_at:%-d %b %Y, %H:%M} $0.100 In review —"
    assert re.search(r'data-balance="in_payout">\$0\.100<', html)
    assert "disabled" in payout_button(html)
    assert "A payout is on its way already" in html
    assert [row.split(" $0.050 ")[1] for row in table_rows(html, "earnings")] == ["In a payout"] * 2

    # When finance pays it by hand: paid, with the date
    finance = finance_user()
    payout_services.payout_approve(payout=payout, actor=finance)
    payout = payout_services.payout_mark_paid(payout=payout, actor=finance, reference="B-1")
    html = page_of(client)
    (row,) = table_rows(html, "payouts")
    assert row.endswith(f"$0.100 Paid {payout.paid_at:%-d %b %Y}")
    assert re.search(r'data-balance="paid">\$0\.100<', html)


def test_a_refused_payout_request_is_said_on_the_page_and_changes_nothing(
    client, organization, worker
):
    approved(worker=worker, job=job_in_progress(organization, objects=1))
    released()
    client.force_login(worker.user)

    response = client.post(f"{PAGE}/payout", follow=True)

    assert response.status_code == 200
    assert (
        "No payout was requested: Payouts start at $0.100; the available balance is $0.050."
        in text(response.content.decode())
    )
    assert Payout.objects.count() == 0


def test_the_page_only_reads(client, worker):
    client.force_login(worker.user)

    assert client.post(PAGE).status_code == 405
    assert client.get(f"{PAGE}/payout").status_code == 405


# --- the payout account on Stripe -----------------------------------------------------------------


def test_connecting_a_payout_account_sends_the_worker_to_stripe(client, worker, stripe):
    client.force_login(worker.user)
    html = page_of(client)
    assert "Connect a payout account" in html

    response = client.post(f"{PAGE}/payout-account")

    account = PayoutAccount.objects.get(owner=worker.ledger_owner)
    assert response.status_code == 302
    assert response.url.startswith(
        f"https://connect.stripe.com/setup/e/{account.stripe_account_id}/"
    )
    back = text(page_of(client, f"{PAGE}?onboarding=done"))
    assert "Welcome back from Stripe." in back
    assert "Onboarding Stripe is waiting for your details, or checking them." in back
    assert "Continue on Stripe" in back


def test_when_stripe_fails_the_page_says_so(client, worker, stripe):
    client.force_login(worker.user)
    stripe.fail_next("POST", "/v1/accounts", status=500)

    response = client.post(f"{PAGE}/payout-account", follow=True)

    assert response.redirect_chain == [(PAGE, 302)]
    assert "The payout account was not connected: Stripe could not be reached" in text(
        response.content.decode()
    )
    assert PayoutAccount.objects.count() == 0


def test_a_ready_or_restricted_account_shows_as_such(
    client, organization, worker, stripe, django_capture_on_commit_callbacks
):
    job = job_in_progress(organization, objects=2)
    approved(worker=worker, job=job)
    approved(worker=worker, job=job)
    released()
    client.force_login(worker.user)
    client.post(f"{PAGE}/payout-account")
    account = PayoutAccount.objects.get()
    html = page_of(client)
    assert "disabled" in payout_button(html)
    assert "Connect a payout account first: payouts are sent to it." in html

    def account_updated(**obj) -> None:
        event = stripe.event("account.updated", {"id": account.stripe_account_id, **obj})
        with django_capture_on_commit_callbacks(execute=True):
            assert stripe_webhook_post(client, event).status_code == 200

    account_updated(payouts_enabled=True, details_submitted=True, requirements={})
    html = page_of(client)
    assert "Ready Payouts go to your Stripe account." in text(html)
    assert "disabled" not in payout_button(html)

    account_updated(payouts_enabled=False, requirements={"currently_due": ["external_account"]})
    html = text(page_of(client))
    assert "Restricted Stripe cannot send payouts to your account" in html
    assert "Stripe still needs: external_account" in html


# --- the vendor console ---------------------------------------------------------------------------


def test_only_the_vendors_managers_see_the_vendor_page(client, worker):
    client.force_login(worker.user)
    assert client.get(VENDOR_PAGE).status_code == 404
    _, manager_without_mfa, _ = vendor_with_teams(mfa=False)
    client.force_login(manager_without_mfa)
    for response in (client.get(VENDOR_PAGE), client.post(f"{VENDOR_PAGE}payout")):
        assert (response.status_code, response.url) == (302, "/accounts/2fa/totp/activate/")
    assert Payout.objects.count() == 0


def test_the_vendor_sees_its_earnings_and_requests_a_payout(client, organization):
    # Given a vendor job of two objects at $0.100, approved, released
    vendor, manager, (alpha,) = vendor_with_teams()
    ana = WorkerFactory()
    join(alpha, ana)
    job = vendor_job(organization, vendor, objects=2, name="vend", title="Vendor pets")
    offers.vendor_offer_accept(offer=job.vendor_offers.get(), team=alpha, responded_by=manager)
    first = approved(worker=ana, job=job)
    approved(worker=ana, job=job)
    ledger.earnings_release_due(now=timezone.now() + timedelta(days=8))
    client.force_login(manager)

    html = page_of(client, VENDOR_PAGE)

    assert re.search(r'data-balance="available">\$0\.200<', html)
    assert '<a class="button small" href="/vendor/earnings/" aria-current="page">Earnings</a>' in (
        html
    )
    rows = table_rows(html, "earnings")
    assert rows[1].endswith(f"Vendor pets vend Task {first.pk} $0.100 Available")

    response = client.post(f"{VENDOR_PAGE}payout", follow=True)

    assert response.redirect_chain == [(VENDOR_PAGE, 302)]
    payout = Payout.objects.get()
    assert (payout.owner, payout.amount_mills) == (vendor.ledger_owner, 200)
    (row,) = table_rows(response.content.decode(), "payouts")
    assert row.endswith("$0.200 In review —")
