"""Test submissions racing on PostgreSQL with real concurrent connections."""

import pytest

from marketplace.errors import ApplicationError
from tests.concurrency import run_concurrently
from tests.factories import OrganizationFactory, WorkerFactory
from tests.workforce.test_qualifications_services import RIGHT, TWO_RIGHT, make_type
from workforce.models import QualificationGrant, QualificationTestAttempt
from workforce.services import qualifications as services

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_worker_submitting_a_test_twice_at_once_gets_one_attempt():
    qualification_type = make_type(OrganizationFactory())
    worker = WorkerFactory()
    answers = [RIGHT, TWO_RIGHT, RIGHT, TWO_RIGHT]

    outcomes = run_concurrently(
        4,
        lambda i: services.qualification_test_submit(
            worker=worker, qualification_type=qualification_type, answers=answers[i]
        ),
    )

    winners = [outcome.value for outcome in outcomes if outcome.succeeded]
    assert len(winners) == 1
    refused = [outcome.error for outcome in outcomes if not outcome.succeeded]
    assert all(isinstance(error, services.RetakeTooSoon) for error in refused), refused
    assert [attempt.pk for attempt in QualificationTestAttempt.objects.all()] == [winners[0].pk]
    expected = [(100, True)] if winners[0].passed else []
    assert list(QualificationGrant.objects.values_list("value", "granted_by_test")) == expected


def test_different_workers_take_the_same_test_at_once():
    qualification_type = make_type(OrganizationFactory())
    workers = [WorkerFactory() for _ in range(4)]

    outcomes = run_concurrently(
        4,
        lambda i: services.qualification_test_submit(
            worker=workers[i], qualification_type=qualification_type, answers=RIGHT
        ),
    )

    assert all(outcome.succeeded for outcome in outcomes)
    assert sorted(QualificationGrant.objects.values_list("worker_id", "value")) == [
        (worker.pk, 100) for worker in workers
    ]


def test_a_hand_grant_racing_a_passed_test_leaves_one_grant():
    qualification_type = make_type(OrganizationFactory())
    worker = WorkerFactory()

    def work(index: int):
        if index == 0:
            return services.qualification_test_submit(
                worker=worker, qualification_type=qualification_type, answers=RIGHT
            )
        return services.qualification_grant_set(
            qualification_type=qualification_type, worker=worker, value=7
        )

    outcomes = run_concurrently(2, work)

    assert all(outcome.succeeded for outcome in outcomes), [o.error for o in outcomes]
    assert QualificationGrant.objects.filter(worker=worker).count() == 1
    assert QualificationGrant.objects.get().value in (7, 100)
    assert not any(isinstance(outcome.error, ApplicationError) for outcome in outcomes)
