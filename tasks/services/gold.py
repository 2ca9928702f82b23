"""Gold tasks: objects of a job with a known answer, served to workers at the job's gold share
beside the manifest's objects. A gold answer is stored and paid like any other, never
consolidated; it counts toward the worker's gold accuracy, and a worker whose accuracy on an
organisation's jobs falls below the job's threshold is blocked from that organisation."""

import json
import random

from django.db.models import QuerySet

from marketplace.errors import ApplicationError
from marketplace.models import Job
from tasks import answers
from tasks.models import Assignment, DataObject
from workforce.models import Worker, WorkerBlock
from workforce.services import workers as worker_services

# Above any manifest position: gold objects follow the manifest's objects.
GOLD_POSITION_BASE = 2_000_000_000
# Draws whether a claim serves a gold task (tests seed or replace it).
chance = random.Random()  # noqa: S311 - not security-sensitive


def gold_objects_create(*, job: Job) -> int:
    """Create the job's gold objects as it starts (in the caller's transaction); a repeat
    creates nothing. Returns how many were created."""
    if not job.gold_objects or DataObject.objects.filter(job=job, is_gold=True).exists():
        return 0
    created = DataObject.objects.bulk_create(
        DataObject(
            job=job,
            position=GOLD_POSITION_BASE + index,
            input_line=json.dumps(entry, ensure_ascii=False),
            source_ref=entry.get("source-ref", ""),
            source=entry.get("source", ""),
            label=job.labels.index(entry["label"]),
            is_gold=True,
        )
        for index, entry in enumerate(job.gold_objects)
    )
    return len(created)


def gold_wanted(*, job: Job) -> bool:
    """Whether this claim should serve a gold task: drawn at the job's gold share."""
    return bool(job.gold_objects) and chance.random() < (job.gold_share or 0)


def gold_objects_open_for_update(*, worker: Worker, job: Job) -> QuerySet[DataObject]:
    """The job's gold objects this worker has not answered, declined or held, locked, in a
    random order. Gold objects take any number of workers: no slot is counted."""
    taken = Assignment.objects.filter(job=job, worker=worker, is_gold=True).exclude(
        status__in=[Assignment.Status.EXPIRED, Assignment.Status.RETURNED]
    )
    return (
        DataObject.objects.filter(job=job, is_gold=True, status=DataObject.Status.PENDING)
        .exclude(pk__in=taken.values("data_object_id"))
        .select_for_update(of=("self",))
        .order_by("?")
    )


def gold_answer_record(*, assignment: Assignment, data_object: DataObject) -> None:
    """Score a submitted gold answer against the known label, count it in the worker's gold
    record, and block the worker from the organisation when the job's threshold says so. In
    the submit's transaction."""
    job = assignment.job
    given = answers.answer_label(job=job, answer=assignment.answer)
    assignment.gold_correct = given == job.labels[data_object.label]
    assignment.save(update_fields=["gold_correct"])
    worker_services.worker_record_gold(worker=assignment.worker, correct=assignment.gold_correct)
    _gold_threshold_apply(job=job, worker=assignment.worker)


def _gold_threshold_apply(*, job: Job, worker: Worker) -> None:
    threshold = job.gold_accuracy_threshold
    if threshold is None:
        return
    scored = Assignment.objects.filter(
        job__organization_id=job.organization_id,
        worker=worker,
        is_gold=True,
        gold_correct__isnull=False,
    )
    answered = scored.count()
    if answered < job.gold_min_answers:
        return
    correct = scored.filter(gold_correct=True).count()
    if correct / answered >= threshold:
        return
    if WorkerBlock.objects.filter(organization_id=job.organization_id, worker=worker).exists():
        return
    reason = (
        f"Gold accuracy {correct / answered:.0%} below the {threshold:.0%} this requester "
        f"requires ({answered} gold answers)."
    )
    # The block follows the rule the job's requester set: it is theirs.
    try:
        worker_services.worker_block_create(
            organization=job.organization, worker=worker, reason=reason, created_by=job.created_by
        )
    except ApplicationError as error:
        if error.code != "already_blocked":  # blocked by the requester meanwhile: done
            raise
