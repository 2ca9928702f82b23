from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from marketplace import selectors as jobs
from marketplace.models import Job
from tasks import storage
from tasks.manifests import input as manifest_input
from tasks.models import Assignment, DataObject
from workforce.models import Organization, Worker


def job_board_for(*, worker: Worker) -> list[Job]:
    """Jobs the worker may take tasks from now, with how many objects still need answers."""
    open_jobs = (
        Job.objects.filter(status=Job.Status.IN_PROGRESS)
        .annotate(
            tasks_available=Count(
                "data_objects", filter=Q(data_objects__status=DataObject.Status.PENDING)
            )
        )
        .filter(tasks_available__gt=0)
        .order_by("-started_at", "-pk")
    )
    return jobs.jobs_eligible_for(worker=worker, jobs=open_jobs)


def assignment_current_for(*, worker: Worker, job: Job) -> Assignment | None:
    """The worker's live lease on the job, if any."""
    return (
        Assignment.objects.filter(
            job=job,
            worker=worker,
            status=Assignment.Status.RESERVED,
            expires_at__gt=timezone.now(),
        )
        .select_related("data_object", "job")
        .first()
    )


def assignment_get_for_worker(*, worker: Worker, pk: int) -> Assignment:
    """The worker's own assignment on a job still open to them; 404 for anyone else's (and once
    the worker left the job's team)."""
    assignment = (
        Assignment.objects.filter(pk=pk, worker=worker, job__in=jobs.jobs_visible_to(worker=worker))
        .select_related("data_object", "job")
        .first()
    )
    if assignment is None:
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
    """What the worker labels while the lease runs: the text of a text task (inline, or read
    from its .txt object), or for an image a URL presigned for the rest of the lease only."""
    if assignment.status != Assignment.Status.RESERVED:
        return None
    data_object = assignment.data_object
    if not data_object.source_ref:
        return {"taskObject": data_object.source}
    if assignment.job.task_type in manifest_input.TEXT_TASK_TYPES:
        limit = manifest_input.MAX_SOURCE_CHARS
        try:
            raw = storage.read_bytes(data_object.source_ref)
        except storage.StorageErrors:
            return {"taskObject": "", "taskObjectError": "The text of this task cannot be read."}
        return {"taskObject": raw[: 4 * limit].decode("utf-8", errors="replace")[:limit]}
    seconds_left = (assignment.expires_at - timezone.now()).total_seconds()
    url = storage.presigned_get_url(data_object.source_ref, expires_in=int(seconds_left) + 1)
    return {"taskObject": url, "taskObjectUrl": True}
