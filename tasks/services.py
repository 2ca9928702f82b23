"""The assignment queue: claim, submit, consolidate, review; and finishing a job."""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, ExpressionWrapper, F
from django.utils import timezone

from marketplace import locks as job_locks
from marketplace.errors import ApplicationError
from marketplace.models import Job
from marketplace.services import jobs
from payments import services as payments
from payments.models import LedgerAccount
from tasks import answers, builtin_hooks, consolidation, hooks, locks, selectors
from tasks import tasks as celery_tasks
from tasks.manifests import output as manifest_output
from tasks.models import Assignment, DataObject
from workforce.models import User, Worker
from workforce.services import workers

Kind = LedgerAccount.Kind


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


def data_object_consolidate(*, data_object_id: int) -> None:
    """Turn an object's answers into its label; finish the job when it was the last object.

    A job consolidated by its post-annotation hook (consolidation `custom`) calls the hook with
    no row lock held, then stores its answer; a failed call raises hooks.HookError and leaves
    the object as it was. Custom jobs consolidated otherwise keep every worker's answer.
    """
    method = (
        DataObject.objects.filter(pk=data_object_id)
        .values_list("job__consolidation", flat=True)
        .first()
    )
    if method == Job.Consolidation.CUSTOM:
        _data_object_consolidate_by_hook(data_object_id=data_object_id)
        return
    with transaction.atomic():
        data_object = locks.data_object_for_update(pk=data_object_id)
        if data_object.status != DataObject.Status.PENDING:
            return
        job = data_object.job
        answered = list(_answered(data_object=data_object))
        if not answered:
            return
        _data_object_label(job=job, data_object=data_object, answered=answered)
        data_object.labeled_at = _raw_label_time(answered) if job.has_raw_labels else timezone.now()
        _data_object_labeled(job=job, data_object=data_object)


def _answered(*, data_object: DataObject):
    return (
        data_object.assignments.filter(status__in=Assignment.ANSWERED)
        .select_related("worker")
        .order_by("submitted_at", "pk")
    )


def _raw_label_time(answered: list[Assignment]):
    """A label given as consolidated carries the time of the last answer: it names the
    consolidation files, so a repeated consolidation writes the same files."""
    return answered[-1].submitted_at


def _data_object_consolidate_by_hook(*, data_object_id: int) -> None:
    data_object = DataObject.objects.select_related("job__organization").get(pk=data_object_id)
    if data_object.status != DataObject.Status.PENDING:
        return
    job = data_object.job
    answered = list(_answered(data_object=data_object))
    if not answered:
        return
    data_object.labeled_at = _raw_label_time(answered)
    value = hooks.post_annotation_run(job=job, data_object=data_object, answered=answered)
    with transaction.atomic():
        locked = locks.data_object_for_update(pk=data_object_id)
        if locked.status != DataObject.Status.PENDING:
            return
        locked.label = value
        locked.confidence = None
        locked.label_confidences = None
        locked.labeled_at = data_object.labeled_at
        _data_object_labeled(job=locked.job, data_object=locked)


def _data_object_labeled(*, job: Job, data_object: DataObject) -> None:
    """Store the object labeled by people, write its annotation files, count it, and finish
    the job when it was the last object. In the caller's transaction, the object locked."""
    data_object.status = DataObject.Status.LABELED
    data_object.human_annotated = True
    data_object.save(
        update_fields=[
            "status",
            "label",
            "confidence",
            "label_confidences",
            "human_annotated",
            "labeled_at",
        ]
    )
    celery_tasks.data_object_annotations_write_task.delay_on_commit(data_object.pk)
    job = jobs.job_record_outcome(job=job, human_labeled=1)
    if job.is_finished_labeling:
        celery_tasks.job_finalize_task.delay_on_commit(job.pk)


def data_object_consolidation_fail(
    *, data_object_id: int, error: hooks.HookError, attempts: int = 1
) -> Job:
    """The post-annotation hook failed for good on this object: the job fails with a reason
    naming the hook, the object and the error. A job no longer in progress is left as it is
    (a stopping job writes its output without this object's label)."""
    data_object = DataObject.objects.select_related("job").get(pk=data_object_id)
    job = data_object.job
    reason = hooks.hook_failure_reason(
        kind="post-annotation",
        target=job.post_annotation_hook,
        subject=f"object {data_object.position}",
        error=error,
    )
    if attempts > 1:
        reason += f" Tried {attempts} times."
    with transaction.atomic():
        locked = job_locks.job_for_update(pk=job.pk)
        if locked.status != Job.Status.IN_PROGRESS:
            return locked
        return jobs.job_fail(job=locked, reason=reason)


def _data_object_label(*, job: Job, data_object: DataObject, answered: list[Assignment]) -> None:
    """Set the label the answers agree on: a label index and its confidence, or for multi-label
    jobs the selected label indices and one confidence each (`confidence` stays empty). A
    custom job's label is every worker's answer, as the built-in post-annotation hook gives."""
    if job.task_type == Job.TaskType.CUSTOM:
        request = manifest_output.consolidation_request(data_object=data_object, answered=answered)
        data_object.label = hooks.post_annotation_value(
            job=job,
            data_object=data_object,
            response=builtin_hooks.annotations_from_all_workers(
                request, label_attribute_name=job.label_attribute_name
            ),
        )
        data_object.confidence = None
        data_object.label_confidences = None
        return
    given = [assignment.answer for assignment in answered]
    if answers.is_multilabel(job.task_type):
        selected = consolidation.multilabel_majority_vote(
            answers=[answers.answer_labels(job=job, answer=answer) for answer in given],
            labels=job.labels,
        )
        data_object.label = [index for index, _ in selected]
        data_object.label_confidences = [confidence for _, confidence in selected]
        data_object.confidence = None
        return
    label, confidence = consolidation.majority_vote(
        answers=[answers.answer_label(job=job, answer=answer) for answer in given],
        labels=job.labels,
    )
    data_object.label = job.labels.index(label)
    data_object.confidence = confidence
    data_object.label_confidences = None


def job_finalize(*, job_id: int) -> Job:
    """Write the output manifest, then mark the job Completed. Safe to run again."""
    job = Job.objects.get(pk=job_id)
    if job.status != Job.Status.IN_PROGRESS or not job.is_finished_labeling:
        return job
    manifest_output.output_manifest_write(job=job)
    return jobs.job_complete(job=job)


@transaction.atomic
def assignment_approve(*, assignment: Assignment, actor: User | None = None) -> Assignment:
    """Approve submitted work and pay it from the job's escrow, exactly once."""
    data_object = locks.data_object_for_update(pk=assignment.data_object_id)
    locked = locks.assignment_for_update(pk=assignment.pk)
    if locked.status == Assignment.Status.APPROVED:
        return locked
    if locked.status != Assignment.Status.SUBMITTED:
        raise ApplicationError(
            "not_submitted",
            f"An assignment that is {locked.status} cannot be approved.",
            status=409,
        )
    first_for_object = not data_object.assignments.filter(
        status=Assignment.Status.APPROVED
    ).exists()
    locked.status = Assignment.Status.APPROVED
    locked.reviewed_at = timezone.now()
    locked.save(update_fields=["status", "reviewed_at"])
    _approval_pay(assignment=locked, first_for_object=first_for_object)
    workers.worker_record_review(worker=locked.worker, approved=True)
    return locked


def _approval_pay(*, assignment: Assignment, first_for_object: bool) -> None:
    """Public jobs pay each approved answer's reward to its worker; vendor jobs pay the vendor's
    price once per object; private teams are not paid by the platform. The service fee is
    taken once per object."""
    job = assignment.job
    service_fee = settings.SERVICE_FEE_PER_OBJECT_MILLS if first_for_object else 0
    payee_kind, payee_owner, amount = Kind.WORKER_PENDING, assignment.worker.ledger_owner, 0
    if job.workforce == Job.Workforce.PUBLIC:
        amount = job.reward_per_task_mills
    elif job.workforce == Job.Workforce.VENDOR and first_for_object:
        payee_kind, payee_owner = Kind.VENDOR_PENDING, job.vendor.ledger_owner
        amount = job.vendor_price_per_object_mills
    if amount == 0 and service_fee == 0:
        return
    payments.earning_record(
        escrow_owner=job.ledger_escrow_owner,
        payee_owner=payee_owner,
        payee_kind=payee_kind,
        amount_mills=amount,
        service_fee_mills=service_fee,
        idempotency_key=f"assignment:{assignment.pk}:approval",
    )


@transaction.atomic
def assignment_reject(*, assignment: Assignment, reason: str, actor: User | None = None):
    """Reject submitted work with a reason the worker sees. Nothing is paid."""
    if not reason.strip():
        raise ApplicationError("reason_required", "Say why the work is rejected.", field="reason")
    locked = locks.assignment_for_update(pk=assignment.pk)
    if locked.status == Assignment.Status.REJECTED:
        return locked
    if locked.status != Assignment.Status.SUBMITTED:
        raise ApplicationError(
            "not_submitted",
            f"An assignment that is {locked.status} cannot be rejected.",
            status=409,
        )
    locked.status = Assignment.Status.REJECTED
    locked.reviewed_at = timezone.now()
    locked.rejection_reason = reason.strip()
    locked.save(update_fields=["status", "reviewed_at", "rejection_reason"])
    workers.worker_record_review(worker=locked.worker, approved=False)
    return locked


def assignments_expire() -> int:
    """Record leases that ran out. The claim query already treats them as free."""
    return Assignment.objects.filter(
        status=Assignment.Status.RESERVED, expires_at__lte=timezone.now()
    ).update(status=Assignment.Status.EXPIRED)


def assignments_auto_approve(*, limit: int = 1000) -> int:
    """Approve work that waited longer than its job's auto-approval delay."""
    due_at = ExpressionWrapper(
        F("submitted_at") + F("job__auto_approval_delay_seconds") * timedelta(seconds=1),
        output_field=DateTimeField(),
    )
    due = (
        Assignment.objects.filter(status=Assignment.Status.SUBMITTED)
        .alias(due_at=due_at)
        .filter(due_at__lte=timezone.now())
        .order_by("pk")[:limit]
    )
    approved = 0
    for assignment in due:
        assignment_approve(assignment=assignment)
        approved += 1
    return approved


def job_stop_finalize(*, job_id: int) -> Job:
    """Stopping → Stopped: leases still running are returned (their answers would no longer
    count), and the output manifest of what was labeled is written. Safe to run again."""
    job = Job.objects.get(pk=job_id)
    if job.status != Job.Status.STOPPING:
        return job
    Assignment.objects.filter(job=job, status=Assignment.Status.RESERVED).update(
        status=Assignment.Status.RETURNED
    )
    manifest_output.output_manifest_write(job=job)
    return jobs.job_stopped(job=job)
