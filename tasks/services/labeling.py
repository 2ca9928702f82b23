"""Turning an object's answers into its label (majority, skill-weighted vote, pass-through, or
the post-annotation hook), ending objects whose availability lifetime ran out, and finishing a
job once every object is done or it is stopped."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from marketplace import locks as job_locks
from marketplace.models import Job
from marketplace.services import jobs
from tasks import answers, builtin_hooks, consolidation, deadlines, hooks, locks
from tasks import tasks as celery_tasks
from tasks.manifests import output as manifest_output
from tasks.models import Assignment, ConsolidationRun, DataObject
from tasks.services import queue, settlement, skills

LIFETIME_BATCH_SIZE = 200  # objects looked up at once by data_objects_expire
CONSOLIDATION_BATCH_SIZE = 500  # objects labeled per transaction by data_objects_consolidate
# A consolidation run not started this long after it was queued is queued again.
RUN_OVERDUE_SECONDS = 120
LABEL_FIELDS = [
    "status",
    "label",
    "confidence",
    "label_confidences",
    "human_annotated",
    "labeled_at",
]


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
        if _one_more_answer_wanted(job=job, data_object=data_object, answered=answered):
            data_object.extra_workers += 1
            data_object.answered_at = None
            data_object.save(update_fields=["extra_workers", "answered_at"])
            return
        _data_object_label_store(job=job, data_object=data_object, answered=answered)


def data_objects_consolidate(*, job_id: int, batch_size: int = CONSOLIDATION_BATCH_SIZE) -> int:
    """The job's consolidation run: label every object that has the answers it asked for
    (DataObject.answered_at), a batch per transaction, and count them once per batch. Returns
    how many were labeled. Objects are locked in id order, waiting for a submit or another
    run that holds one (a skipped object could be left with no run to label it). A job
    consolidated by its post-annotation hook consolidates each object in a task of its own
    instead."""
    # Objects completed from now on queue the next run (locks.consolidation_run_queue).
    ConsolidationRun.objects.filter(job_id=job_id).delete()
    job = Job.objects.get(pk=job_id)
    labeled = 0
    while True:
        with transaction.atomic():
            batch = list(
                DataObject.objects.filter(
                    job_id=job_id, status=DataObject.Status.PENDING, answered_at__isnull=False
                )
                .select_for_update()
                .order_by("id")[:batch_size]
            )
            if not batch:
                return labeled
            labeled += _data_objects_consolidate_locked(job=job, batch=batch)
        if len(batch) < batch_size:
            return labeled


def consolidation_runs_overdue(*, after_seconds: float = RUN_OVERDUE_SECONDS) -> list[int]:
    """The jobs whose consolidation run was queued more than `after_seconds` ago and has not
    started (a run deletes its row as it starts): its message was lost. Running one again is
    harmless, and a run still waiting in the queue then finds nothing."""
    overdue = timezone.now() - timedelta(seconds=after_seconds)
    return list(
        ConsolidationRun.objects.filter(queued_at__lt=overdue).values_list("job_id", flat=True)
    )


def _data_objects_consolidate_locked(*, job: Job, batch: list[DataObject]) -> int:
    answered: dict[int, list[Assignment]] = {data_object.pk: [] for data_object in batch}
    for assignment in Assignment.objects.filter(
        data_object__in=batch, status__in=Assignment.ANSWERED
    ).order_by("submitted_at", "pk"):
        answered[assignment.data_object_id].append(assignment)
    stored = skills.stored_skills_for(
        job=job, worker_ids={a.worker_id for given in answered.values() for a in given}
    )
    labeled, waiting = [], []
    for data_object in batch:
        given = answered[data_object.pk]
        _data_object_label(job=job, data_object=data_object, answered=given, stored=stored)
        if _one_more_answer_wanted(job=job, data_object=data_object, answered=given):
            data_object.extra_workers += 1
            data_object.answered_at = None
            waiting.append(data_object)
            continue
        data_object.labeled_at = _raw_label_time(given) if job.has_raw_labels else timezone.now()
        labeled.append(data_object)
    DataObject.objects.bulk_update(waiting, ["extra_workers", "answered_at"])
    if labeled:
        _data_objects_labeled(job=job, data_objects=labeled)
    return len(labeled)


def _one_more_answer_wanted(
    *, job: Job, data_object: DataObject, answered: list[Assignment]
) -> bool:
    """Dynamic overlap: the object (its label just computed) has all the answers asked for,
    but they agree with less than the job's target confidence, and another worker may still be
    asked. (At the end of its availability lifetime an object is labeled with what it has.)"""
    if job.max_workers_per_object is None or len(answered) >= job.max_workers_per_object:
        return False
    if len(answered) < job.workers_per_object + data_object.extra_workers:
        return False
    return data_object.confidence is not None and data_object.confidence < job.target_confidence


def _data_object_consolidate_locked(
    *, job: Job, data_object: DataObject, answered: list[Assignment]
) -> None:
    """Label the object from its answers, in the caller's transaction, the object locked."""
    _data_object_label(job=job, data_object=data_object, answered=answered)
    _data_object_label_store(job=job, data_object=data_object, answered=answered)


def _data_object_label_store(
    *, job: Job, data_object: DataObject, answered: list[Assignment]
) -> None:
    """Store the label computed on the object (see _data_object_label) and count it."""
    data_object.labeled_at = _raw_label_time(answered) if job.has_raw_labels else timezone.now()
    _data_objects_labeled(job=job, data_objects=[data_object])


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
        _data_objects_labeled(job=locked.job, data_objects=[locked])


def _data_objects_labeled(*, job: Job, data_objects: list[DataObject]) -> None:
    """Store the objects labeled by people (their label computed), write their annotation
    files, count them, and finish the job when they were the last. In the caller's
    transaction, the objects locked."""
    for data_object in data_objects:
        data_object.status = DataObject.Status.LABELED
        data_object.human_annotated = True
    DataObject.objects.bulk_update(data_objects, LABEL_FIELDS)
    celery_tasks.data_objects_annotations_write_task.delay_on_commit(
        [data_object.pk for data_object in data_objects]
    )
    _data_object_counted(job=job, human_labeled=len(data_objects))


def _data_object_counted(*, job: Job, human_labeled: int = 0, failed: int = 0) -> None:
    """Count an object that left pending, put the next one out to workers in its place, and
    finish the job when it was the last. In the caller's transaction, the object locked."""
    job = jobs.job_record_outcome(job=job, human_labeled=human_labeled, failed=failed)
    if job.status == Job.Status.IN_PROGRESS:
        queue.data_objects_admit(job=job)
    if job.is_finished_labeling:
        celery_tasks.job_finalize_task.delay_on_commit(job.pk)


def data_objects_expire(*, batch_size: int = LIFETIME_BATCH_SIZE) -> int:
    """End every object of a running job whose availability lifetime ran out (see
    data_object_expire), a batch at a time. Returns how many were ended here; a run beside
    another, or again, ends nothing twice."""
    ended = 0
    after = 0
    while True:
        due = list(_data_objects_due(now=timezone.now(), after=after)[:batch_size])
        for pk in due:
            ended += data_object_expire(data_object_id=pk)
        if len(due) < batch_size:
            return ended
        after = due[-1]


def _data_objects_due(*, now, after: int):
    in_flight = DataObject.objects.filter(
        status=DataObject.Status.PENDING,
        in_flight_since__isnull=False,
        job__status=Job.Status.IN_PROGRESS,
        pk__gt=after,
    )
    due = deadlines.deadline_condition(
        start="in_flight_since",
        seconds="job__task_availability_lifetime_seconds",
        values=Job.objects.filter(status=Job.Status.IN_PROGRESS)
        .values_list("task_availability_lifetime_seconds", flat=True)
        .order_by()
        .distinct(),
        now=now,
        passed=True,
    )
    return in_flight.filter(due).order_by("pk").values_list("pk", flat=True)


def data_object_expire(*, data_object_id: int) -> bool:
    """The object's availability lifetime ran out before it got all its answers: its leases
    still held are returned (expired, when they ran out), and it is consolidated with the
    answers it has; with none it is failed and counted `failed_non_retryable_error`. The next
    object is then put out to workers, and the job finishes when it was the last.

    Returns whether it ended the object (False when it was finished or ended already, or its
    job is no longer running). A job consolidated by its post-annotation hook consolidates in
    its own task, queued on commit.
    """
    with transaction.atomic():
        data_object = locks.data_object_for_update(pk=data_object_id)
        job = data_object.job
        now = timezone.now()
        if (
            data_object.status != DataObject.Status.PENDING
            or data_object.in_flight_since is None
            or job.status != Job.Status.IN_PROGRESS
            or data_object.in_flight_since
            + timedelta(seconds=job.task_availability_lifetime_seconds)
            > now
        ):
            return False
        # Waits for a submit holding one of these leases: the answers read next include it.
        reserved = data_object.assignments.filter(status=Assignment.Status.RESERVED)
        reserved.filter(expires_at__lte=now).update(status=Assignment.Status.EXPIRED)
        reserved.update(status=Assignment.Status.RETURNED)
        answered = list(_answered(data_object=data_object))
        if not answered:
            data_object.status = DataObject.Status.FAILED
            data_object.save(update_fields=["status"])
            _data_object_counted(job=job, failed=1)
            return True
        if job.consolidation == Job.Consolidation.CUSTOM:
            celery_tasks.data_object_consolidate_task.delay_on_commit(data_object_id)
            return True
        _data_object_consolidate_locked(job=job, data_object=data_object, answered=answered)
        return True


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


def _data_object_label(
    *,
    job: Job,
    data_object: DataObject,
    answered: list[Assignment],
    stored: dict[int, tuple[float, int]] | None = None,
) -> None:
    """Set the label the answers agree on: a label index and its confidence, or for multi-label
    jobs the selected label indices and one confidence each (`confidence` stays empty). A
    custom job's label is every worker's answer, as the built-in post-annotation hook gives.

    Single-label jobs consolidated by Dawid-Skene (method `dawid_skene`, or `auto` once the
    workers' stored skills rest on enough answers for `choose_method` to pick it) weight each
    answer by the worker's skill at the organisation (skills.worker_skills_estimate); the
    others, and multi-label jobs, take the majority vote."""
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
    chosen = [answers.answer_label(job=job, answer=answer) for answer in given]
    known = skills.skill_weights_for(
        job=job, worker_ids=[assignment.worker_id for assignment in answered], stored=stored
    )
    if known is not None:
        label, confidence = consolidation.weighted_vote(
            answers=chosen,
            accuracies=[known.get(assignment.worker_id) for assignment in answered],
            labels=job.labels,
        )
    else:
        label, confidence = consolidation.majority_vote(answers=chosen, labels=job.labels)
    data_object.label = job.labels.index(label)
    data_object.confidence = confidence
    data_object.label_confidences = None


def job_finalize(*, job_id: int) -> Job:
    """Write the output manifest, then mark the job Completed. Safe to run again."""
    job = Job.objects.get(pk=job_id)
    if job.status != Job.Status.IN_PROGRESS or not job.is_finished_labeling:
        return job
    manifest_output.output_manifest_write(job=job)
    job = jobs.job_complete(job=job)
    settlement.job_escrow_settle(job=job)
    return job


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
    job = jobs.job_stopped(job=job)
    settlement.job_escrow_settle(job=job)
    return job
