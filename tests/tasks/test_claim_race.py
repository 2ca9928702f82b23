"""Claims race on PostgreSQL with real concurrent connections."""

from collections import Counter

import pytest

from tasks import services
from tasks.models import Assignment
from tests.concurrency import run_concurrently
from tests.factories import WorkerFactory, job_in_progress

pytestmark = pytest.mark.django_db(transaction=True)


def test_many_workers_claiming_at_once_never_share_an_object(organization):
    job = job_in_progress(organization, objects=6, workers_per_object=1)
    workers = [WorkerFactory() for _ in range(8)]

    outcomes = run_concurrently(8, lambda i: services.assignment_claim(worker=workers[i], job=job))

    assert all(outcome.succeeded for outcome in outcomes)
    claimed = [outcome.value[0] for outcome in outcomes if outcome.value[0] is not None]
    assert len(claimed) == 6
    per_object = Counter(Assignment.objects.values_list("data_object_id", flat=True))
    assert sorted(per_object.values()) == [1] * 6


def test_objects_get_exactly_as_many_workers_as_they_need(organization):
    job = job_in_progress(organization, objects=2, workers_per_object=3)
    workers = [WorkerFactory() for _ in range(8)]

    outcomes = run_concurrently(8, lambda i: services.assignment_claim(worker=workers[i], job=job))

    assert all(outcome.succeeded for outcome in outcomes)
    assert sum(1 for outcome in outcomes if outcome.value[0] is not None) == 6
    per_object = Counter(Assignment.objects.values_list("data_object_id", flat=True))
    assert sorted(per_object.values()) == [3, 3]


def test_one_worker_pressing_start_twice_gets_one_lease(organization):
    job = job_in_progress(organization, objects=4)
    worker = WorkerFactory()

    outcomes = run_concurrently(4, lambda i: services.assignment_claim(worker=worker, job=job))

    assert all(outcome.succeeded for outcome in outcomes)
    assert {outcome.value[0].pk for outcome in outcomes} == {Assignment.objects.get().pk}
