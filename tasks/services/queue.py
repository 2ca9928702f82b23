"""The assignment queue: claiming a lease on an object, submitting the answer, leases ending."""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplace.errors import ApplicationError
from marketplace.models import Job
from tasks import answers, locks, selectors
from tasks import tasks as celery_tasks
from tasks.models import Assignment
from workforce.models import Worker


def _expire_own_leases(*, worker: Worker, job: Job, now) -> None:
    Assignment.objects.filter(
        job=job, worker=worker, status=Assignment.Status.RESERVED, expires_at__lte=now
    ).update(status=Assignment.Status.EXPIRED)


def assignment_claim(*, worker: Worker, job: Job) -> tuple[Assignment | None, bool]:
    """Lease the next object of the job that still needs answers from this worker.

    Returns (assignment, created): the worker's live lease on the job if they hold one, a new
    lease, or (None, False) when nothing is left for them. Objects are picked in manifest order
    under row locks (SELECT ... FOR UPDATE, SKIP LOCKED first), and counted again once locked.
    """
    try:
        with transaction.atomic():
            return _assignment_claim(worker=worker, job=job)
    except IntegrityError:
        # A concurrent claim by the same worker won; hand back the lease it created.
        current = selectors.assignment_current_for(worker=worker, job=job)
        if current is None:
            raise
        return current, False


def _assignment_claim(*, worker: Worker, job: Job) -> tuple[Assignment | None, bool]:
    now = timezone.now()
    # Read the status now: the job may have been stopped since the caller fetched it.
    if Job.objects.filter(pk=job.pk).values_list("status", flat=True).get() != (
        Job.Status.IN_PROGRESS
    ):
        return None, False
    _expire_own_leases(worker=worker, job=job, now=now)
    current = selectors.assignment_current_for(worker=worker, job=job)
    if current is not None:
        return current, False
    # First pass: skip objects other claims hold, so workers do not queue behind each other.
    # Second pass: wait for them, since a held object may still have room (workers_per_object
    # above 1). An attempt on an object that turns out full is rolled back to its savepoint,
    # which releases its lock: a claim never waits while holding a lock.
    for skip_locked in (True, False):
        full: list[int] = []
        while True:
            candidate = (
                locks.data_objects_open_for_update(
                    worker=worker, job=job, now=now, skip_locked=skip_locked
                )
                .exclude(pk__in=full)
                .values_list("pk", flat=True)
            )
            try:
                with transaction.atomic():
                    data_object_id = candidate.first()
                    if data_object_id is None:
                        break
                    return _assignment_create(worker=worker, job=job, pk=data_object_id, now=now)
            except _ObjectFull as error:
                full.append(error.pk)
    return None, False


class _ObjectFull(Exception):
    def __init__(self, pk: int) -> None:
        self.pk = pk


def _assignment_create(*, worker: Worker, job: Job, pk: int, now) -> tuple[Assignment, bool]:
    # The candidate query's snapshot may predate claims committed while it waited: count again.
    Assignment.objects.filter(
        data_object_id=pk, status=Assignment.Status.RESERVED, expires_at__lte=now
    ).update(status=Assignment.Status.EXPIRED)
    taken = set(
        Assignment.objects.filter(
            data_object_id=pk, status__in=Assignment.HOLDING_SLOT
        ).values_list("slot", flat=True)
    )
    free = [slot for slot in range(job.workers_per_object) if slot not in taken]
    if not free:
        raise _ObjectFull(pk)
    assignment = Assignment.objects.create(
        job=job,
        data_object_id=pk,
        slot=free[0],
        worker=worker,
        accepted_at=now,
        expires_at=now + timedelta(seconds=job.task_time_limit_seconds),
    )
    return assignment, True


@transaction.atomic
def assignment_submit(*, assignment: Assignment, answer: dict) -> Assignment:
    """Store the worker's answer. A repeated submit returns the first result unchanged."""
    locked = locks.assignment_for_update(pk=assignment.pk)
    if locked.status in Assignment.ANSWERED:
        return locked
    now = timezone.now()
    if locked.status != Assignment.Status.RESERVED or locked.expires_at <= now:
        raise ApplicationError(
            "lease_ended", "The time for this task ran out; the answer was not counted.", status=409
        )
    job = locked.job
    if job.status != Job.Status.IN_PROGRESS:
        raise ApplicationError(
            "job_not_in_progress",
            f"The job is {job.status}; the answer was not counted.",
            status=409,
        )
    locked.answer = answers.answer_validate(job=job, answer=answer)
    locked.status = Assignment.Status.SUBMITTED
    locked.submitted_at = now
    locked.save(update_fields=["answer", "status", "submitted_at"])
    answered = Assignment.objects.filter(
        data_object_id=locked.data_object_id, status__in=Assignment.ANSWERED
    ).count()
    if answered >= job.workers_per_object:
        celery_tasks.data_object_consolidate_task.delay_on_commit(locked.data_object_id)
    return locked


def assignments_expire() -> int:
    """Record leases that ran out. The claim query already treats them as free."""
    return Assignment.objects.filter(
        status=Assignment.Status.RESERVED, expires_at__lte=timezone.now()
    ).update(status=Assignment.Status.EXPIRED)
