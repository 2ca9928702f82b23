"""Worker skill: each worker's accuracy on a requester organisation's single-label
classification jobs, estimated by Dawid-Skene EM from the agreement between workers, and the
live consolidation that weights answers by it.

A job is estimated on its own (its labels, its workers' confusion matrices); a worker's skill
at the organisation is the mean of its per-job accuracies weighted by its answers on each job.
"""

from collections import defaultdict
from collections.abc import Mapping

import numpy as np
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from marketplace.models import Job
from tasks import answers, consolidation
from tasks.models import Assignment, DataObject
from workforce.models import Organization, WorkerSkill
from workforce.selectors import workers as worker_selectors
from workforce.services import workers as worker_services

SINGLE_LABEL_TASK_TYPES = (Job.TaskType.IMAGE_CLASSIFICATION, Job.TaskType.TEXT_CLASSIFICATION)


def _skill_jobs() -> QuerySet[Job]:
    """Single-label classification jobs not consolidated by a post-annotation hook."""
    return Job.objects.filter(task_type__in=SINGLE_LABEL_TASK_TYPES).exclude(
        consolidation=Job.Consolidation.CUSTOM
    )


def worker_skills_estimate(
    *, organization: Organization, gold: Mapping[int, str] | None = None
) -> int:
    """Estimate the skill of every worker who answered the organisation's single-label
    classification jobs and store it (one row per worker, replaced on each run). Objects with a
    known label anchor and seed the estimate: each job's gold objects, or those `gold` maps
    (data object id → label name) when given. Returns the number of workers estimated."""
    estimated_at = timezone.now()
    weighted_accuracy: dict[int, float] = defaultdict(float)
    answer_count: dict[int, int] = defaultdict(int)
    for job in _skill_jobs().filter(organization=organization).order_by("pk"):
        for worker_id, accuracy, count in _job_worker_accuracies(job=job, gold=gold):
            weighted_accuracy[worker_id] += accuracy * count
            answer_count[worker_id] += count
    return worker_services.worker_skills_store(
        organization=organization,
        skills={
            worker_id: (min(max(weighted_accuracy[worker_id] / count, 0.0), 1.0), count)
            for worker_id, count in answer_count.items()
        },
        estimated_at=estimated_at,
    )


def _job_worker_accuracies(
    *, job: Job, gold: Mapping[int, str] | None
) -> list[tuple[int, float, int]]:
    """(worker id, Dawid-Skene accuracy, answers) per worker who answered the job."""
    given = list(
        Assignment.objects.filter(job=job, status__in=Assignment.ANSWERED)
        .order_by("data_object_id", "submitted_at", "pk")
        .values_list("data_object_id", "worker_id", "answer")
    )
    if not given:
        return []
    arrays = consolidation.answer_arrays(
        items=[str(object_id) for object_id, _, _ in given],
        workers=[str(worker_id) for _, worker_id, _ in given],
        labels=[answers.answer_label(job=job, answer=answer) for _, _, answer in given],
        label_order=job.labels,
    )
    if gold is None:  # the job's gold objects, with their known labels
        gold = {
            pk: job.labels[label]
            for pk, label in DataObject.objects.filter(job=job, is_gold=True).values_list(
                "pk", "label"
            )
        }
    answered_objects = {object_id for object_id, _, _ in given}
    job_gold = {
        str(object_id): label for object_id, label in gold.items() if object_id in answered_objects
    }
    result = consolidation.dawid_skene(answers=arrays, gold=job_gold or None)
    counts = arrays.answers_per_worker
    return [
        (int(name), float(result.worker_accuracy[index]), int(counts[index]))
        for index, name in enumerate(arrays.worker_names.tolist())
    ]


def organizations_due_for_skills() -> QuerySet[Organization]:
    """Organisations with an answer on a skill job submitted since their last estimate (or
    never estimated): one query, an EXISTS per organisation on the assignments index."""
    last_estimate = (
        WorkerSkill.objects.filter(organization=OuterRef("pk"))
        .order_by("-updated_at")
        .values("updated_at")[:1]
    )
    answered = Assignment.objects.filter(
        job__organization=OuterRef("pk"),
        job__task_type__in=SINGLE_LABEL_TASK_TYPES,
        status__in=Assignment.ANSWERED,
    ).exclude(job__consolidation=Job.Consolidation.CUSTOM)
    return (
        Organization.objects.annotate(last_estimate=Subquery(last_estimate))
        .filter(
            Exists(answered.filter(submitted_at__gt=OuterRef("last_estimate")))
            | (Q(last_estimate__isnull=True) & Exists(answered))
        )
        .order_by("pk")
    )


def worker_skills_estimate_due() -> int:
    """Re-estimate the skills of every organisation with new answers. Returns how many
    organisations were estimated."""
    due = list(organizations_due_for_skills())
    for organization in due:
        worker_skills_estimate(organization=organization)
    return len(due)


def _weighs_answers(job: Job) -> bool:
    return job.task_type in SINGLE_LABEL_TASK_TYPES and job.consolidation in (
        Job.Consolidation.DAWID_SKENE,
        Job.Consolidation.AUTO,
    )


def stored_skills_for(*, job: Job, worker_ids) -> dict[int, tuple[float, int]] | None:
    """The stored skills of these workers at the job's organisation, read once for a batch of
    the job's objects (see skill_weights_for); None when the job never weighs answers."""
    if not _weighs_answers(job):
        return None
    return worker_selectors.worker_skills(
        organization_id=job.organization_id, worker_ids=list(worker_ids)
    )


def skill_weights_for(
    *, job: Job, worker_ids: list[int], stored: dict[int, tuple[float, int]] | None = None
) -> dict[int, float] | None:
    """The stored accuracies to weight these workers' answers on an object of the job by, or
    None for a majority vote. Single-label jobs consolidated `dawid_skene` always weight
    (unknown workers count at the prior); `auto` ones once the workers' skills rest on enough
    answers for `choose_method` to pick Dawid-Skene (8 per label at the median worker).
    `stored`: the skills already read for a batch (stored_skills_for)."""
    if not _weighs_answers(job):
        return None
    if stored is None:
        stored = stored_skills_for(job=job, worker_ids=worker_ids)
    stored = {worker: stored[worker] for worker in worker_ids if worker in stored}
    if job.consolidation == Job.Consolidation.AUTO:
        answers_per_worker = [stored[worker][1] if worker in stored else 0 for worker in worker_ids]
        method = consolidation.choose_method(
            answers_per_worker=np.array(answers_per_worker, dtype=np.int64),
            labels=len(job.labels),
        )
        if method != "dawid_skene":
            return None
    return {worker: accuracy for worker, (accuracy, _) in stored.items()}
