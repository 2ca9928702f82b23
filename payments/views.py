"""The finance pages: the payout review queue, a payout's detail with the review actions, the
ledger browser (accounts, then an account's entries), the reconciliation with Stripe, and
statements to download.

Finance staff only, with two-factor authentication: anyone else gets a 404, and finance staff
without an authenticator app are sent to set one up."""

from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from marketplace.errors import ApplicationError
from payments import money, reconciliation, selectors, statements
from payments.models import LedgerAccount, Payout
from payments.services import payouts
from workforce.middleware import MFA_SETUP_MESSAGE
from workforce.selectors import accounts as account_selectors

PER_PAGE = 50
# The queue shows what waits for a decision unless another status is chosen.
REVIEW = "review"
REVIEW_STATUSES = (Payout.Status.IN_REVIEW, Payout.Status.HELD)
STATUS_CHOICES = [(REVIEW, "Waiting for review"), *Payout.Status.choices, ("all", "All")]
RECONCILIATION_DEFAULT_DAYS = 7
FLAG_LABELS = {
    "new_account": "New account",
    "over_threshold": "Over threshold",
    "rejection_rate": "Rejection rate",
    "gold_failure_rate": "Gold failures",
    "velocity": "Velocity jump",
    "shared_payout_account": "Shared payout account",
}
ACCOUNT_DEFAULT_DAYS = 30


def finance_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in finance staff only; anyone else gets a 404. Without an authenticator app they
    are sent to set one up (checked here too, whatever the middleware does)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_finance:
            raise Http404("No such page.")
        if not account_selectors.mfa_enabled(user=request.user):
            messages.warning(request, MFA_SETUP_MESSAGE)
            return redirect("mfa_activate_totp")
        return view(request, *args, **kwargs)

    return wrapper


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)
    flagged = forms.ChoiceField(
        choices=[("", "Flagged or not"), ("yes", "Flagged only"), ("no", "Not flagged")],
        required=False,
    )


class PeriodForm(forms.Form):
    date_from = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To (included)", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("date_from") and cleaned.get("date_to"):
            if cleaned["date_to"] < cleaned["date_from"]:
                self.add_error("date_to", "The period ends before it starts.")
        return cleaned


class StatementForm(PeriodForm):
    kind = forms.ChoiceField(label="Account kind", choices=LedgerAccount.Kind.choices)
    owner = forms.CharField(
        label="Owner", max_length=64, help_text="For example worker:12, vendor:3, organization:7."
    )

    field_order = ["owner", "kind", "date_from", "date_to"]


def _period_initial(days: int) -> dict:
    today = timezone.now().date()
    return {"date_from": today - timedelta(days=days), "date_to": today}


def _usd(mills: int | None) -> str:
    return money.format_usd(mills or 0)


def _shown(payout: Payout) -> Payout:
    """The payout with what the pages show: its amount in USD and its flags labelled."""
    payout.amount_usd = _usd(payout.amount_mills)
    payout.flag_badges = [
        {"label": FLAG_LABELS.get(flag["code"], flag["code"]), **flag} for flag in payout.flags
    ]
    return payout


# --- the review queue and a payout ---------------------------------------------------------------


@finance_page
def queue(request: HttpRequest) -> HttpResponse:
    form = QueueFilterForm(request.GET or None)
    status, flagged = REVIEW, ""
    if form.is_valid():
        status = form.cleaned_data["status"] or REVIEW
        flagged = form.cleaned_data["flagged"]
    payout_list = selectors.payout_list()
    if status == REVIEW:
        payout_list = payout_list.filter(status__in=REVIEW_STATUSES)
    elif status != "all":
        payout_list = payout_list.filter(status=status)
    if flagged == "yes":
        payout_list = payout_list.exclude(flags=[])
    elif flagged == "no":
        payout_list = payout_list.filter(flags=[])
    page = Paginator(payout_list, PER_PAGE).get_page(request.GET.get("page"))
    for payout in page:
        _shown(payout)
    context = {
        "section": "queue",
        "form": form if form.is_bound else QueueFilterForm(initial={"status": REVIEW}),
        "status": status,
        "page": page,
    }
    return render(request, "payments/finance/queue.html", context)


def _payout_context(payout: Payout, **extra) -> dict:
    _shown(payout)
    earnings = list(selectors.payout_earnings_with_amounts(payout=payout))
    for earning in earnings:
        earning.amount_usd = _usd(earning.payee_mills)
    balances = selectors.payee_balances_mills(owner=payout.owner)
    allowed = Payout.TRANSITIONS.get(payout.status, set())
    return {
        "section": "queue",
        "payout": payout,
        "earnings": earnings,
        "history": list(selectors.payout_actions(payout=payout)),
        "balances": [
            ("Pending", _usd(balances["pending"])),
            ("Available", _usd(balances["available"])),
            ("In a payout", _usd(balances["in_payout"])),
            ("Paid", _usd(balances["paid"])),
        ],
        "can_approve": Payout.Status.APPROVED in allowed,
        "can_hold": Payout.Status.HELD in allowed,
        "can_reject": Payout.Status.REJECTED in allowed,
        "can_mark_paid": payout.rail == Payout.Rail.MANUAL
        and payout.status == Payout.Status.APPROVED,
        "error": None,
        "posted": {},
        **extra,
    }


@finance_page
def payout_detail(request: HttpRequest, pk: int) -> HttpResponse:
    payout = selectors.payout_get(pk=pk)
    return render(request, "payments/finance/payout.html", _payout_context(payout))


ACTIONS = {
    "approve": ("approved", payouts.payout_approve),
    "hold": ("held", payouts.payout_hold),
    "reject": ("rejected", payouts.payout_reject),
    "mark-paid": ("marked paid", payouts.payout_mark_paid),
}


@require_POST
@finance_page
def payout_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404("No such action.")
    done, service = ACTIONS[action]
    payout = selectors.payout_get(pk=pk)
    arguments = {"note": request.POST.get("note", "")[:2000]}
    if action == "mark-paid":
        arguments["reference"] = request.POST.get("reference", "")[:255]
    try:
        service(payout=payout, actor=request.user, **arguments)
    except ApplicationError as error:
        payout.refresh_from_db()
        context = _payout_context(
            payout, error={"action": action, "message": error.message, "fields": error.fields},
            posted=arguments,
        )  # fmt: skip
        return render(request, "payments/finance/payout.html", context, status=error.status)
    messages.success(request, f"Payout {payout.pk} {done}.")
    return redirect("finance:payout", pk=payout.pk)


# --- the ledger ----------------------------------------------------------------------------------


class AccountFilterForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[("", "Every kind"), *LedgerAccount.Kind.choices], required=False
    )
    owner = forms.CharField(max_length=64, required=False)


@finance_page
def ledger(request: HttpRequest) -> HttpResponse:
    form = AccountFilterForm(request.GET or None)
    accounts = selectors.ledger_account_list()
    if form.is_valid():
        if form.cleaned_data["kind"]:
            accounts = accounts.filter(kind=form.cleaned_data["kind"])
        if form.cleaned_data["owner"]:
            accounts = accounts.filter(owner=form.cleaned_data["owner"].strip())
    page = Paginator(accounts, PER_PAGE).get_page(request.GET.get("page"))
    for account in page:
        account.balance_usd = _usd(account.balance_mills)
    total = selectors.ledger_total_mills()
    context = {
        "section": "ledger",
        "form": form if form.is_bound else AccountFilterForm(),
        "page": page,
        "grand_total_usd": _usd(total),
        "balanced": total == 0,
    }
    return render(request, "payments/finance/ledger.html", context)


@finance_page
def ledger_account(request: HttpRequest, pk: int) -> HttpResponse:
    account = selectors.ledger_account_get(pk=pk)
    account.balance_usd = _usd(account.balance_mills)
    form = PeriodForm(request.GET if "date_from" in request.GET else None)
    period = form.cleaned_data if form.is_valid() else _period_initial(ACCOUNT_DEFAULT_DAYS)
    statement = statements.statement_build(account=account, **period)
    for line in statement.lines:
        line.amount_usd = _usd(line.amount_mills)
        line.balance_usd = _usd(line.balance_mills)
    context = {
        "section": "ledger",
        "account": account,
        "form": form if form.is_bound else PeriodForm(initial=period),
        "statement": statement,
        "opening_usd": _usd(statement.opening_mills),
        "closing_usd": _usd(statement.closing_mills),
        "statement_form": StatementForm(
            initial={"owner": account.owner, "kind": account.kind, **period}
        ),
    }
    return render(request, "payments/finance/account.html", context)


# --- reconciliation and statements ---------------------------------------------------------------


@finance_page
def reconciliation_page(request: HttpRequest) -> HttpResponse:
    form = PeriodForm(request.GET if "date_from" in request.GET else None)
    report, error = None, None
    if form.is_valid():
        try:
            report = reconciliation.reconciliation_report(**form.cleaned_data)
        except ApplicationError as failure:
            error = failure.message
    context = {
        "section": "reconciliation",
        "form": form
        if form.is_bound
        else PeriodForm(initial=_period_initial(RECONCILIATION_DEFAULT_DAYS)),
        "report": report,
        "error": error,
    }
    if report is not None:
        context["totals"] = [
            ("Ledger", _usd(report.ledger_total_mills)),
            ("Stripe", _usd(report.stripe_total_mills) if report.stripe_configured else "—"),
            ("Matched", _usd(report.matched_total_mills)),
        ]
    return render(request, "payments/finance/reconciliation.html", context)


@finance_page
def statements_page(request: HttpRequest) -> HttpResponse:
    """The form (GET) and the download (POST: the export is recorded as a finance action)."""
    if request.method != "POST":
        form = StatementForm(initial=_period_initial(ACCOUNT_DEFAULT_DAYS))
        return render(
            request, "payments/finance/statements.html", {"section": "statements", "form": form}
        )
    form = StatementForm(request.POST)
    if form.is_valid():
        try:
            statement, text = statements.statement_export(
                actor=request.user,
                kind=form.cleaned_data["kind"],
                owner=form.cleaned_data["owner"].strip(),
                date_from=form.cleaned_data["date_from"],
                date_to=form.cleaned_data["date_to"],
            )
        except ApplicationError as error:
            form.add_error("owner", error.message)
        else:
            filename = statements.statement_filename(statement=statement)
            return HttpResponse(
                text,
                content_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{filename}"'},
            )
    context = {"section": "statements", "form": form}
    return render(request, "payments/finance/statements.html", context, status=400)
