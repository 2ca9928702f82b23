from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from marketplace.models import Job
from tasks.models import Assignment, DataObject
from workforce.models import Organization, Worker


def job_board_for(*, worker: Worker) -> QuerySet[Job]:
    """Jobs the worker may take tasks from, with how many objects still need answers."""
    return (
        Job.objects.filter(status=Job.Status.IN_PROGRESS, workforce=Job.Workforce.PUBLIC)
        .annotate(
            tasks_available=Count(
                "data_objects", filter=Q(data_objects__status=DataObject.Status.PENDING)
            )
        )
        .filter(tasks_available__gt=0)
        .order_by("-started_at", "-pk")
    )


def job_get_for_worker(*, worker: Worker, pk: int) -> Job:
    """A job the worker may work on, or could until it ended; 404 for any other."""
    job = (
        Job.objects.filter(pk=pk, workforce=Job.Workforce.PUBLIC)
        .exclude(status__in=[Job.Status.INITIALIZING, Job.Status.FAILED])
        .first()
    )
    if job is None:
        raise Http404("No such job.")
    return job


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
    """The worker's own assignment; 404 for anyone else's."""
    assignment = (
        Assignment.objects.filter(pk=pk, worker=worker).select_related("data_object", "job").first()
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
