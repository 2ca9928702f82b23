"""Claims race on PostgreSQL with real concurrent connections."""

import threading
from collections import Counter

import pytest
from django.db import connection

from tasks import services
from tasks.models import Assignment
from tests.factories import WorkerFactory, job_in_progress

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(functions) -> list:
    """Run each function in its own thread and connection, released at the same moment."""
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)

    def run(index, function):
        try:
            barrier.wait()
            results[index] = function()
        except Exception as error:  # noqa: BLE001 - reported to the test below
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_many_workers_claiming_at_once_never_share_an_object(organization):
    job = job_in_progress(organization, objects=6, workers_per_object=1)
    workers = [WorkerFactory() for _ in range(8)]

    results = run_together(
        [lambda w=w: services.assignment_claim(worker=w, job=job) for w in workers]
    )

    assert not [r for r in results if isinstance(r, Exception)]
    claimed = [assignment for assignment, _ in results if assignment is not None]
    assert len(claimed) == 6
    per_object = Counter(Assignment.objects.values_list("data_object_id", flat=True))
    assert sorted(per_object.values()) == [1] * 6


def test_objects_get_exactly_as_many_workers_as_they_need(organization):
    job = job_in_progress(organization, objects=2, workers_per_object=3)
    workers = [WorkerFactory() for _ in range(8)]

    results = run_together(
        [lambda w=w: services.assignment_claim(worker=w, job=job) for w in workers]
    )

    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(1 for assignment, _ in results if assignment is not None) == 6
    per_object = Counter(Assignment.objects.values_list("data_object_id", flat=True))
    assert sorted(per_object.values()) == [3, 3]


def test_one_worker_pressing_start_twice_gets_one_lease(organization):
    job = job_in_progress(organization, objects=4)
    worker = WorkerFactory()

    results = run_together([lambda: services.assignment_claim(worker=worker, job=job)] * 4)

    assert not [r for r in results if isinstance(r, Exception)]
    assert {assignment.pk for assignment, _ in results} == {Assignment.objects.get().pk}
