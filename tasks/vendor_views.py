"""The vendor console: job offers to accept (choosing a team) or decline, the jobs the vendor's
teams work with their progress, and its workers' statistics. The team pages are at
/vendor/teams/ (workforce/views/teams.py).

These pages sit on top of every app: they read offers (marketplace) and statistics (tasks)."""

from collections.abc import Callable
from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from marketplace import selectors as jobs
from marketplace.errors import ApplicationError
from marketplace.models import VendorOffer
from marketplace.services import offers
from payments import money
from tasks import vendor_stats
from tasks import views as pages
from workforce.models import Vendor
from workforce.selectors import accounts as account_selectors
from workforce.selectors import teams as team_selectors

TEAMS_PATH = "/vendor/teams/"  # the team pages, built in workforce/views/teams.py
WORKERS_PER_PAGE = 50
PAST_OFFERS_SHOWN = 20


def vendor_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in vendor managers only; anyone else gets a 404. A manager without two-factor
    authentication is asked to set it up (checked here too, whatever the middleware does)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        vendor = account_selectors.vendor_for(user=request.user)
        if vendor is None:
            raise Http404("No such page.")
        if not account_selectors.mfa_enabled(user=request.user):
            return render(request, "workforce/vendor/mfa_required.html", status=403)
        return view(request, *args, vendor=vendor, **kwargs)

    return wrapper


class OfferAcceptForm(forms.Form):
    # Any id: the service says whether it is one of the vendor's teams.
    team_id = forms.IntegerField()


class OfferDeclineForm(forms.Form):
    # Required and length-checked by the service, as for the API.
    reason = forms.CharField(required=False)


def _context(vendor: Vendor, section: str, **extra) -> dict:
    return {"vendor": vendor, "section": section, "teams_path": TEAMS_PATH, **extra}


def _priced(offer_list: list[VendorOffer]) -> list[VendorOffer]:
    """Give each offer its price per object and its worth (every object) as USD strings."""
    for offer in offer_list:
        offer.price_usd = money.format_usd(offer.price_per_object_mills)
        offer.value_usd = money.format_usd(offer.price_per_object_mills * offer.job.object_count)
    return offer_list


@vendor_page
def console(request: HttpRequest, *, vendor: Vendor) -> HttpResponse:
    received = jobs.vendor_offer_list_for_vendor(vendor=vendor)
    balances = vendor_stats.vendor_balances_mills(vendor=vendor)
    context = _context(
        vendor,
        "offers",
        pending=_priced(list(received.filter(status=VendorOffer.Status.PENDING))),
        accepted=_priced(list(received.filter(status=VendorOffer.Status.ACCEPTED))),
        past=list(
            received.filter(status__in=[VendorOffer.Status.DECLINED, VendorOffer.Status.WITHDRAWN])[
                :PAST_OFFERS_SHOWN
            ]
        ),
        teams=list(team_selectors.team_list_for(owner=vendor)),
        pending_earnings=money.format_usd(balances["pending"]),
        available_earnings=money.format_usd(balances["available"]),
    )
    return render(request, "workforce/vendor/console.html", context)


@require_POST
@vendor_page
def offer_accept(request: HttpRequest, pk: int, *, vendor: Vendor) -> HttpResponse:
    offer = jobs.vendor_offer_get_for_vendor(vendor=vendor, pk=pk)
    form = OfferAcceptForm(request.POST)
    try:
        team_id = form.cleaned_data["team_id"] if form.is_valid() else None
        team = offers.vendor_team_get(vendor=vendor, pk=team_id)
        offers.vendor_offer_accept(offer=offer, team=team, responded_by=request.user)
    except ApplicationError as error:
        messages.error(request, f"“{offer.job.title}” was not accepted: {error.message}")
    else:
        messages.success(
            request, f"You accepted “{offer.job.title}”. {team.name} can start working on it."
        )
    return redirect("vendor-console")


@require_POST
@vendor_page
def offer_decline(request: HttpRequest, pk: int, *, vendor: Vendor) -> HttpResponse:
    offer = jobs.vendor_offer_get_for_vendor(vendor=vendor, pk=pk)
    form = OfferDeclineForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        offers.vendor_offer_decline(offer=offer, reason=reason, responded_by=request.user)
    except ApplicationError as error:
        messages.error(request, f"“{offer.job.title}” was not declined: {error.message}")
    else:
        messages.success(request, f"You declined “{offer.job.title}”.")
    return redirect("vendor-console")


@vendor_page
def workers(request: HttpRequest, *, vendor: Vendor) -> HttpResponse:
    paginator = Paginator(vendor_stats.vendor_worker_list_for(vendor=vendor), WORKERS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    statistics = vendor_stats.vendor_worker_statistics(vendor=vendor, workers=list(page))
    context = _context(vendor, "workers", page=page, statistics=statistics)
    return render(request, "workforce/vendor/workers.html", context)


@require_GET
@vendor_page
def earnings(request: HttpRequest, *, vendor: Vendor) -> HttpResponse:
    """The vendor's balances, payouts, payout account and the earnings behind them."""
    context = _context(
        vendor,
        "earnings",
        **pages.earnings_context(request, owner=vendor.ledger_owner),
        payout_url=reverse("vendor-earnings-payout"),
        connect_url=reverse("vendor-earnings-payout-account"),
    )
    return render(request, "workforce/vendor/earnings.html", context)


@require_POST
@vendor_page
def earnings_payout(request: HttpRequest, *, vendor: Vendor) -> HttpResponse:
    pages.payout_request_page(request, owner=vendor.ledger_owner)
    return redirect("vendor-earnings")


@require_POST
@vendor_page
def earnings_payout_account(request: HttpRequest, *, vendor: Vendor) -> HttpResponse:
    return pages.payout_account_connect_page(
        request, owner=vendor.ledger_owner, page_name="vendor-earnings"
    )


urlpatterns = [
    path("vendor/", console, name="vendor-console"),
    path("vendor/offers/<int:pk>/accept", offer_accept, name="vendor-offer-accept"),
    path("vendor/offers/<int:pk>/decline", offer_decline, name="vendor-offer-decline"),
    path("vendor/workers/", workers, name="vendor-workers"),
    path("vendor/earnings/", earnings, name="vendor-earnings"),
    path("vendor/earnings/payout", earnings_payout, name="vendor-earnings-payout"),
    path(
        "vendor/earnings/payout-account",
        earnings_payout_account,
        name="vendor-earnings-payout-account",
    ),
]
