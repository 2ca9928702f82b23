import mimetypes
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from marketplace import selectors as jobs
from marketplace.errors import ApplicationError
from marketplace.models import Job
from payments import money
from payments import selectors as payments
from payments.models import Payout
from payments.services import payouts as payout_services
from tasks import answers, earnings, selectors, storage, templating
from tasks.manifests import input as manifest_input
from workforce.models import Worker
from workforce.selectors import accounts as workforce

HISTORY_PER_PAGE = 50
EARNINGS_PER_PAGE = 50
PAYOUTS_SHOWN = 20
ONBOARDING_MESSAGES = {
    "done": "Welcome back from Stripe. Your payout account is ready as soon as Stripe confirms "
    "it; this page shows its status.",
    "expired": "The Stripe onboarding link expired. Connect your payout account again to go on.",
}


def worker_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in workers only: anyone else signed in is asked to join the crowd first. The view
    gets the worker as `worker`."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        worker = workforce.worker_for(user=request.user)
        if worker is None:
            return redirect("worker-join")
        return view(request, *args, worker=worker, **kwargs)

    return wrapper


@worker_page
def job_board(request: HttpRequest, *, worker: Worker) -> HttpResponse:
    jobs = selectors.job_board_for(worker=worker)
    return render(request, "tasks/job_board.html", {"jobs": jobs})


@worker_page
def labeling(request: HttpRequest, job_id: int, *, worker: Worker) -> HttpResponse:
    """The labeling page; the task itself is claimed and submitted through the API."""
    job = jobs.job_get_eligible_for(worker=worker, pk=job_id)
    context = {
        "job": job,
        "is_custom": job.task_type == Job.TaskType.CUSTOM,
        "is_text": job.task_type in manifest_input.TEXT_TASK_TYPES,
        "is_multilabel": answers.is_multilabel(job.task_type),
    }
    return render(request, "tasks/labeling.html", context)


@worker_page
@require_GET
def history(request: HttpRequest, *, worker: Worker) -> HttpResponse:
    """The worker's answered tasks, newest first, with how each was reviewed."""
    paginator = Paginator(selectors.assignment_list_for_worker(worker=worker), HISTORY_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "tasks/history.html", {"page": page})


@login_required
@require_GET
@xframe_options_sameorigin
def custom_frame(request: HttpRequest, pk: int) -> HttpResponse:
    """A custom task's page, for the labeling page's sandboxed frame: only the worker holding
    the lease can load it, and only while the lease runs."""
    worker = workforce.worker_for(user=request.user)
    if worker is None:
        raise Http404("No such task.")
    assignment = selectors.assignment_get_for_worker(worker=worker, pk=pk)
    if assignment.job.task_type != Job.TaskType.CUSTOM or not templating.lease_is_live(assignment):
        raise Http404("No such task.")
    script_url = request.build_absolute_uri(static("tasks/crowd-elements.js"))
    response = render(
        request,
        "tasks/custom_frame.html",
        {"page": templating.render_task_page(assignment=assignment), "script_url": script_url},
    )
    response["Content-Security-Policy"] = templating.frame_content_security_policy(
        script_url=script_url, site_origin=request.build_absolute_uri("/").rstrip("/")
    )
    response["Referrer-Policy"] = "no-referrer"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def object_download(request: HttpRequest, token: str) -> FileResponse:
    """Serve an object of local storage behind a signed, expiring URL (as S3 presigns one)."""
    path = storage.local_path_for_token(token)
    if path is None or not path.is_file():
        raise Http404("This link is not valid or has expired.")
    content_type, _ = mimetypes.guess_type(path.name)
    response = FileResponse(
        path.open("rb"), content_type=content_type or "application/octet-stream"
    )
    response["Cache-Control"] = "private, max-age=60"
    return response


# --- Earnings: the worker's page here; the vendor console's in tasks/vendor_views.py ----------


def earnings_context(request: HttpRequest, *, owner: str) -> dict:
    """What an earnings page shows: balances, payout standing, payout history, earnings."""
    balances = payments.payee_balances_mills(owner=owner)
    paginator = Paginator(earnings.earning_entry_list_for(owner=owner), EARNINGS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return {
        "balances": {name: money.format_usd(mills) for name, mills in balances.items()},
        "standing": earnings.payout_standing_for(
            owner=owner, available_mills=balances["available"]
        ),
        "payout_minimum": money.format_usd(settings.PAYOUT_MINIMUM_MILLS),
        "hold_days": settings.EARNINGS_HOLD_DAYS,
        "payouts": _priced(list(payments.payout_list_for(owner=owner)[:PAYOUTS_SHOWN])),
        "page": page,
        "earnings": earnings.earnings_described(entries=list(page)),
        "onboarding_message": ONBOARDING_MESSAGES.get(request.GET.get("onboarding", "")),
    }


def _priced(payouts: list[Payout]) -> list[Payout]:
    for payout in payouts:
        payout.amount_usd = money.format_usd(payout.amount_mills)
    return payouts


def payout_request_page(request: HttpRequest, *, owner: str) -> None:
    """Ask for a payout from a page; the outcome is told as a message."""
    try:
        payout = payout_services.payout_request(owner=owner)
    except ApplicationError as error:
        messages.error(request, f"No payout was requested: {error.message}")
    else:
        messages.success(
            request,
            f"You asked for a payout of ${money.format_usd(payout.amount_mills)}. "
            "It is paid once the platform's finance team has reviewed it.",
        )


def payout_account_connect_page(
    request: HttpRequest, *, owner: str, page_name: str
) -> HttpResponse:
    """Send the payee to Stripe's onboarding, or back to the page with the reason it cannot."""
    page_url = request.build_absolute_uri(reverse(page_name))
    try:
        url = payout_services.payout_account_connect(
            owner=owner,
            email=request.user.email,
            refresh_url=f"{page_url}?onboarding=expired",
            return_url=f"{page_url}?onboarding=done",
        )
    except ApplicationError as error:
        messages.error(request, f"The payout account was not connected: {error.message}")
    else:
        return redirect(url)
    return redirect(page_name)


@worker_page
@require_GET
def earnings_page(request: HttpRequest, *, worker: Worker) -> HttpResponse:
    """The worker's balances, payouts, payout account and the earnings behind them."""
    context = earnings_context(request, owner=worker.ledger_owner)
    context["payout_url"] = reverse("tasks:earnings-payout")
    context["connect_url"] = reverse("tasks:earnings-payout-account")
    return render(request, "tasks/earnings.html", context)


@worker_page
@require_POST
def earnings_payout(request: HttpRequest, *, worker: Worker) -> HttpResponse:
    payout_request_page(request, owner=worker.ledger_owner)
    return redirect("tasks:earnings")


@worker_page
@require_POST
def earnings_payout_account(request: HttpRequest, *, worker: Worker) -> HttpResponse:
    return payout_account_connect_page(
        request, owner=worker.ledger_owner, page_name="tasks:earnings"
    )
