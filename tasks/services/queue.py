"""The assignment queue: which objects are out to workers, claiming a lease on one, submitting
the answer, declining or releasing a lease, and leases ending."""

from contextlib import nullcontext
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
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

    The common case is one statement (_assignment_claim_at_once); whatever it does not settle
    (a lease the worker holds, a gold task drawn, an object whose slot a run-out lease still
    holds, every candidate locked by other claims, a concurrent claim taking the same slot,
    the end of the job) is settled below, as follows.

    Returns (assignment, created): the worker's live lease on the job if they hold one, a new
    lease, or (None, False) when nothing is left for them. Only objects in flight and within
    their availability lifetime are offered. Objects are picked in manifest order under row
    locks (SELECT ... FOR UPDATE, SKIP LOCKED first), and counted again once locked. A job
    with gold tasks serves one instead at its gold share, when the worker has not had them all.
    """
    now = timezone.now()
    wants_gold = gold.gold_wanted(job=job)
    if not wants_gold:
        assignment = _assignment_claim_at_once(worker=worker, job=job, now=now)
        if assignment is not None:
            return assignment, True
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
        if wants_gold:
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


# One statement, in its own transaction: the first object in manifest order that this worker
# may take and no other claim holds (SKIP LOCKED), with a slot free, leased in its lowest free
# slot; nothing when the job is not in progress or the worker holds a lease on it. The counts
# come from the statement's snapshot, which may predate a claim committed just before the row
# lock was taken: the unique constraints then refuse the insert (IntegrityError), and the
# caller settles it the slower way, counting again under the lock.
_CLAIM_AT_ONCE = """
WITH candidate AS (
    SELECT o.id, o.job_id, o.position, o.source, o.source_ref, o.task_input, o.status,
           o.in_flight_since, o.extra_workers
      FROM tasks_dataobject o
     WHERE o.job_id = %(job)s
       AND o.status = 'pending'
       AND NOT o.is_gold
       AND o.answered_at IS NULL
       AND o.in_flight_since > %(lifetime_start)s
       AND EXISTS (SELECT 1 FROM marketplace_job j WHERE j.id = %(job)s AND j.status = %(running)s)
       AND NOT EXISTS (
           SELECT 1 FROM tasks_assignment a
            WHERE a.job_id = %(job)s AND a.worker_id = %(worker)s AND a.status = 'reserved')
       AND NOT EXISTS (
           SELECT 1 FROM tasks_assignment a
            WHERE a.data_object_id = o.id AND a.worker_id = %(worker)s
              AND a.status NOT IN ('expired', 'returned'))
       AND (SELECT count(*) FROM tasks_assignment a
             WHERE a.data_object_id = o.id
               AND (a.status IN ('submitted', 'approved', 'rejected')
                    OR (a.status = 'reserved' AND a.expires_at > %(now)s))
           ) < %(workers_per_object)s + o.extra_workers
     ORDER BY o.position
     LIMIT 1
       FOR UPDATE OF o SKIP LOCKED
), leased AS (
INSERT INTO tasks_assignment (
    job_id, data_object_id, worker_id, slot, is_gold, status, accepted_at, expires_at,
    rejection_reason
)
SELECT %(job)s, c.id, %(worker)s, free.slot, false, 'reserved', %(now)s,
       LEAST(%(time_limit_end)s, c.in_flight_since + %(lifetime)s), ''
  FROM candidate c
 CROSS JOIN LATERAL (
       SELECT s.slot
         FROM generate_series(0, %(workers_per_object)s + c.extra_workers - 1) AS s(slot)
        WHERE NOT EXISTS (
              SELECT 1 FROM tasks_assignment a
               WHERE a.data_object_id = c.id AND a.slot = s.slot AND NOT a.is_gold
                 AND a.status IN ('reserved', 'submitted', 'approved', 'rejected'))
        ORDER BY s.slot
        LIMIT 1
       ) free
RETURNING *
)
SELECT leased.*, c.id AS o_id, c.job_id AS o_job_id, c.position AS o_position,
       c.source AS o_source, c.source_ref AS o_source_ref, c.task_input AS o_task_input,
       c.status AS o_status, c.in_flight_since AS o_in_flight_since,
       c.extra_workers AS o_extra_workers
  FROM leased JOIN candidate c ON c.id = leased.data_object_id
"""
# The object's fields the statement returns (as o_<name>) for the task input; the others are
# read if something asks for them.
_CLAIM_OBJECT_FIELDS = (
    "id", "job_id", "position", "source", "source_ref", "task_input", "status",
    "in_flight_since", "extra_workers",
)  # fmt: skip


def _assignment_claim_at_once(*, worker: Worker, job: Job, now) -> Assignment | None:
    """The claim in one statement (PostgreSQL only): the new lease, or None when the statement
    did not settle it."""
    if connection.vendor != "postgresql":
        return None
    lifetime = timedelta(seconds=job.task_availability_lifetime_seconds)
    # One statement is atomic by itself; inside a caller's transaction a savepoint keeps a
    # refused insert from breaking it.
    guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
    try:
        with guard:
            leased = list(
                Assignment.objects.raw(
                    _CLAIM_AT_ONCE,
                    {
                        "job": job.pk,
                        "worker": worker.pk,
                        "running": Job.Status.IN_PROGRESS,
                        "now": now,
                        "lifetime_start": now - lifetime,
                        "lifetime": lifetime,
                        "time_limit_end": now + timedelta(seconds=job.task_time_limit_seconds),
                        "workers_per_object": job.workers_per_object,
                    },
                )
            )
    except IntegrityError:
        return None
    if not leased:
        return None
    assignment = leased[0]
    assignment.job = job
    assignment.worker = worker
    # Model.from_db takes the values in the model's field order, converted as a query would.
    fields = [f for f in DataObject._meta.concrete_fields if f.attname in _CLAIM_OBJECT_FIELDS]
    values = []
    for field in fields:
        value = getattr(assignment, f"o_{field.attname}")
        if hasattr(field, "from_db_value"):
            value = field.from_db_value(value, None, connection)
        values.append(value)
    assignment.data_object = DataObject.from_db(
        connection.alias, [field.attname for field in fields], values
    )
    return assignment


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


def assignment_submit(*, assignment: Assignment, answer: dict) -> Assignment:
    """Store the worker's answer. A repeated submit returns the first result unchanged.

    Refused (409, not counted): `task_unavailable` when the object was finished meanwhile or
    its availability lifetime ran out, `lease_ended` when the lease expired or was released,
    declined or returned, `job_not_in_progress` when the job is stopping or over.

    `assignment` is as the caller read it, with its object and job: when it looks like a
    running lease its answer is stored at once (_answer_store_at_once), and everything else
    is decided with the assignment locked and looked at again.
    """
    if _answer_store_at_once(assignment=assignment, answer=answer):
        return assignment
    return _assignment_submit_locked(assignment=assignment, answer=answer)


def _answer_store_at_once(*, assignment: Assignment, answer: dict) -> bool:
    """The common submit: lock the object, then one statement stores the answer if the lease
    still runs and the job is in progress, and counts the object's answers. False (nothing
    written) when it does not apply."""
    job = assignment.job
    now = timezone.now()
    if (
        assignment.is_gold
        or assignment.status != Assignment.Status.RESERVED
        or assignment.expires_at <= now
        or job.status != Job.Status.IN_PROGRESS
        or connection.vendor != "postgresql"
    ):
        return False
    with transaction.atomic():
        data_object = assignment.data_object
        data_object.status, data_object.in_flight_since, data_object.extra_workers = (
            locks.data_object_state_for_update(pk=data_object.pk)
        )
        if not _data_object_available(data_object=data_object, job=job, now=now):
            return False
        validated = answers.answer_validate(job=job, answer=answer)
        others = locks.assignment_answer_store(pk=assignment.pk, answer=validated, now=now)
        if others is None:
            return False
        assignment.answer = validated
        assignment.status = Assignment.Status.SUBMITTED
        assignment.submitted_at = now
        _data_object_answer_counted(job=job, data_object=data_object, answers=others + 1)
    return True


@transaction.atomic
def _assignment_submit_locked(*, assignment: Assignment, answer: dict) -> Assignment:
    # The object first (the lock order): the answers of one object are counted one submit at a
    # time, so the last of several simultaneous answers sees the others and asks for the
    # consolidation; and the object cannot be finished (end of its lifetime) meanwhile.
    data_object = locks.data_object_for_update(pk=assignment.data_object_id)
    locked = locks.assignment_for_submit(pk=assignment.pk)
    if locked.status in Assignment.ANSWERED:
        return locked
    now = timezone.now()
    job = data_object.job
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
    _data_object_answer_counted(job=job, data_object=data_object, answers=locked.answered_count + 1)
    return locked


def _data_object_answer_counted(*, job: Job, data_object: DataObject, answers: int) -> None:
    """The object (locked) now holds `answers` answers: once it has those it asked for, it is
    marked answered and its job's consolidation run queued (one run per object for jobs
    consolidated by their post-annotation hook)."""
    if answers < job.workers_per_object + data_object.extra_workers:
        return
    if job.consolidation == Job.Consolidation.CUSTOM:
        celery_tasks.data_object_consolidate_task.delay_on_commit(data_object.pk)
        return
    data_object.answered_at = timezone.now()
    data_object.save(update_fields=["answered_at"])
    if locks.consolidation_run_queue(job_id=job.pk):
        transaction.on_commit(
            lambda: celery_tasks.data_objects_consolidate_task.apply_async(
                (job.pk,), countdown=settings.CONSOLIDATION_DELAY_SECONDS
            )
        )


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
