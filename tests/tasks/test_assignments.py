from datetime import timedelta

import pytest
from django.utils import timezone

from marketplace.errors import ApplicationError
from payments.models import LedgerTransaction
from tasks import services
from tasks.models import Assignment, DataObject
from tests.factories import WorkerFactory, job_in_progress

pytestmark = pytest.mark.django_db

ANSWER = {"crowd-image-classifier": {"label": "cat"}}


def test_claim_hands_out_objects_in_order_and_returns_the_live_lease(organization):
    job = job_in_progress(organization, objects=2)
    first, second = WorkerFactory(), WorkerFactory()

    a, created = services.assignment_claim(worker=first, job=job)
    again, created_again = services.assignment_claim(worker=first, job=job)
    b, _ = services.assignment_claim(worker=second, job=job)

    assert created and not created_again
    assert again.pk == a.pk
    assert (a.data_object.position, b.data_object.position) == (0, 1)
    assert a.expires_at - a.accepted_at == timedelta(seconds=300)
    assert services.assignment_claim(worker=WorkerFactory(), job=job) == (None, False)


def test_an_object_is_never_given_twice_to_one_worker(organization):
    job = job_in_progress(organization, objects=1, workers_per_object=2)
    worker = WorkerFactory()
    assignment, _ = services.assignment_claim(worker=worker, job=job)
    services.assignment_submit(assignment=assignment, answer=ANSWER)

    assert services.assignment_claim(worker=worker, job=job) == (None, False)
    other, created = services.assignment_claim(worker=WorkerFactory(), job=job)
    assert created and other.data_object_id == assignment.data_object_id


def test_an_expired_lease_is_claimable_at_once(organization):
    job = job_in_progress(organization, objects=1)
    late = WorkerFactory()
    stale, _ = services.assignment_claim(worker=late, job=job)
    Assignment.objects.filter(pk=stale.pk).update(expires_at=timezone.now())

    fresh, created = services.assignment_claim(worker=WorkerFactory(), job=job)

    assert created and fresh.data_object_id == stale.data_object_id
    with pytest.raises(ApplicationError) as refused:
        services.assignment_submit(assignment=stale, answer=ANSWER)
    assert (refused.value.code, refused.value.status) == ("lease_ended", 409)
    # the claim that took its place marked it expired, freeing its slot
    stale.refresh_from_db()
    assert (stale.status, stale.answer) == (Assignment.Status.EXPIRED, None)
    assert fresh.slot == stale.slot == 0
    assert services.assignments_expire() == 0


def test_submit_is_idempotent_and_validates_the_label(organization):
    job = job_in_progress(organization, objects=1)
    worker = WorkerFactory()
    assignment, _ = services.assignment_claim(worker=worker, job=job)

    with pytest.raises(ApplicationError) as refused:
        services.assignment_submit(
            assignment=assignment, answer={"crowd-image-classifier": {"label": "horse"}}
        )
    assert refused.value.fields == {
        "crowd-image-classifier.label": ["'horse' is not one of the job's labels."]
    }
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.RESERVED

    first = services.assignment_submit(assignment=assignment, answer=ANSWER)
    second = services.assignment_submit(
        assignment=assignment, answer={"crowd-image-classifier": {"label": "dog"}}
    )
    assert second.answer == first.answer == ANSWER
    assert second.submitted_at == first.submitted_at


@pytest.mark.parametrize(
    ("answers", "label", "confidence"),
    [
        (["dog", "cat", "dog"], 1, 0.67),
        (["dog", "cat", "cat"], 0, 0.67),
        (["cat", "cat", "cat"], 0, 1.0),
    ],
)
def test_three_answers_are_consolidated_by_majority(
    organization, django_capture_on_commit_callbacks, answers, label, confidence
):
    job = job_in_progress(organization, objects=1, workers_per_object=3)
    with django_capture_on_commit_callbacks(execute=True):
        for given in answers:
            assignment, _ = services.assignment_claim(worker=WorkerFactory(), job=job)
            services.assignment_submit(
                assignment=assignment, answer={"crowd-image-classifier": {"label": given}}
            )

    data_object = DataObject.objects.get()
    assert (data_object.status, data_object.label, data_object.confidence) == (
        DataObject.Status.LABELED,
        label,
        confidence,
    )
    job.refresh_from_db()
    assert job.status == job.Status.COMPLETED


def test_approval_pays_once_and_rejection_pays_nothing(organization):
    job = job_in_progress(organization, objects=1, workers_per_object=2)
    kept, dropped = WorkerFactory(), WorkerFactory()
    answers = []
    for worker in (kept, dropped):
        assignment, _ = services.assignment_claim(worker=worker, job=job)
        answers.append(services.assignment_submit(assignment=assignment, answer=ANSWER))

    services.assignment_approve(assignment=answers[0])
    services.assignment_approve(assignment=answers[0])
    rejected = services.assignment_reject(assignment=answers[1], reason="Did not look.")

    assert rejected.rejection_reason == "Did not look."
    earnings = LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.EARNING)
    assert list(earnings.values_list("idempotency_key", flat=True)) == [
        f"assignment:{answers[0].pk}:approval"
    ]
    with pytest.raises(ApplicationError) as refused:
        services.assignment_reject(assignment=answers[0], reason="Changed my mind.")
    assert refused.value.code == "not_submitted"  # approved work stays approved
    assert earnings.count() == 1


def test_auto_approval_approves_only_work_past_its_delay(organization):
    job = job_in_progress(organization, objects=2, auto_approval_delay_seconds=3600)
    due, waiting = [], []
    for bucket in (due, waiting):
        assignment, _ = services.assignment_claim(worker=WorkerFactory(), job=job)
        bucket.append(services.assignment_submit(assignment=assignment, answer=ANSWER))
    Assignment.objects.filter(pk=due[0].pk).update(
        submitted_at=timezone.now() - timedelta(seconds=3601)
    )

    assert services.assignments_auto_approve() == 1

    statuses = dict(Assignment.objects.values_list("pk", "status"))
    assert statuses == {due[0].pk: "approved", waiting[0].pk: "submitted"}
