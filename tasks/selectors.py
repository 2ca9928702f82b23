from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import (
    Count,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from marketplace import selectors as jobs
from marketplace.models import Job
from payments import money
from tasks import aggregates, deadlines, storage, templating
from tasks.manifests import input as manifest_input
from tasks.models import Assignment, DataObject
from workforce.models import Organization, Worker


def job_board_for(*, worker: Worker) -> list[Job]:
    """Jobs the worker may take tasks from now, each with `tasks_available`: its objects not
    finished yet that are in flight within their availability lifetime or waiting to be put
    out; and `estimated_hourly_usd`: for a public job, its reward per task over the median time
    of the answers given so far, per hour (None for other jobs and until there are answers)."""
    running = Job.objects.filter(status=Job.Status.IN_PROGRESS)
    within_lifetime = deadlines.deadline_condition(
        start="data_objects__in_flight_since",
        seconds="task_availability_lifetime_seconds",
        values=running.values_list("task_availability_lifetime_seconds", flat=True).distinct(),
        now=timezone.now(),
        passed=False,
    )
    still_open = Q(data_objects__status=DataObject.Status.PENDING, data_objects__is_gold=False) & (
        Q(data_objects__in_flight_since__isnull=True) | within_lifetime
    )
    open_jobs = (
        running.annotate(tasks_available=Count("data_objects", filter=still_open))
        .filter(tasks_available__gt=0)
        .order_by("-started_at", "-pk")
    )
    answered = Assignment.objects.filter(status__in=Assignment.ANSWERED).order_by()
    postgres = connection.vendor == "postgresql"
    if postgres:
        median_seconds = (
            answered.filter(job=OuterRef("pk"))
            .values("job")
            .annotate(seconds=aggregates.MedianSeconds(F("submitted_at") - F("accepted_at")))
            .values("seconds")
        )
        open_jobs = open_jobs.annotate(
            median_task_seconds=Subquery(median_seconds, output_field=FloatField())
        )
    board = jobs.jobs_eligible_for(worker=worker, jobs=open_jobs)
    if not postgres:
        medians = aggregates.median_task_seconds_in_python(
            answered.filter(job__in=[job.pk for job in board]), by="job_id"
        )
        for job in board:
            job.median_task_seconds = medians.get(job.pk)
    for job in board:
        job.estimated_hourly_usd = _hourly_rate_usd(job=job, seconds=job.median_task_seconds)
    return board


def _hourly_rate_usd(*, job: Job, seconds: float | None) -> str | None:
    """reward / median seconds * 3600, rounded half up to whole mills."""
    if job.workforce != Job.Workforce.PUBLIC or seconds is None or seconds <= 0:
        return None
    hourly = Decimal(job.reward_per_task_mills * 3600) / Decimal(seconds)
    return money.format_usd(int(hourly.quantize(Decimal(1), rounding=ROUND_HALF_UP)))


def assignment_current_for(*, worker: Worker, job: Job, now=None) -> Assignment | None:
    """The worker's live lease on the job (running at `now`, by default the present), if any."""
    return (
        Assignment.objects.filter(
            job=job,
            worker=worker,
            status=Assignment.Status.RESERVED,
            expires_at__gt=now or timezone.now(),
        )
        .select_related("data_object", "job")
        .first()
    )


def assignment_get_for_worker(*, worker: Worker, pk: int) -> Assignment:
    """The worker's own assignment on a job still open to them; 404 for anyone else's (and once
    the worker left the job's team)."""
    try:
        assignment = (
            Assignment.objects.select_related("data_object", "job")
            .only(
                *(field.name for field in Assignment._meta.concrete_fields),
                *(
                    f"data_object__{field.name}"
                    for field in DataObject._meta.concrete_fields
                    if field.name != "input_line"  # the manifest line: read when written out
                ),
                *(f"job__{name}" for name in jobs.JOB_FIELDS_FOR_WORK),
            )
            .get(pk=pk, worker=worker)
        )
    except Assignment.DoesNotExist:
        raise Http404("No such assignment.") from None
    if not jobs.job_visible_to(worker=worker, job=assignment.job):
        raise Http404("No such assignment.")
    return assignment


def live_assignment_count(*, data_object_id: int) -> int:
    """Leases still running plus answers given: the object's slots in use."""
    return (
        Assignment.objects.filter(data_object_id=data_object_id)
        .filter(
            Q(status__in=Assignment.ANSWERED)
            | Q(status=Assignment.Status.RESERVED, expires_at__gt=timezone.now())
        )
        .count()
    )


def assignment_list_for_review(*, organization: Organization, job: Job) -> QuerySet[Assignment]:
    """Answered assignments of the organisation's job, for review."""
    return (
        Assignment.objects.filter(
            job=job, job__organization=organization, status__in=Assignment.ANSWERED
        )
        .select_related("worker", "data_object")
        .order_by("submitted_at", "pk")
    )


def assignment_get_for_review(*, organization: Organization, job: Job, pk: int) -> Assignment:
    assignment = (
        assignment_list_for_review(organization=organization, job=job).filter(pk=pk).first()
    )
    if assignment is None:
        raise Http404("No such assignment.")
    return assignment


def assignment_task_input(*, assignment: Assignment) -> dict | None:
    """What the worker labels while the lease runs. A custom task: its task input and the URL
    of its task page. A text task: the text (inline, or read from its .txt object). An image:
    a URL presigned for the rest of the lease only. The object is the task input's `taskObject`
    when a pre-annotation hook set one, else the object's `source-ref` or `source`."""
    if assignment.status != Assignment.Status.RESERVED:
        return None
    job = assignment.job
    task_input = templating.task_input_for(assignment.data_object)
    if job.task_type == Job.TaskType.CUSTOM:
        return {
            "taskInput": task_input,
            "taskPageUrl": reverse("tasks:custom-frame", kwargs={"pk": assignment.pk}),
        }
    task_object = task_input.get("taskObject") if isinstance(task_input, dict) else None
    if not isinstance(task_object, str):
        task_object = ""
    is_uri = task_object.startswith("s3://")
    if job.task_type in manifest_input.TEXT_TASK_TYPES:
        return (
            _text_task_input(assignment=assignment, uri=task_object)
            if is_uri
            else {"taskObject": task_object}
        )
    if not is_uri:
        return {"taskObject": task_object}
    url = templating.read_url(assignment=assignment, uri=task_object)
    return {"taskObject": url, "taskObjectUrl": bool(url)}


def _text_task_input(*, assignment: Assignment, uri: str) -> dict:
    unreadable = {"taskObject": "", "taskObjectError": "The text of this task cannot be read."}
    location = templating.readable_location(assignment=assignment, uri=uri)
    if location is None:
        return unreadable
    try:
        raw = storage.read_bytes(str(location))
    except storage.StorageErrors:
        return unreadable
    limit = manifest_input.MAX_SOURCE_CHARS
    return {"taskObject": raw[: 4 * limit].decode("utf-8", errors="replace")[:limit]}


def assignment_list_for_worker(*, worker: Worker) -> QuerySet[Assignment]:
    """The worker's own answered assignments, newest first, with their job and bonuses."""
    return (
        Assignment.objects.filter(worker=worker, status__in=Assignment.ANSWERED)
        .select_related("job")
        .prefetch_related("bonuses")
        .order_by("-submitted_at", "-pk")
    )
