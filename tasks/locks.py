"""Row locks of the tasks app. Lock order: data object, then assignment, then job.

One exception, safe because nothing else locks those rows: admission (`queue.data_objects_admit`)
updates objects not yet in flight while it holds the job's lock. A claim, a submit and the end
of an availability lifetime only touch objects already in flight, and admission only objects
that are not, under the job's lock, so two admissions never overlap.
"""

from datetime import timedelta

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from marketplace.models import Job
from tasks.models import Assignment, DataObject
from workforce.models import Worker


def data_object_for_update(*, pk: int) -> DataObject:
    return DataObject.objects.select_for_update(of=("self",)).select_related("job").get(pk=pk)


def data_object_state_for_update(*, pk: int) -> tuple[str, object, int]:
    """Lock the object; its status, in_flight_since and extra_workers as they are now."""
    return (
        DataObject.objects.select_for_update()
        .filter(pk=pk)
        .values_list("status", "in_flight_since", "extra_workers")
        .get()
    )


def assignment_for_update(*, pk: int) -> Assignment:
    return Assignment.objects.select_for_update(of=("self",)).select_related("job").get(pk=pk)


def assignment_for_submit(*, pk: int) -> Assignment:
    """The assignment locked, with its job and `answered_count`: the answers its object holds.
    Exact only under the object's lock, which every submit (the one way to add an answer)
    takes first."""
    answered = (
        Assignment.objects.filter(
            data_object=OuterRef("data_object"), status__in=Assignment.ANSWERED
        )
        .order_by()
        .values("data_object")
        .annotate(answered=Count("pk"))
        .values("answered")
    )
    return (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("job")
        .annotate(answered_count=Coalesce(Subquery(answered), 0))
        .get(pk=pk)
    )


def data_objects_open_for_update(
    *, worker: Worker, job: Job, now, skip_locked: bool
) -> QuerySet[DataObject]:
    """Objects of the job this worker may take next, in manifest order, locked: in flight and
    within their availability lifetime, with a slot free, and neither answered nor declined
    (nor held) by this worker."""
    live = Q(status__in=Assignment.ANSWERED) | Q(
        status=Assignment.Status.RESERVED, expires_at__gt=now
    )
    already_taken_by_worker = Assignment.objects.filter(
        data_object=OuterRef("pk"), worker=worker
    ).exclude(status__in=[Assignment.Status.EXPIRED, Assignment.Status.RETURNED])
    slots_used = (
        Assignment.objects.filter(live, data_object=OuterRef("pk"))
        .order_by()
        .values("data_object")
        .annotate(used=Count("pk"))
        .values("used")
    )
    lifetime = timedelta(seconds=job.task_availability_lifetime_seconds)
    return (
        DataObject.objects.filter(
            job=job, status=DataObject.Status.PENDING, in_flight_since__gt=now - lifetime
        )
        .exclude(Exists(already_taken_by_worker))
        .alias(slots_used=Coalesce(Subquery(slots_used), 0))
        .filter(slots_used__lt=job.workers_per_object + F("extra_workers"))
        .select_for_update(skip_locked=skip_locked, of=("self",))
        .order_by("position")
    )


def assignment_answer_store(*, pk: int, answer, now) -> int | None:
    """Reserved and running → submitted with `answer`, in one statement: the number of
    answers the object held before this one, or None when the lease is no longer running.
    Exact only under the object's lock (see assignment_for_submit). PostgreSQL only: None
    elsewhere, and the caller locks the assignment and looks at it."""
    if connection.vendor != "postgresql":
        return None
    answer = Assignment._meta.get_field("answer").get_db_prep_save(answer, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE tasks_assignment AS a
               SET status = 'submitted', answer = %s, submitted_at = %s
             WHERE a.id = %s AND a.status = 'reserved' AND a.expires_at > %s AND NOT a.is_gold
               AND EXISTS (SELECT 1 FROM marketplace_job j
                            WHERE j.id = a.job_id AND j.status = %s)
            RETURNING (SELECT count(*) FROM tasks_assignment b
                        WHERE b.data_object_id = a.data_object_id
                          AND b.status IN ('submitted', 'approved', 'rejected'))
            """,
            [answer, now, pk, now, Job.Status.IN_PROGRESS],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


def consolidation_run_queue(*, job_id: int) -> bool:
    """Count an object answered for the job's next consolidation run, locking its row until
    the caller commits: True when no run was waiting (the caller queues one), False when one
    is, which then sees the object."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO tasks_consolidationrun AS run (job_id, queued_at, objects_answered)
            VALUES (%s, %s, 1)
            ON CONFLICT (job_id) DO UPDATE SET objects_answered = run.objects_answered + 1
            RETURNING objects_answered
            """,
            [job_id, timezone.now()],
        )
        return cursor.fetchone()[0] == 1
