"""The queue under real concurrent connections (PostgreSQL): each race has exactly the outcomes
the rules allow, whichever side wins."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from marketplace.errors import ApplicationError
from marketplace.models import Job
from tasks import services
from tasks.models import Assignment, DataObject
from tests.concurrency import run_concurrently
from tests.factories import WorkerFactory, job_in_progress

pytestmark = pytest.mark.django_db(transaction=True)

CAT = {"crowd-image-classifier": {"label": "cat"}}
# How long before the race a lease or a lifetime ends: from already over to a little later,
# so that each side wins in some rounds.
ENDS_IN_SECONDS = (-1, 0, 0.02, 0.05)


def holding_slots(data_object_id: int) -> int:
    return Assignment.objects.filter(
        data_object_id=data_object_id, status__in=Assignment.HOLDING_SLOT
    ).count()


def test_workers_claiming_the_last_object_get_exactly_the_answers_it_needs(organization):
    job = job_in_progress(organization, objects=1, workers_per_object=3)
    workers = [WorkerFactory() for _ in range(8)]

    outcomes = run_concurrently(8, lambda i: services.assignment_claim(worker=workers[i], job=job))

    assert all(outcome.succeeded for outcome in outcomes)
    won = [outcome.value[0] for outcome in outcomes if outcome.value[0] is not None]
    assert len(won) == 3
    assert sorted(assignment.slot for assignment in won) == [0, 1, 2]
    assert Assignment.objects.count() == 3


def test_claims_only_ever_get_the_objects_in_flight(organization):
    job = job_in_progress(
        organization, objects=6, workers_per_object=2, max_concurrent_task_count=2
    )
    workers = [WorkerFactory() for _ in range(8)]

    outcomes = run_concurrently(8, lambda i: services.assignment_claim(worker=workers[i], job=job))

    assert all(outcome.succeeded for outcome in outcomes)
    per_position = Counter(Assignment.objects.values_list("data_object__position", flat=True))
    assert per_position == {0: 2, 1: 2}


def test_two_submits_of_one_assignment_store_one_answer(organization):
    job = job_in_progress(organization, objects=1)
    lease, _ = services.assignment_claim(worker=WorkerFactory(), job=job)
    labels = ["cat", "dog"]

    outcomes = run_concurrently(
        2,
        lambda i: services.assignment_submit(
            assignment=lease, answer={"crowd-image-classifier": {"label": labels[i]}}
        ),
    )

    assert all(outcome.succeeded for outcome in outcomes)
    first, second = (outcome.value for outcome in outcomes)
    assert (first.answer, first.submitted_at) == (second.answer, second.submitted_at)
    stored = Assignment.objects.get()
    assert (stored.status, stored.answer) == ("submitted", first.answer)
    job.refresh_from_db()
    assert (job.status, job.human_labeled_count) == (Job.Status.COMPLETED, 1)


@pytest.mark.parametrize("workers_per_object", [2, 3, 5])
def test_the_last_answers_arriving_together_still_consolidate_the_object(
    organization, workers_per_object
):
    # Each submit counts the object's answers to decide whether it was the last one: counted
    # in parallel, every submit could see fewer than it needs and none would consolidate.
    job = job_in_progress(organization, objects=1, workers_per_object=workers_per_object)
    leases = [
        services.assignment_claim(worker=WorkerFactory(), job=job)[0]
        for _ in range(workers_per_object)
    ]

    outcomes = run_concurrently(
        workers_per_object,
        lambda i: services.assignment_submit(assignment=leases[i], answer=CAT),
    )

    assert all(outcome.succeeded for outcome in outcomes)
    data_object = DataObject.objects.get()
    assert data_object.status == DataObject.Status.LABELED
    job.refresh_from_db()
    assert (job.status, job.human_labeled_count) == (Job.Status.COMPLETED, 1)


@pytest.mark.parametrize("ends_in", ENDS_IN_SECONDS)
def test_a_submit_racing_the_takeover_of_its_expiring_lease_counts_or_is_refused(
    organization, ends_in
):
    job = job_in_progress(organization, objects=1)
    lease, _ = services.assignment_claim(worker=WorkerFactory(), job=job)
    Assignment.objects.filter(pk=lease.pk).update(
        expires_at=timezone.now() + timedelta(seconds=ends_in)
    )
    newcomer = WorkerFactory()

    submit, claim = run_concurrently(
        2,
        lambda i: (
            services.assignment_submit(assignment=lease, answer=CAT)
            if i == 0
            else services.assignment_claim(worker=newcomer, job=job)
        ),
    )

    assert claim.succeeded
    taken = claim.value[0]
    lease.refresh_from_db()
    data_object = DataObject.objects.get()
    job.refresh_from_db()
    if submit.succeeded:
        assert taken is None
        assert (lease.status, lease.answer) == ("submitted", CAT)
        assert (data_object.status, job.human_labeled_count) == ("labeled", 1)
    else:
        assert isinstance(submit.error, ApplicationError)
        assert submit.error.code == "lease_ended"
        assert lease.answer is None and lease.status in ("expired", "reserved")
        # the claim may have come just before the lease ran out, and found the object full
        if taken is not None:
            assert (taken.data_object_id, taken.slot) == (data_object.pk, 0)
        assert (data_object.status, job.human_labeled_count) == ("pending", 0)
    assert holding_slots(data_object.pk) == 1


@pytest.mark.parametrize("ends_in", ENDS_IN_SECONDS)
def test_a_submit_racing_the_end_of_the_lifetime_counts_or_is_refused(organization, ends_in):
    job = job_in_progress(organization, objects=1, workers_per_object=2)
    lease, _ = services.assignment_claim(worker=WorkerFactory(), job=job)
    lifetime = timedelta(seconds=job.task_availability_lifetime_seconds)
    DataObject.objects.update(
        in_flight_since=timezone.now() - lifetime + timedelta(seconds=ends_in)
    )

    submit, ended = run_concurrently(
        2,
        lambda i: (
            services.assignment_submit(assignment=lease, answer=CAT)
            if i == 0
            else services.data_objects_expire()
        ),
    )
    assert ended.succeeded
    DataObject.objects.update(in_flight_since=timezone.now() - lifetime)  # surely over now
    services.data_objects_expire()

    lease.refresh_from_db()
    data_object = DataObject.objects.get()
    job.refresh_from_db()
    if submit.succeeded:
        assert (lease.status, lease.answer) == ("submitted", CAT)
        assert (data_object.status, data_object.label) == ("labeled", 0)
        assert (job.human_labeled_count, job.failed_count) == (1, 0)
    else:
        assert submit.error.code == "task_unavailable"
        assert (lease.status, lease.answer) == ("returned", None)
        assert data_object.status == "failed"
        assert (job.human_labeled_count, job.failed_count) == (0, 1)
    assert job.status == Job.Status.COMPLETED


def test_a_decline_racing_a_submit_has_one_winner(organization):
    job = job_in_progress(organization, objects=1, workers_per_object=2)
    lease, _ = services.assignment_claim(worker=WorkerFactory(), job=job)

    submit, decline = run_concurrently(
        2,
        lambda i: (
            services.assignment_submit(assignment=lease, answer=CAT)
            if i == 0
            else services.assignment_decline(assignment=lease)
        ),
    )

    lease.refresh_from_db()
    assert submit.succeeded != decline.succeeded
    if submit.succeeded:
        assert decline.error.code == "already_submitted"
        assert (lease.status, lease.answer) == ("submitted", CAT)
    else:
        assert submit.error.code == "lease_ended"
        assert (lease.status, lease.answer) == ("declined", None)


def test_lifetimes_ended_by_two_runs_at_once_are_counted_once(organization):
    job = job_in_progress(organization, objects=6, max_concurrent_task_count=4)
    lifetime = timedelta(seconds=job.task_availability_lifetime_seconds + 1)
    DataObject.objects.filter(job=job, position__lt=4).update(
        in_flight_since=timezone.now() - lifetime
    )

    outcomes = run_concurrently(3, lambda i: services.data_objects_expire())

    assert all(outcome.succeeded for outcome in outcomes)
    assert sum(outcome.value for outcome in outcomes) == 4
    job.refresh_from_db()
    assert job.failed_count == 4
    in_flight = DataObject.objects.filter(
        job=job, status=DataObject.Status.PENDING, in_flight_since__isnull=False
    )
    assert sorted(in_flight.values_list("position", flat=True)) == [4, 5]


def test_objects_finishing_at_once_never_overfill_the_window(organization):
    job = job_in_progress(organization, objects=10, max_concurrent_task_count=3)
    workers = [WorkerFactory() for _ in range(3)]
    leases = [services.assignment_claim(worker=worker, job=job)[0] for worker in workers]

    outcomes = run_concurrently(
        3, lambda i: services.assignment_submit(assignment=leases[i], answer=CAT)
    )

    assert all(outcome.succeeded for outcome in outcomes)
    in_flight = DataObject.objects.filter(
        job=job, status=DataObject.Status.PENDING, in_flight_since__isnull=False
    )
    assert sorted(in_flight.values_list("position", flat=True)) == [3, 4, 5]
