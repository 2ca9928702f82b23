"""A long seeded run of random queue operations (claims, submits, declines, releases, leases and
lifetimes running out, beat, a stop), with every invariant of the queue checked after each step.

Each step commits as in production (`transaction=True`), so consolidation, completion and the
stop's finalization run as their on-commit tasks do.
"""

import random
from datetime import timedelta

import pytest
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from marketplace.errors import ApplicationError
from marketplace.models import Job
from marketplace.services import jobs
from tasks import services
from tasks.models import Assignment, DataObject
from tests.factories import WorkerFactory, job_in_progress

pytestmark = pytest.mark.django_db(transaction=True)

STEPS = 300
ACTIONS = {  # action: weight
    "claim": 30,
    "submit": 30,
    "decline": 5,
    "release": 5,
    "lease_runs_out": 6,
    "leases_expire_beat": 3,
    "lifetime_runs_out": 4,
}
REFUSALS = {"lease_ended", "task_unavailable", "job_not_in_progress", "already_submitted"}


class Run:
    def __init__(self, *, job: Job, workers: list, rng: random.Random) -> None:
        self.job = job
        self.workers = workers
        self.rng = rng
        self.refused = 0

    def reserved(self) -> Assignment | None:
        leases = list(
            Assignment.objects.filter(job=self.job, status=Assignment.Status.RESERVED).order_by(
                "pk"
            )
        )
        return self.rng.choice(leases) if leases else None

    def step(self, action: str) -> None:
        try:
            getattr(self, action)()
        except ApplicationError as error:
            assert error.code in REFUSALS, (action, error.code, error.message)
            self.refused += 1

    def claim(self) -> None:
        services.assignment_claim(worker=self.rng.choice(self.workers), job=self.job)

    def submit(self) -> None:
        if lease := self.reserved():
            label = self.rng.choice(["cat", "dog"])
            services.assignment_submit(
                assignment=lease, answer={"crowd-image-classifier": {"label": label}}
            )

    def decline(self) -> None:
        if lease := self.reserved():
            services.assignment_decline(assignment=lease)

    def release(self) -> None:
        if lease := self.reserved():
            services.assignment_release(assignment=lease)

    def lease_runs_out(self) -> None:
        if lease := self.reserved():
            Assignment.objects.filter(pk=lease.pk).update(
                expires_at=timezone.now() - timedelta(seconds=1)
            )

    def leases_expire_beat(self) -> None:
        services.assignments_expire()

    def lifetime_runs_out(self) -> None:
        in_flight = list(
            DataObject.objects.filter(
                job=self.job, status=DataObject.Status.PENDING, in_flight_since__isnull=False
            ).order_by("pk")
        )
        if in_flight:
            lifetime = timedelta(seconds=self.job.task_availability_lifetime_seconds + 1)
            DataObject.objects.filter(pk=self.rng.choice(in_flight).pk).update(
                in_flight_since=timezone.now() - lifetime
            )
        services.data_objects_expire()

    def stop(self) -> None:
        try:
            jobs.job_stop(job=self.job, reason="Stopped by the requester.")
        except ApplicationError as error:
            assert error.code == "invalid_transition"  # it completed first


def check_invariants(job: Job) -> None:
    job.refresh_from_db()
    assignments = Assignment.objects.filter(job=job)
    objects = DataObject.objects.filter(job=job)

    # no object has more slots held than the answers it needs
    over = (
        assignments.filter(status__in=Assignment.HOLDING_SLOT)
        .values("data_object")
        .annotate(held=Count("pk"))
        .filter(held__gt=job.workers_per_object)
    )
    assert not over.exists()
    # one worker: one live (or declined) assignment per object, one reserved per job
    twice = (
        assignments.exclude(status__in=[Assignment.Status.EXPIRED, Assignment.Status.RETURNED])
        .values("data_object", "worker")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    assert not twice.exists()
    reserved_twice = (
        assignments.filter(status=Assignment.Status.RESERVED)
        .values("worker")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    assert not reserved_twice.exists()
    # a declined object is never given to the worker again
    given_again = Assignment.objects.filter(
        data_object=OuterRef("data_object"), worker=OuterRef("worker"), pk__gt=OuterRef("pk")
    )
    assert not assignments.filter(Exists(given_again), status=Assignment.Status.DECLINED).exists()
    # answers exist exactly on answered assignments
    assert not assignments.filter(
        Q(status__in=Assignment.ANSWERED, answer__isnull=True)
        | (~Q(status__in=Assignment.ANSWERED) & Q(answer__isnull=False))
    ).exists()

    # the window of objects in flight
    pending = objects.filter(status=DataObject.Status.PENDING)
    in_flight = pending.filter(in_flight_since__isnull=False).count()
    waiting = pending.filter(in_flight_since__isnull=True).count()
    assert in_flight <= job.max_concurrent_task_count
    if job.status == Job.Status.IN_PROGRESS and waiting:
        assert in_flight == job.max_concurrent_task_count

    # counters match the objects
    counts = dict(objects.values_list("status").annotate(n=Count("pk")).order_by())
    labeled = counts.get(DataObject.Status.LABELED, 0)
    failed = counts.get(DataObject.Status.FAILED, 0)
    assert (job.human_labeled_count, job.failed_count) == (labeled, failed)
    assert job.label_counters["unlabeled"] == counts.get(DataObject.Status.PENDING, 0)
    assert job.object_count == labeled + failed + job.label_counters["unlabeled"]
    # a labeled object has an answer; a finished one holds no lease
    answered = Assignment.objects.filter(data_object=OuterRef("pk"), status__in=Assignment.ANSWERED)
    assert not objects.filter(status=DataObject.Status.LABELED).exclude(Exists(answered)).exists()
    assert not assignments.filter(
        status=Assignment.Status.RESERVED, data_object__status__in=["labeled", "failed"]
    ).exists()
    if job.status in (Job.Status.COMPLETED, Job.Status.STOPPED):
        assert not assignments.filter(status=Assignment.Status.RESERVED).exists()
    if job.status == Job.Status.COMPLETED:
        assert job.label_counters["unlabeled"] == 0


@pytest.mark.parametrize(
    ("seed", "objects", "ends"),
    [(7, 24, Job.Status.COMPLETED), (2024, 60, Job.Status.STOPPED), (99, 60, Job.Status.STOPPED)],
)
def test_a_long_random_run_keeps_every_invariant(organization, seed, objects, ends):
    rng = random.Random(seed)
    job = job_in_progress(
        organization, objects=objects, workers_per_object=2, max_concurrent_task_count=4
    )
    run = Run(job=job, workers=[WorkerFactory() for _ in range(6)], rng=rng)
    stop_at = rng.randrange(STEPS * 2 // 3, STEPS)
    names, weights = zip(*ACTIONS.items(), strict=True)
    seen = set()

    for step in range(STEPS):
        action = "stop" if step == stop_at else rng.choices(names, weights)[0]
        run.step(action)
        seen.add(action)
        try:
            check_invariants(job)
        except AssertionError as error:
            raise AssertionError(f"seed {seed}, step {step} ({action})") from error

    job.refresh_from_db()
    assert job.status == ends
    assert seen == {*ACTIONS, "stop"}
    assert run.refused > 0
    assert job.human_labeled_count > 0 and job.failed_count > 0
