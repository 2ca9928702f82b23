from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from marketplace.models import Job, VendorOffer
from workforce import qualifications
from workforce.models import Organization, TeamMember, Vendor, Worker, WorkerBlock


def job_list_for(*, organization: Organization) -> QuerySet[Job]:
    return (
        Job.objects.filter(organization=organization)
        .select_related("team", "vendor")
        .order_by("-created_at", "-pk")
    )


def job_get_for(*, organization: Organization, name: str) -> Job:
    """The organisation's job by name (case-insensitive); 404 for anyone else's."""
    job = job_list_for(organization=organization).filter(name__iexact=name).first()
    if job is None:
        raise Http404("No such labeling job.")
    return job


# --- Vendor offers, scoped to the requester organisation or the vendor. ------------------------


def vendor_offer_list_for_organization(*, organization: Organization) -> QuerySet[VendorOffer]:
    """The offers of the organisation's jobs, newest first."""
    return (
        VendorOffer.objects.filter(job__organization=organization)
        .select_related("job", "vendor", "team")
        .order_by("-created_at", "-pk")
    )


def vendor_offer_get_for_organization(*, organization: Organization, pk: int) -> VendorOffer:
    """One of the organisation's offers; 404 for anyone else's."""
    offer = vendor_offer_list_for_organization(organization=organization).filter(pk=pk).first()
    if offer is None:
        raise Http404("No such vendor offer.")
    return offer


def vendor_offer_list_for_vendor(*, vendor: Vendor) -> QuerySet[VendorOffer]:
    """The offers made to the vendor, newest first."""
    return (
        VendorOffer.objects.filter(vendor=vendor)
        .select_related("job", "team")
        .order_by("-created_at", "-pk")
    )


def vendor_offer_get_for_vendor(*, vendor: Vendor, pk: int) -> VendorOffer:
    """One of the offers made to the vendor; 404 for any other."""
    offer = vendor_offer_list_for_vendor(vendor=vendor).filter(pk=pk).first()
    if offer is None:
        raise Http404("No such vendor offer.")
    return offer


# --- Which jobs a worker may see and work on: decided here and nowhere else. -------------------


def jobs_visible_to(*, worker: Worker, jobs: QuerySet[Job] | None = None) -> QuerySet[Job]:
    """Jobs whose workforce includes the worker: public jobs, private jobs of the worker's
    teams, and vendor jobs whose accepted offer went to one of the worker's teams."""
    teams = TeamMember.objects.filter(worker=worker).values("team_id")
    accepted_for_worker = VendorOffer.objects.filter(
        job=OuterRef("pk"), status=VendorOffer.Status.ACCEPTED, team_id__in=teams
    )
    return (jobs if jobs is not None else Job.objects.all()).filter(
        Q(workforce=Job.Workforce.PUBLIC)
        | Q(workforce=Job.Workforce.PRIVATE, team_id__in=teams)
        | Q(Exists(accepted_for_worker), workforce=Job.Workforce.VENDOR)
    )


def job_visible_to(*, worker: Worker, job: Job) -> bool:
    """Whether `job` is among `jobs_visible_to(worker=worker)`; a public job without a query."""
    if job.workforce == Job.Workforce.PUBLIC:
        return True
    return jobs_visible_to(worker=worker, jobs=Job.objects.filter(pk=job.pk)).exists()


def jobs_eligible_for(*, worker: Worker, jobs: QuerySet[Job] | None = None) -> list[Job]:
    """Jobs the worker may take new tasks from: visible to them, not from a requester that
    blocked them, and with every qualification requirement met."""
    blocked_by = WorkerBlock.objects.filter(worker=worker).values("organization_id")
    candidates = jobs_visible_to(worker=worker, jobs=jobs).exclude(organization_id__in=blocked_by)
    values: dict[str, int] | None = None  # the worker's, read once a job asks for any
    eligible = []
    for job in candidates:
        if job.qualification_requirements:
            if values is None:
                values = qualifications.worker_values(worker)
            if not qualifications.requirements_met(job.qualification_requirements, values):
                continue
        eligible.append(job)
    return eligible


# What a worker's claim and submit read of the job (the queue, the task input, the answer check
# and the assignment's output): the busiest queries read these only; anything else is read if
# something asks for it (tests/tasks/test_queue_queries.py counts the statements).
JOB_FIELDS_FOR_WORK = (
    "id", "organization_id", "name", "status", "task_type", "input_manifest_uri", "output_path",
    "labels", "title",
    "short_instructions", "full_instructions", "good_example", "bad_example", "workforce",
    "team_id", "qualification_requirements", "workers_per_object", "task_time_limit_seconds",
    "task_availability_lifetime_seconds", "reward_per_task_mills", "consolidation",
    "gold_objects", "gold_share",
)  # fmt: skip


def job_get_eligible_for(*, worker: Worker, pk: int) -> Job:
    """A job the worker may take tasks from (or could, until it ended); 404 for any other.
    The same rules as jobs_eligible_for, read with one query for a public job (the claim asks
    on every task)."""
    try:
        job = (
            Job.objects.only(*JOB_FIELDS_FOR_WORK)
            .exclude(status__in=[Job.Status.INITIALIZING, Job.Status.FAILED])
            .annotate(
                worker_blocked=Exists(
                    WorkerBlock.objects.filter(
                        worker=worker, organization_id=OuterRef("organization")
                    )
                )
            )
            .get(pk=pk)
        )
    except Job.DoesNotExist:
        raise Http404("No such job.") from None
    if (
        job.worker_blocked
        or not job_visible_to(worker=worker, job=job)
        or (
            job.qualification_requirements
            and not qualifications.requirements_met(
                job.qualification_requirements, qualifications.worker_values(worker)
            )
        )
    ):
        raise Http404("No such job.")
    return job
