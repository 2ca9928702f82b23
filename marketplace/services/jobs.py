"""The labeling-job lifecycle: creation from a spec, start, failure, completion."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplace import locks
from marketplace.celery import app as celery_app
from marketplace.errors import ApplicationError
from marketplace.models import Job, JobEvent, VendorOffer
from marketplace.services import offers
from payments.services import ledger as payments
from workforce import qualifications
from workforce.models import Organization, QualificationType, Team, User, Vendor

# marketplace does not import the tasks app (tasks depends on marketplace); its pipelines are
# started through their registered Celery task names.
MANIFEST_INGEST_TASK = "tasks.tasks.manifest_ingest_task"
JOB_STOP_FINALIZE_TASK = "tasks.tasks.job_stop_finalize_task"
JOB_LIFETIME = timedelta(days=30)


@transaction.atomic
def job_create(*, organization: Organization, created_by: User, spec: dict[str, Any]) -> Job:
    """Create a job from a validated spec; its manifest is read in the background."""
    spec = dict(spec)
    target = spec.pop("workforce_target", "")
    spec["team"], spec["vendor"] = _workforce_resolve(
        organization=organization, workforce=spec["workforce"], target=target
    )
    spec["qualification_requirements"] = _requirements_resolve(
        organization=organization, requirements=spec.get("qualification_requirements", [])
    )
    name_taken = ApplicationError(
        "name_taken", "A labeling job with this name already exists.", field="name"
    )
    if Job.objects.filter(organization=organization, name__iexact=spec["name"]).exists():
        raise name_taken
    try:
        with transaction.atomic():
            job = Job.objects.create(organization=organization, created_by=created_by, **spec)
    except IntegrityError:  # a concurrent request took the name first
        raise name_taken from None
    JobEvent.objects.create(
        job=job, to_status=job.status, actor=created_by, reason="Created by the requester."
    )
    if job.workforce == Job.Workforce.VENDOR:
        offers.vendor_offer_create(job=job, created_by=created_by)
    transaction.on_commit(
        lambda: celery_app.signature(MANIFEST_INGEST_TASK, args=(job.pk,)).apply_async()
    )
    return job


def _workforce_resolve(
    *, organization: Organization, workforce: str, target: str
) -> tuple[Team | None, Vendor | None]:
    if workforce == Job.Workforce.PRIVATE:
        team = Team.objects.filter(organization=organization, name__iexact=target).first()
        if team is None:
            raise ApplicationError(
                "unknown_team", f"You have no team named '{target}'.", field="workforce"
            )
        return team, None
    if workforce == Job.Workforce.VENDOR:
        vendor = Vendor.objects.filter(slug=target).first()
        if vendor is None:
            raise ApplicationError(
                "unknown_vendor", f"There is no vendor '{target}'.", field="workforce"
            )
        return None, vendor
    return None, None


def _requirements_resolve(*, organization: Organization, requirements: list[dict]) -> list[dict]:
    """Name qualifications as requirements store them: system:<name> or type:<id>."""
    resolved = []
    for index, requirement in enumerate(requirements):
        name = requirement["qualification"]
        if name in qualifications.SYSTEM:
            key = f"system:{name}"
        else:
            # Locked until the job is stored, so the type cannot be deleted in between.
            found = (
                QualificationType.objects.select_for_update()
                .filter(organization=organization, name__iexact=name)
                .first()
            )
            if found is None:
                raise ApplicationError(
                    "unknown_qualification",
                    f"'{name}' is neither a system qualification nor one of your types.",
                    field=f"qualification_requirements[{index}].qualification",
                )
            key = f"type:{found.pk}"
        resolved.append({**requirement, "qualification": key})
    return resolved


def _transition(*, job: Job, to: Job.Status, actor: User | None, reason: str, **fields: Any) -> Job:
    locked = locks.job_for_update(pk=job.pk)
    if to not in Job.TRANSITIONS.get(locked.status, set()):
        raise ApplicationError(
            "invalid_transition",
            f"The job is {locked.status} and cannot become {to}.",
            status=409,
        )
    JobEvent.objects.create(
        job=locked, from_status=locked.status, to_status=to, actor=actor, reason=reason
    )
    locked.status = to
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.save(update_fields=["status", *fields])
    return locked


def job_max_cost_mills(*, job: Job, object_count: int) -> int:
    """What the job can cost at most: every answer rewarded plus fees, and the service fee;
    for a public job with gold tasks, also the gold answers its gold share allows (gold
    answers are paid like any other)."""
    cost = object_count * (
        job_cost_per_object_mills(job=job) + settings.SERVICE_FEE_PER_OBJECT_MILLS
    )
    if job.workforce == Job.Workforce.PUBLIC:
        reward = job.reward_per_task_mills
        cost += job_gold_answers_allowed(job=job, object_count=object_count) * (
            reward + payments.platform_fee_mills(amount_mills=reward)
        )
    return cost


def job_gold_answers_allowed(*, job: Job, object_count: int) -> int:
    """The most gold answers the job's workers can give: at a gold share s, s / (1 - s) gold
    answers for each other answer, rounded up (in whole hundredths, the share's precision)."""
    if not job.gold_objects or not job.gold_share:
        return 0
    hundredths = round(job.gold_share * 100)
    answers = object_count * job.most_workers_per_object
    return -(-answers * hundredths // (100 - hundredths))


def job_cost_per_object_mills(*, job: Job) -> int:
    """What labeling one object pays out besides the service fee, platform fee included:
    every answer's reward for a public job, the vendor's price for a vendor job, nothing for a
    private team."""
    if job.workforce == Job.Workforce.PUBLIC:
        reward = job.reward_per_task_mills
        return job.most_workers_per_object * (
            reward + payments.platform_fee_mills(amount_mills=reward)
        )
    if job.workforce == Job.Workforce.VENDOR:
        price = job.vendor_price_per_object_mills
        return price + payments.platform_fee_mills(amount_mills=price)
    return 0


@transaction.atomic
def job_start(*, job: Job, object_count: int) -> Job:
    """Initializing → InProgress once the objects exist: reserves the job's budget in escrow."""
    payments.escrow_reserve(
        payer=job.organization.ledger_owner,
        escrow_owner=job.ledger_escrow_owner,
        amount_mills=job_max_cost_mills(job=job, object_count=object_count),
        idempotency_key=f"job:{job.pk}:escrow",
    )
    now = timezone.now()
    return _transition(
        job=job,
        to=Job.Status.IN_PROGRESS,
        actor=None,
        reason=f"Input manifest read: {object_count} objects.",
        object_count=object_count,
        started_at=now,
        expires_at=now + JOB_LIFETIME,
    )


@transaction.atomic
def job_fail(*, job: Job, reason: str, actor: User | None = None) -> Job:
    """Any state → Failed, with a reason the requester can act on. A pending vendor offer is
    withdrawn: there is no work left to take on."""
    for offer in job.vendor_offers.filter(status=VendorOffer.Status.PENDING):
        offers.vendor_offer_withdraw(offer=offer, withdrawn_by=actor)
    return _transition(
        job=job,
        to=Job.Status.FAILED,
        actor=actor,
        reason=reason,
        failure_reason=reason,
        ended_at=timezone.now(),
    )


@transaction.atomic
def job_complete(*, job: Job) -> Job:
    return _transition(
        job=job,
        to=Job.Status.COMPLETED,
        actor=None,
        reason="Every object is labeled and the output manifest is written.",
        ended_at=timezone.now(),
    )


@transaction.atomic
def job_stop(*, job: Job, reason: str, actor: User | None = None) -> Job:
    """Initializing or InProgress → Stopping: no new task is handed out; the output of what was
    labeled is written in the background, then the job is Stopped. It cannot restart; a new job
    can continue from its output manifest."""
    stopping = _transition(job=job, to=Job.Status.STOPPING, actor=actor, reason=reason)
    for offer in stopping.vendor_offers.filter(status=VendorOffer.Status.PENDING):
        offers.vendor_offer_withdraw(offer=offer, withdrawn_by=actor)
    transaction.on_commit(
        lambda: celery_app.signature(JOB_STOP_FINALIZE_TASK, args=(job.pk,)).apply_async()
    )
    return stopping


@transaction.atomic
def job_stopped(*, job: Job) -> Job:
    return _transition(
        job=job,
        to=Job.Status.STOPPED,
        actor=None,
        reason="The output manifest of the labeled objects is written.",
        ended_at=timezone.now(),
    )


def jobs_expire() -> int:
    """Stop every running job past its 30 days."""
    expired = Job.objects.filter(
        status=Job.Status.IN_PROGRESS, expires_at__lte=timezone.now()
    ).values_list("pk", flat=True)
    stopped = 0
    for pk in expired:
        try:
            job_stop(job=Job(pk=pk), reason="The job expired 30 days after it started.")
            stopped += 1
        except ApplicationError:  # stopped or finished meanwhile
            continue
    return stopped


def _stopping_condition_reached(job: Job) -> str | None:
    if job.max_human_labeled_objects and job.human_labeled_count >= job.max_human_labeled_objects:
        return f"{job.human_labeled_count} objects were labeled by people (the limit)."
    if job.max_percentage_labeled and job.object_count:
        labeled = job.label_counters["total_labeled"]
        if 100 * labeled >= job.max_percentage_labeled * job.object_count:
            return f"{labeled} of {job.object_count} objects are labeled (the limit)."
    return None


@transaction.atomic
def job_record_outcome(*, job: Job, human_labeled: int = 0, failed: int = 0) -> Job:
    """Count finished objects, and stop the job when a stopping condition is reached. Returns
    the job locked, so the caller sees exact counters."""
    locked = locks.job_for_update(pk=job.pk)
    locked.human_labeled_count += human_labeled
    locked.failed_count += failed
    locked.save(update_fields=["human_labeled_count", "failed_count"])
    reached = _stopping_condition_reached(locked)
    if reached and locked.status == Job.Status.IN_PROGRESS and not locked.is_finished_labeling:
        return job_stop(job=locked, reason=f"Stopping condition: {reached}")
    return locked
