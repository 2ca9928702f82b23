"""max_concurrent_task_count (objects in flight) and the availability lifetime of an object."""

from datetime import timedelta

import pytest
from django.utils import timezone

from marketplace.errors import ApplicationError
from marketplace.models import Job
from tasks import services, storage
from tasks.models import Assignment, DataObject
from tests.factories import WorkerFactory, job_in_progress

pytestmark = pytest.mark.django_db

CAT = {"crowd-image-classifier": {"label": "cat"}}
DOG = {"crowd-image-classifier": {"label": "dog"}}


def in_flight_positions(job: Job) -> list[int]:
    return list(
        DataObject.objects.filter(
            job=job, status=DataObject.Status.PENDING, in_flight_since__isnull=False
        )
        .order_by("position")
        .values_list("position", flat=True)
    )


def lifetime_ended(data_object: DataObject) -> None:
    """Move the object's admission back so that its availability lifetime is over."""
    lifetime = data_object.job.task_availability_lifetime_seconds
    DataObject.objects.filter(pk=data_object.pk).update(
        in_flight_since=timezone.now() - timedelta(seconds=lifetime + 1)
    )


def object_at(job: Job, position: int) -> DataObject:
    return DataObject.objects.select_related("job").get(job=job, position=position)


def answer(job: Job, given: dict = CAT, worker=None) -> Assignment:
    assignment, created = services.assignment_claim(worker=worker or WorkerFactory(), job=job)
    assert created
    return services.assignment_submit(assignment=assignment, answer=given)


# --- the window of objects in flight ------------------------------------------------------------


def test_the_first_objects_in_manifest_order_are_put_out_when_the_job_starts(organization):
    job = job_in_progress(organization, objects=5, max_concurrent_task_count=2)

    assert in_flight_positions(job) == [0, 1]
    admitted = job.data_objects.exclude(in_flight_since=None).values_list(
        "in_flight_since", flat=True
    )
    assert all(moment >= job.started_at for moment in admitted)


def test_a_job_smaller_than_the_window_has_every_object_in_flight(organization):
    job = job_in_progress(organization, objects=3)

    assert in_flight_positions(job) == [0, 1, 2]


def test_the_pre_annotation_path_puts_out_only_objects_needing_a_person(organization):
    job = job_in_progress(
        organization,
        objects=4,
        max_concurrent_task_count=3,
        pre_annotation_hook="tasks.builtin_hooks.pre_annotation",
    )

    assert in_flight_positions(job) == [0, 1, 2]
    assert object_at(job, 3).in_flight_since is None


def test_a_claim_never_gets_an_object_that_is_not_in_flight(
    organization, django_capture_on_commit_callbacks
):
    job = job_in_progress(organization, objects=3, max_concurrent_task_count=1)
    first, second = WorkerFactory(), WorkerFactory()

    lease, _ = services.assignment_claim(worker=first, job=job)
    assert lease.data_object.position == 0
    assert services.assignment_claim(worker=second, job=job) == (None, False)

    with django_capture_on_commit_callbacks(execute=True):
        services.assignment_submit(assignment=lease, answer=CAT)

    assert in_flight_positions(job) == [1]
    following, created = services.assignment_claim(worker=second, job=job)
    assert created and following.data_object.position == 1


def test_each_finished_object_lets_the_next_one_in(
    organization, django_capture_on_commit_callbacks
):
    job = job_in_progress(organization, objects=5, max_concurrent_task_count=2)
    seen = []
    for _ in range(5):
        seen.append(in_flight_positions(job))
        with django_capture_on_commit_callbacks(execute=True):
            answer(job)
    seen.append(in_flight_positions(job))

    assert seen == [[0, 1], [1, 2], [2, 3], [3, 4], [4], []]
    job.refresh_from_db()
    assert (job.status, job.human_labeled_count) == (Job.Status.COMPLETED, 5)


# --- the availability lifetime ------------------------------------------------------------------


def test_an_object_past_its_lifetime_is_consolidated_with_the_answers_it_has(
    organization, django_capture_on_commit_callbacks
):
    job = job_in_progress(
        organization, objects=2, workers_per_object=3, max_concurrent_task_count=1
    )
    with django_capture_on_commit_callbacks(execute=True):
        answer(job, CAT)
        answer(job, CAT)
        late, _ = services.assignment_claim(worker=WorkerFactory(), job=job)
        lifetime_ended(object_at(job, 0))

        assert services.data_objects_expire() == 1

    first = object_at(job, 0)
    assert (first.status, first.label, first.confidence) == (DataObject.Status.LABELED, 0, 1.0)
    late.refresh_from_db()
    assert late.status == Assignment.Status.RETURNED
    assert in_flight_positions(job) == [1]
    job.refresh_from_db()
    assert job.label_counters == {
        "total_labeled": 1,
        "human_labeled": 1,
        "machine_labeled": 0,
        "failed_non_retryable_error": 0,
        "unlabeled": 1,
    }
    with pytest.raises(ApplicationError) as refused:
        services.assignment_submit(assignment=late, answer=DOG)
    assert (refused.value.code, refused.value.status) == ("task_unavailable", 409)
    late.refresh_from_db()
    assert (late.status, late.answer) == (Assignment.Status.RETURNED, None)


def test_an_object_past_its_lifetime_without_answers_fails_and_the_job_completes(
    organization, django_capture_on_commit_callbacks
):
    job = job_in_progress(organization, objects=2, max_concurrent_task_count=1)
    with django_capture_on_commit_callbacks(execute=True):
        answer(job, DOG)
    with django_capture_on_commit_callbacks(execute=True):
        holder, _ = services.assignment_claim(worker=WorkerFactory(), job=job)
        lifetime_ended(object_at(job, 1))

        assert services.data_objects_expire() == 1

    last = object_at(job, 1)
    assert (last.status, last.label) == (DataObject.Status.FAILED, None)
    holder.refresh_from_db()
    assert holder.status == Assignment.Status.RETURNED
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED
    assert job.label_counters["failed_non_retryable_error"] == 1
    assert job.label_counters["unlabeled"] == 0
    output = storage.read_bytes(job.output_manifest_uri).decode().splitlines()
    assert len(output) == 2 and "animal" not in output[1]
    with pytest.raises(ApplicationError) as refused:
        services.assignment_submit(assignment=holder, answer=CAT)
    assert refused.value.code == "task_unavailable"


def test_ending_lifetimes_again_changes_nothing(organization, django_capture_on_commit_callbacks):
    job = job_in_progress(organization, objects=4, max_concurrent_task_count=2)
    with django_capture_on_commit_callbacks(execute=True):
        for position in (0, 1):
            lifetime_ended(object_at(job, position))
        assert services.data_objects_expire() == 2
        assert services.data_objects_expire() == 0

    job.refresh_from_db()
    assert (job.failed_count, job.human_labeled_count) == (2, 0)
    assert in_flight_positions(job) == [2, 3]


def test_an_object_past_its_lifetime_is_neither_offered_nor_answered_before_beat_runs(
    organization,
):
    job = job_in_progress(organization, objects=1, workers_per_object=2)
    holder, _ = services.assignment_claim(worker=WorkerFactory(), job=job)
    lifetime_ended(object_at(job, 0))

    assert services.assignment_claim(worker=WorkerFactory(), job=job) == (None, False)
    with pytest.raises(ApplicationError) as refused:
        services.assignment_submit(assignment=holder, answer=CAT)
    assert refused.value.code == "task_unavailable"


def test_a_lease_never_outlasts_its_objects_availability_lifetime(organization):
    job = job_in_progress(organization, objects=2, workers_per_object=1)
    # object 0 has 100 seconds of its lifetime left, less than the 300-second task time limit
    lifetime = job.task_availability_lifetime_seconds
    admitted = timezone.now() - timedelta(seconds=lifetime - 100)
    DataObject.objects.filter(job=job, position=0).update(in_flight_since=admitted)

    first, _ = services.assignment_claim(worker=WorkerFactory(), job=job)
    second, _ = services.assignment_claim(worker=WorkerFactory(), job=job)

    assert first.data_object.position == 0
    assert first.expires_at == admitted + timedelta(seconds=lifetime)
    assert second.expires_at - second.accepted_at == timedelta(seconds=job.task_time_limit_seconds)


def test_objects_of_a_stopping_job_are_left_to_the_stop(organization):
    job = job_in_progress(organization, objects=1)
    lifetime_ended(object_at(job, 0))
    Job.objects.filter(pk=job.pk).update(status=Job.Status.STOPPING)

    assert services.data_objects_expire() == 0
    assert object_at(job, 0).status == DataObject.Status.PENDING


def test_a_job_consolidated_by_its_hook_is_consolidated_by_it_at_the_end_of_a_lifetime(
    organization, django_capture_on_commit_callbacks
):
    job = job_in_progress(
        organization,
        objects=1,
        workers_per_object=2,
        consolidation="custom",
        post_annotation_hook="tasks.builtin_hooks.post_annotation",
    )
    with django_capture_on_commit_callbacks(execute=True):
        given = answer(job, DOG)
        lifetime_ended(object_at(job, 0))
        services.data_objects_expire()

    labeled = object_at(job, 0)
    assert labeled.status == DataObject.Status.LABELED
    assert labeled.label == {
        "annotationsFromAllWorkers": [
            {
                "workerId": given.worker.public_id,
                "annotationData": {"content": '{"crowd-image-classifier":{"label":"dog"}}'},
            }
        ]
    }
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED
