"""The assignment queue: which objects are out to workers, claiming a lease on one, submitting
the answer, declining or releasing a lease, and leases ending."""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from marketplace import selectors as job_selectors
from marketplace.errors import ApplicationError
from marketplace.models import Job
from tasks import answers, locks, selectors
from tasks import tasks as celery_tasks
from tasks.models import Assignment, DataObject
from tasks.services import gold
from workforce.models import Worker


def data_objects_admit(*, job: Job) -> int:
    """Put the job's next pending objects out to workers, in manifest order, so that
    `max_concurrent_task_count` of them are in flight (their availability lifetime starts now).
    Returns how many were admitted.

    In the caller's transaction, with the job's row locked (marketplace.locks.job_for_update):
    admissions of one job never overlap, so the window is never exceeded.
    """
    pending = DataObject.objects.filter(job=job, status=DataObject.Status.PENDING, is_gold=False)
    room = job.max_concurrent_task_count - pending.filter(in_flight_since__isnull=False).count()
    if room <= 0:
        return 0
    waiting = pending.filter(in_flight_since__isnull=True).order_by("position").values("pk")
    return DataObject.objects.filter(pk__in=waiting[:room]).update(in_flight_since=timezone.now())


def _expire_own_leases(*, worker: Worker, job: Job, now) -> None:
    Assignment.objects.filter(
        job=job, worker=worker, status=Assignment.Status.RESERVED, expires_at__lte=now
    ).update(status=Assignment.Status.EXPIRED)


def assignment_claim(*, worker: Worker, job: Job) -> tuple[Assignment | None, bool]:
    """Lease the next object of the job that still needs answers from this worker.

    Returns (assignment, created): the worker's live lease on the job if they hold one, a new
    lease, or (None, False) when nothing is left for them. Only objects in flight and within
    their availability lifetime are offered. Objects are picked in manifest order under row
    locks (SELECT ... FOR UPDATE, SKIP LOCKED first), and counted again once locked. A job
    with gold tasks serves one instead at its gold share, when the worker has not had them all.
    """
    now = timezone.now()
    # One read for the job's status now (it may have been stopped since the caller fetched it)
    # and the end of the worker's lease on it, if they hold one.
    status, lease_expires_at = (
        Job.objects.filter(pk=job.pk)
        .annotate(
            lease_expires_at=Subquery(
                Assignment.objects.filter(
                    job=OuterRef("pk"), worker=worker, status=Assignment.Status.RESERVED
                ).values("expires_at")[:1]
            )
        )
        .values_list("status", "lease_expires_at")
        .get()
    )
    if lease_expires_at is not None and lease_expires_at <= now:
        # Recorded before the claim's transaction: the claim then holds no lease's lock while
        # it waits for an object's (the end of a lifetime locks an object, then its leases).
        _expire_own_leases(worker=worker, job=job, now=now)
        lease_expires_at = None
    if status != Job.Status.IN_PROGRESS:
        return None, False
    if lease_expires_at is not None:
        current = selectors.assignment_current_for(worker=worker, job=job, now=now)
        if current is not None:
            return current, False
    try:
        if gold.gold_wanted(job=job):
            leased = _gold_assignment_claim(worker=worker, job=job, now=now)
            if leased is not None:
                return leased, True
        return _assignment_claim(worker=worker, job=job, now=now)
    except IntegrityError:
        # A concurrent claim by the same worker won; hand back the lease it created.
        current = selectors.assignment_current_for(worker=worker, job=job)
        if current is None:
            raise
        return current, False


def _assignment_claim(*, worker: Worker, job: Job, now) -> tuple[Assignment | None, bool]:
    # First pass: skip objects other claims hold, so workers do not queue behind each other.
    # Second pass: wait for them, since a held object may still have room (workers_per_object
    # above 1). Each attempt is a transaction of its own (a savepoint in a caller's): an
    # attempt on an object that turns out full is rolled back, which releases its lock, so a
    # claim never waits while holding a lock.
    for skip_locked in (True, False):
        full: list[int] = []
        while True:
            try:
                with transaction.atomic():
                    data_object = (
                        locks.data_objects_open_for_update(
                            worker=worker, job=job, now=now, skip_locked=skip_locked
                        )
                        .exclude(pk__in=full)
                        .first()
                    )
                    if data_object is None:
                        break
                    return _assignment_create(
                        worker=worker, job=job, data_object=data_object, now=now
                    )
            except _ObjectFull as error:
                full.append(error.pk)
    return None, False


def _gold_assignment_claim(*, worker: Worker, job: Job, now) -> Assignment | None:
    """Lease a gold object this worker has not had (any number of workers may answer one),
    or None when none is left for them."""
    with transaction.atomic():
        data_object = gold.gold_objects_open_for_update(worker=worker, job=job).first()
        if data_object is None:
            return None
        return Assignment.objects.create(
            job=job,
            data_object=data_object,
            slot=0,
            is_gold=True,
            worker=worker,
            accepted_at=now,
            expires_at=_lease_end_for(job=job, data_object=data_object, now=now),
        )


class _ObjectFull(Exception):
    def __init__(self, pk: int) -> None:
        self.pk = pk


def _assignment_create(
    *, worker: Worker, job: Job, data_object: DataObject, now
) -> tuple[Assignment, bool]:
    # The candidate query's snapshot may predate claims committed while it waited: count again.
    # A lease that ran out still holds its slot in the unique constraint until it is recorded
    # as expired, which is done only when the claim goes ahead.
    live: set[int] = set()
    ran_out: list[int] = []
    for pk, slot, status, expires_at in Assignment.objects.filter(
        data_object=data_object, status__in=Assignment.HOLDING_SLOT
    ).values_list("pk", "slot", "status", "expires_at"):
        if status == Assignment.Status.RESERVED and expires_at <= now:
            ran_out.append(pk)
        else:
            live.add(slot)
    needed = job.workers_per_object + data_object.extra_workers
    free = [slot for slot in range(needed) if slot not in live]
    if not free:
        raise _ObjectFull(data_object.pk)
    if ran_out:
        Assignment.objects.filter(pk__in=ran_out, status=Assignment.Status.RESERVED).update(
            status=Assignment.Status.EXPIRED
        )
    assignment = Assignment.objects.create(
        job=job,
        data_object=data_object,
        slot=free[0],
        worker=worker,
        accepted_at=now,
        expires_at=_lease_end_for(job=job, data_object=data_object, now=now),
    )
    return assignment, True


def _lease_end_for(*, job: Job, data_object: DataObject, now):
    """The task time limit from now, but never past the end of the object's availability
    lifetime: an answer given after that would not count."""
    end = now + timedelta(seconds=job.task_time_limit_seconds)
    if data_object.in_flight_since is None:
        return end
    lifetime_end = data_object.in_flight_since + timedelta(
        seconds=job.task_availability_lifetime_seconds
    )
    return min(end, lifetime_end)


def _task_unavailable() -> ApplicationError:
    return ApplicationError(
        "task_unavailable",
        "This task is no longer available (it was finished without this answer, or its time "
        "on the job ran out); the answer was not counted.",
        status=409,
    )


def _data_object_available(*, data_object: DataObject, job: Job, now) -> bool:
    """Whether the object still takes answers: pending, and within its availability lifetime."""
    if data_object.status != DataObject.Status.PENDING:
        return False
    lifetime = timedelta(seconds=job.task_availability_lifetime_seconds)
    since = data_object.in_flight_since
    return since is None or since + lifetime > now


@transaction.atomic
def assignment_submit(*, assignment: Assignment, answer: dict) -> Assignment:
    """Store the worker's answer. A repeated submit returns the first result unchanged.

    Refused (409, not counted): `task_unavailable` when the object was finished meanwhile or
    its availability lifetime ran out, `lease_ended` when the lease expired or was released,
    declined or returned, `job_not_in_progress` when the job is stopping or over.
    """
    # The object first (the lock order): the answers of one object are counted one submit at a
    # time, so the last of several simultaneous answers sees the others and asks for the
    # consolidation; and the object cannot be finished (end of its lifetime) meanwhile.
    data_object = locks.data_object_for_update(pk=assignment.data_object_id)
    locked = locks.assignment_for_submit(pk=assignment.pk)
    if locked.status in Assignment.ANSWERED:
        return locked
    now = timezone.now()
    job = locked.job
    if not _data_object_available(data_object=data_object, job=job, now=now):
        raise _task_unavailable()
    if locked.status != Assignment.Status.RESERVED or locked.expires_at <= now:
        raise ApplicationError(
            "lease_ended", "The time for this task ran out; the answer was not counted.", status=409
        )
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
    if locked.is_gold:
        gold.gold_answer_record(assignment=locked, data_object=data_object)
        return locked
    # The object's lock is held: no other answer came since its answers were counted.
    if locked.answered_count + 1 >= job.workers_per_object + data_object.extra_workers:
        celery_tasks.data_object_consolidate_task.delay_on_commit(locked.data_object_id)
    return locked


def assignment_submit_and_claim_next(
    *, assignment: Assignment, answer: dict
) -> tuple[Assignment, Assignment | None]:
    """Submit the answer, then lease the worker's next task in the same job (None when nothing
    is left for them, or they may no longer take tasks from it). The answer is committed
    before the claim: it stands whatever the claim gives."""
    submitted = assignment_submit(assignment=assignment, answer=answer)
    worker = submitted.worker
    eligible = job_selectors.jobs_eligible_for(
        worker=worker, jobs=Job.objects.filter(pk=submitted.job_id)
    )
    if not eligible:
        return submitted, None
    following, _ = assignment_claim(worker=worker, job=eligible[0])
    return submitted, following


@transaction.atomic
def assignment_decline(*, assignment: Assignment) -> Assignment:
    """Reserved → declined: the worker gives the object up, and it is never offered to them
    again. Its slot is free at once. A repeat returns the assignment unchanged; an assignment
    answered (409 `already_submitted`) or ended otherwise (409 `lease_ended`) is refused."""
    return _lease_end(assignment=assignment, to=Assignment.Status.DECLINED)


@transaction.atomic
def assignment_release(*, assignment: Assignment) -> Assignment:
    """Reserved → returned ("stop and resume later"): the object goes back to the queue, this
    worker included, and its slot is free at once. A repeat (or a lease already returned at a
    stop) returns the assignment unchanged; an assignment answered (409 `already_submitted`)
    or ended otherwise (409 `lease_ended`) is refused."""
    return _lease_end(assignment=assignment, to=Assignment.Status.RETURNED)


def _lease_end(*, assignment: Assignment, to: str) -> Assignment:
    locked = locks.assignment_for_update(pk=assignment.pk)
    if locked.status == to:
        return locked
    if locked.status in Assignment.ANSWERED:
        raise ApplicationError(
            "already_submitted", "The answer to this task is already submitted.", status=409
        )
    if (
        to not in Assignment.TRANSITIONS.get(locked.status, set())
        or locked.expires_at <= timezone.now()
    ):
        raise ApplicationError("lease_ended", "This task's lease has already ended.", status=409)
    locked.status = to
    locked.save(update_fields=["status"])
    return locked


def assignments_expire() -> int:
    """Record leases that ran out. The claim query already treats them as free."""
    return Assignment.objects.filter(
        status=Assignment.Status.RESERVED, expires_at__lte=timezone.now()
    ).update(status=Assignment.Status.EXPIRED)
