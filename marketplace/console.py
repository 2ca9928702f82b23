"""The requester's job pages: the organisation's jobs (/jobs/), a form that creates a job
(/jobs/new) and a job's page with its progress, output and history (/jobs/<name>/).

The form is only a way to type a job spec: it builds the same spec a client sends to
POST /api/v1/labeling-jobs and validates it with the API's JobSpecInput, so the page and the
API accept and refuse exactly the same jobs. Every error is shown beside the field it is about.
"""

import re
from collections.abc import Callable
from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from marketplace import selectors
from marketplace.api.serializers import CATEGORY_DOCUMENT_VERSION, JobSpecInput
from marketplace.api.views import JobFilter
from marketplace.errors import ApplicationError, field_errors
from marketplace.models import Job
from marketplace.services import jobs
from payments import money, stripe_gateway
from payments import selectors as ledger
from payments.models import LedgerAccount
from payments.services import funding
from workforce.models import Organization, Vendor
from workforce.selectors import accounts as account_selectors
from workforce.selectors import teams as team_selectors

JOBS_PER_PAGE = 50
STOPPABLE = (Job.Status.INITIALIZING, Job.Status.IN_PROGRESS)
OUTPUT_WRITTEN = (Job.Status.COMPLETED, Job.Status.STOPPED)


def requester_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in members of a requester organisation; anyone else gets a 404."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        organization = account_selectors.organization_for(user=request.user)
        if organization is None:
            raise Http404("No such page.")
        return view(request, *args, organization=organization, **kwargs)

    return wrapper


def _duration(seconds: int) -> str:
    """259200 → "259,200 seconds (3 days)": the spec's seconds, and the round unit they make."""
    text = f"{seconds:,} second{'s' if seconds != 1 else ''}"
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{text} ({count:,} {unit}{'s' if count != 1 else ''})"
    return text


def _vendors() -> QuerySet[Vendor]:
    # Every vendor can be offered a job (the service looks them up by slug the same way).
    return account_selectors.vendor_list()


# --- the job form ------------------------------------------------------------------------------

_SPEC_FIELDS = JobSpecInput().fields


def _default(name: str) -> int:
    return _SPEC_FIELDS[name].default


def _range(name: str, unit: str = "") -> str:
    field = _SPEC_FIELDS[name]
    return f"{field.min_value:,} to {field.max_value:,}{unit}"


def _text(label: str, help_text: str = "", **attrs) -> forms.CharField:
    return forms.CharField(
        label=label, help_text=help_text, required=False, widget=forms.TextInput(attrs=attrs)
    )


def _number(label: str, help_text: str = "", **attrs) -> forms.CharField:
    return forms.CharField(
        label=label,
        help_text=help_text,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", **attrs}),
    )


def _area(label: str, help_text: str = "", rows: int = 4, **attrs) -> forms.CharField:
    return forms.CharField(
        label=label,
        help_text=help_text,
        required=False,
        widget=forms.Textarea(attrs={"rows": rows, **attrs}),
    )


def _usd(label: str, help_text: str) -> forms.CharField:
    return _text(label, help_text, inputmode="decimal", placeholder="0.050")


class JobSpecForm(forms.Form):
    """The fields of a job spec as text. The form itself checks nothing: `spec()` turns what was
    typed into the API's spec, and JobSpecInput's errors are put back on these fields."""

    # Fields the spec does without: shown as "(optional)".
    OPTIONAL = frozenset(
        {
            "input_manifest_uri",
            "input_s3_prefix",
            "label_attribute_name",
            "keywords",
            "short_instructions",
            "full_instructions",
            "good_example",
            "bad_example",
            "task_availability_lifetime_seconds",
            "reward_per_task",
            "vendor_price_per_object",
            "max_human_labeled_objects",
            "max_percentage_labeled",
            "consolidation",
            "pre_annotation_hook",
            "post_annotation_hook",
            "ui_template",
        }
    )
    # The spec's name of each error (as the API names it) → the field that shows it.
    FIELD_FOR_ERROR = {
        "label_categories": "labels",
        "instructions": "short_instructions",
        "instructions.short": "short_instructions",
        "instructions.full": "full_instructions",
        "instructions.good_example": "good_example",
        "instructions.bad_example": "bad_example",
        "stopping_conditions": "max_human_labeled_objects",
        "stopping_conditions.max_human_labeled_objects": "max_human_labeled_objects",
        "stopping_conditions.max_percentage_labeled": "max_percentage_labeled",
    }

    name = _text(
        "Job name",
        "Letters, digits and hyphens, up to 63 characters; unique in your organisation. "
        "The output is written under this name.",
        autocomplete="off",
        spellcheck="false",
    )
    task_type = forms.CharField(
        label="Task type", required=False, widget=forms.Select(choices=Job.TaskType.choices)
    )
    input_manifest_uri = _text(
        "Input manifest URI",
        "An S3 URI of a JSON Lines manifest, one object a line: "
        '<code>{"source-ref": "s3://…"}</code> or <code>{"source": "text"}</code>.',
        placeholder="s3://bucket/input/objects.manifest",
        spellcheck="false",
    )
    input_s3_prefix = _text(
        "Or an input S3 prefix",
        "Instead of a manifest: every supported object under this prefix. Give one of the two.",
        placeholder="s3://bucket/images/",
        spellcheck="false",
    )
    output_path = _text(
        "Output path",
        "An S3 prefix; the job writes its output under <code>&lt;output path&gt;/&lt;job "
        "name&gt;/</code>.",
        placeholder="s3://bucket/output/",
        spellcheck="false",
    )
    labels = _area(
        "Labels",
        "One label per line, each listed once: at least two for classification, one for a "
        "custom task.",
        rows=5,
        placeholder="cat\ndog",
    )
    label_attribute_name = _text(
        "Label attribute name",
        "The key of the label in the output manifest. Defaults to the job name.",
        spellcheck="false",
    )
    title = _text("Title", "What workers see on the job board; up to 128 characters.")
    description = _text("Description", "One line under the title; up to 255 characters.")
    keywords = _text(
        "Keywords",
        "Up to 5, separated by commas; each up to 30 characters.",
        placeholder="images, animals",
    )
    short_instructions = _area(
        "Short instructions",
        "Shown beside every task. HTML is allowed; scripts and unsafe markup are removed.",
    )
    full_instructions = _area(
        "Full instructions",
        "Workers open them from the task. HTML is allowed, sanitised the same way.",
        rows=6,
    )
    good_example = _area(
        "Good example",
        "A task done well, and why (HTML, sanitised); shown beside every task.",
        rows=3,
    )
    bad_example = _area(
        "Bad example",
        "A common mistake, and why it is wrong (HTML, sanitised).",
        rows=3,
    )
    workforce = forms.CharField(label="Workforce", required=False, widget=forms.Select())
    workers_per_object = _number(
        "Workers per object",
        f"How many workers label each object: {_range('workers_per_object')}.",
    )
    task_time_limit_seconds = _number(
        "Task time limit (seconds)",
        f"How long a worker has for one task: {_range('task_time_limit_seconds')} seconds.",
    )
    task_availability_lifetime_seconds = _number(
        "Task availability lifetime (seconds)",
        f"How long tasks stay on offer: {_range('task_availability_lifetime_seconds')} seconds. "
        "Defaults to 6 hours for the public crowd and 10 days for teams and vendors.",
    )
    reward_per_task = _usd(
        "Reward per task (USD)",
        "Public crowd only: what a worker earns per task, in dollars to a tenth of a cent.",
    )
    vendor_price_per_object = _usd(
        "Vendor price per object (USD)",
        "Vendor jobs only: what the vendor earns per labeled object.",
    )
    max_concurrent_task_count = _number(
        "Max concurrent tasks",
        f"Tasks out with workers at once: {_range('max_concurrent_task_count')}.",
    )
    auto_approval_delay_seconds = _number(
        "Auto-approval delay (seconds)",
        "Submitted work you have not reviewed is approved (and paid) after this long: "
        f"{_range('auto_approval_delay_seconds')} seconds.",
    )
    max_human_labeled_objects = _number(
        "Stop after this many objects labeled by people",
        "The job stops by itself once this many objects are labeled.",
    )
    max_percentage_labeled = _number(
        "Stop at this percentage labeled",
        "1 to 100: the job stops by itself once this share of the objects is labeled.",
    )

    consolidation = forms.CharField(
        label="Consolidation",
        required=False,
        widget=forms.Select(
            choices=[
                ("", "Automatic"),
                ("majority", "Majority vote"),
                ("dawid_skene", "Dawid-Skene (weighted by worker accuracy)"),
                ("custom", "Custom: the post-annotation hook"),
            ]
        ),
    )
    ui_template = _area(
        "Task template (custom tasks)",
        "The Liquid template workers see, in a sandbox. <code>{{ task.input.taskObject | "
        "grant_read_access }}</code> gives the object's URL; wrap the inputs in "
        "<code>&lt;crowd-form&gt;</code>.",
        rows=10,
        spellcheck="false",
    )
    pre_annotation_hook = _text(
        "Pre-annotation hook",
        "Optional: an HTTPS URL (or an allowed Python path) that turns each object into the "
        "task input, as Ground Truth's pre-annotation Lambda.",
        placeholder="https://hooks.example.com/pre",
        spellcheck="false",
    )
    post_annotation_hook = _text(
        "Post-annotation hook",
        "Optional: an HTTPS URL (or an allowed Python path) that consolidates the answers, as "
        "Ground Truth's annotation-consolidation Lambda.",
        placeholder="https://hooks.example.com/consolidate",
        spellcheck="false",
    )

    def __init__(self, *args, organization: Organization, **kwargs) -> None:
        kwargs.setdefault(
            "initial",
            {
                name: _default(name)
                for name in (
                    "workers_per_object",
                    "task_time_limit_seconds",
                    "max_concurrent_task_count",
                    "auto_approval_delay_seconds",
                )
            },
        )
        super().__init__(*args, **kwargs)
        choices = [("public", "Public crowd")]
        choices += [
            (f"private:{team.name}", f"Private team: {team.name}")
            for team in team_selectors.team_list_for(owner=organization)
        ]
        choices += [(f"vendor:{vendor.slug}", f"Vendor: {vendor.name}") for vendor in _vendors()]
        typed = self.data.get("workforce") if self.is_bound else None
        if typed and typed not in dict(choices):  # e.g. a team deleted meanwhile: keep it shown
            choices.append((typed, typed))
        self.fields["workforce"].widget.choices = choices

    @property
    def has_field_errors(self) -> bool:
        return any(name in self.fields for name in self.errors)

    def spec(self) -> dict:
        """The job spec as a client sends it to the API; a field left empty is left out."""
        data = self.cleaned_data
        spec: dict = {"workforce": data["workforce"] or "public"}
        for name in (
            "name",
            "task_type",
            "input_manifest_uri",
            "input_s3_prefix",
            "output_path",
            "label_attribute_name",
            "title",
            "description",
            "workers_per_object",
            "task_time_limit_seconds",
            "task_availability_lifetime_seconds",
            "reward_per_task",
            "vendor_price_per_object",
            "max_concurrent_task_count",
            "auto_approval_delay_seconds",
            "consolidation",
            "pre_annotation_hook",
            "post_annotation_hook",
            "ui_template",
        ):
            if data[name]:
                spec[name] = data[name]
        if data["labels"]:
            spec["label_categories"] = {
                "document-version": CATEGORY_DOCUMENT_VERSION,
                "labels": [{"label": label} for label in self._labels()],
            }
        if self._keywords():
            spec["keywords"] = self._keywords()
        spec["instructions"] = {
            "short": data["short_instructions"],
            "full": data["full_instructions"],
            "good_example": data["good_example"],
            "bad_example": data["bad_example"],
        }
        stopping = {
            name: data[name]
            for name in ("max_human_labeled_objects", "max_percentage_labeled")
            if data[name]
        }
        if stopping:
            spec["stopping_conditions"] = stopping
        return spec

    def _labels(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["labels"].splitlines() if line.strip()]

    def _keywords(self) -> list[str]:
        return [word.strip() for word in self.cleaned_data["keywords"].split(",") if word.strip()]

    def add_spec_errors(self, fields: dict[str, list[str]]) -> None:
        """Show each error (named by its dotted path in the spec, as the API names it) on the
        field it is about; an error no field shows goes above the form."""
        keywords = self._keywords()  # read first: add_error drops a field from cleaned_data
        for key, reasons in fields.items():
            name, index, rest = re.fullmatch(r"([^\[.]*)(?:\[(\d+)\])?(.*)", key).groups()
            field = self.FIELD_FOR_ERROR.get(name + rest if index is None else name, name)
            for reason in reasons:
                if field == "keywords" and index is not None and int(index) < len(keywords):
                    reason = f"“{keywords[int(index)]}”: {reason}"
                if field in self.fields:
                    self.add_error(field, reason)
                elif key == "non_field_errors":
                    self.add_error(None, reason)
                else:
                    self.add_error(None, f"{key}: {reason}")


# --- pages ---------------------------------------------------------------------------------------


@requester_page
def job_list(request: HttpRequest, *, organization: Organization) -> HttpResponse:
    """The organisation's jobs, newest first, filtered as GET /api/v1/labeling-jobs filters."""
    filters = JobFilter(request.GET, queryset=selectors.job_list_for(organization=organization))
    valid = filters.is_valid()
    paginator = Paginator(filters.qs if valid else Job.objects.none(), JOBS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    context = {
        "organization": organization,
        "page": page,
        "filters": filters.form,
        "filtered": any(request.GET.get(name) for name in filters.filters),
        "statuses": Job.Status.choices,
        "balance": money.format_usd(
            ledger.balance_mills(
                kind=LedgerAccount.Kind.REQUESTER_AVAILABLE, owner=organization.ledger_owner
            )
        ),
        "card_payments": stripe_gateway.configured(),
        "top_up_return": request.GET.get("top_up"),
    }
    return render(request, "marketplace/jobs/list.html", context, status=200 if valid else 400)


@require_POST
@requester_page
def top_up_start(request: HttpRequest, *, organization: Organization) -> HttpResponse:
    """The console's "Add funds" form: opens a Stripe Checkout page and sends the browser there.
    The balance is credited later, by Stripe's webhook."""
    console = request.build_absolute_uri(reverse("jobs-list"))
    try:
        top_up = funding.top_up_create(
            owner=organization.ledger_owner,
            requested_by=request.user,
            amount_mills=money.parse_usd(request.POST.get("amount", "")),
            success_url=f"{console}?top_up=paid",
            cancel_url=f"{console}?top_up=cancelled",
        )
    except (ValueError, ApplicationError) as error:
        messages.error(request, f"No funds were added: {getattr(error, 'message', error)}")
        return redirect("jobs-list")
    return redirect(top_up.checkout_url)


@requester_page
def job_create(request: HttpRequest, *, organization: Organization) -> HttpResponse:
    form = JobSpecForm(
        request.POST if request.method == "POST" else None, organization=organization
    )
    if request.method == "POST" and form.is_valid():  # text fields only: it always is
        payload = JobSpecInput(data=form.spec())
        if not payload.is_valid():
            form.add_spec_errors(field_errors(payload.errors))
        else:
            try:
                job = jobs.job_create(
                    organization=organization,
                    created_by=request.user,
                    spec=payload.validated_data,
                )
            except ApplicationError as error:
                form.add_spec_errors(error.fields or {"non_field_errors": [error.message]})
            else:
                messages.success(
                    request,
                    f"Job “{job.name}” created. Its input is being read; the job starts once "
                    "every object is listed.",
                )
                return redirect("jobs-detail", name=job.name)
    context = {"organization": organization, "form": form}
    return render(request, "marketplace/jobs/new.html", context, status=400 if form.errors else 200)


@requester_page
def job_detail(request: HttpRequest, name: str, *, organization: Organization) -> HttpResponse:
    job = selectors.job_get_for(organization=organization, name=name)
    vendor_price = job.vendor_price_per_object_mills
    context = {
        "organization": organization,
        "job": job,
        "counters": job.label_counters,
        "events": job.events.order_by("created_at", "pk"),
        "stoppable": job.status in STOPPABLE,
        "output_manifest_uri": job.output_manifest_uri if job.status in OUTPUT_WRITTEN else None,
        "manifest_errors_url": (
            reverse("api:manifest-errors", args=[job.name]) if job.failure_report_uri else None
        ),
        "vendor_price_usd": None if vendor_price is None else money.format_usd(vendor_price),
        "durations": {
            name: _duration(getattr(job, f"{name}_seconds"))
            for name in (
                "task_time_limit",
                "task_availability_lifetime",
                "auto_approval_delay",
            )
        },
    }
    return render(request, "marketplace/jobs/detail.html", context)


@require_POST
@requester_page
def job_stop(request: HttpRequest, name: str, *, organization: Organization) -> HttpResponse:
    job = selectors.job_get_for(organization=organization, name=name)
    try:
        jobs.job_stop(job=job, actor=request.user, reason="Stopped by the requester.")
    except ApplicationError as error:
        messages.error(request, f"The job was not stopped: {error.message}")
    else:
        messages.success(
            request,
            "The job is stopping: no new task is handed out, and the output of what was labeled "
            "is being written.",
        )
    return redirect("jobs-detail", name=job.name)


urlpatterns = [
    path("jobs/", job_list, name="jobs-list"),
    path("jobs/new", job_create, name="jobs-create"),
    path("jobs/add-funds", top_up_start, name="jobs-add-funds"),
    path("jobs/<str:name>/", job_detail, name="jobs-detail"),
    path("jobs/<str:name>/stop", job_stop, name="jobs-stop"),
]
