"""A job's consolidation run: the submit that completes an object queues one run unless one is
waiting, and a run labels every object answered by then, counting them once per batch."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from marketplace.models import Job
from tasks import services
from tasks import tasks as celery_tasks
from tasks.models import ConsolidationRun, DataObject
from tests.factories import WorkerFactory, job_in_progress

CAT = {"crowd-image-classifier": {"label": "cat"}}
DOG = {"crowd-image-classifier": {"label": "dog"}}


def answer_every_object(job, *, answer=CAT):
    for _ in range(job.workers_per_object):
        worker = WorkerFactory()
        while True:
            lease, _ = services.assignment_claim(worker=worker, job=job)
            if lease is None:
                break
            services.assignment_submit(assignment=lease, answer=answer)


@pytest.mark.django_db
def test_one_run_is_queued_for_many_answered_objects_and_labels_them_all(
    organization, django_capture_on_commit_callbacks
):
    job = job_in_progress(organization, objects=5, workers_per_object=2)

    with django_capture_on_commit_callbacks() as queued:
        answer_every_object(job)

    assert len(queued) == 1  # the first object answered queued the run; the others joined it
    assert ConsolidationRun.objects.get(job=job).objects_answered == 5
    assert DataObject.objects.filter(job=job, answered_at__isnull=False).count() == 5
    assert not DataObject.objects.filter(job=job, status=DataObject.Status.LABELED).exists()

    with django_capture_on_commit_callbacks(execute=True):
        labeled = services.data_objects_consolidate(job_id=job.pk)

    assert labeled == 5
    assert not ConsolidationRun.objects.filter(job=job).exists()
    assert set(DataObject.objects.filter(job=job).values_list("status", "label")) == {
        (DataObject.Status.LABELED, 0)
    }
    job.refresh_from_db()
    assert (job.status, job.human_labeled_count) == (Job.Status.COMPLETED, 5)


@pytest.mark.django_db
def test_a_run_labels_in_batches_and_a_second_run_finds_nothing(
    organization, django_capture_on_commit_callbacks
):
    job = job_in_progress(organization, objects=5, workers_per_object=1)
    with django_capture_on_commit_callbacks():
        answer_every_object(job, answer=DOG)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.data_objects_consolidate(job_id=job.pk, batch_size=2) == 5
        assert services.data_objects_consolidate(job_id=job.pk, batch_size=2) == 0

    job.refresh_from_db()
    assert (job.status, job.human_labeled_count) == (Job.Status.COMPLETED, 5)
    assert set(DataObject.objects.filter(job=job).values_list("label", flat=True)) == {1}


@pytest.mark.django_db
def test_objects_answered_after_a_run_started_queue_the_next(
    organization, django_capture_on_commit_callbacks
):
    job = job_in_progress(organization, objects=2, workers_per_object=1)
    worker = WorkerFactory()
    with django_capture_on_commit_callbacks() as first:
        lease, _ = services.assignment_claim(worker=worker, job=job)
        services.assignment_submit(assignment=lease, answer=CAT)
    assert len(first) == 1
    services.data_objects_consolidate(job_id=job.pk)

    with django_capture_on_commit_callbacks() as second:
        lease, _ = services.assignment_claim(worker=worker, job=job)
        services.assignment_submit(assignment=lease, answer=CAT)

    assert len(second) == 1
    assert ConsolidationRun.objects.get(job=job).objects_answered == 1


@pytest.mark.django_db(transaction=True)
def test_a_run_starting_while_a_submit_completes_an_object_waits_for_it(organization):
    # A run is waiting (its row exists); a submit completes an object and has not committed
    # when the run starts. The submit holds the run's row: the run's delete waits for the
    # commit, so the run sees the object. Had the run gone ahead, the object would have been
    # answered with no run left to label it.
    job = job_in_progress(organization, objects=1, workers_per_object=1)
    lease, _ = services.assignment_claim(worker=WorkerFactory(), job=job)
    ConsolidationRun.objects.create(job=job)
    answered = threading.Event()
    labeled = []

    def submit():
        try:
            with transaction.atomic():
                services.assignment_submit(assignment=lease, answer=CAT)
                answered.set()
                threading.Event().wait(0.5)  # the run starts meanwhile
        finally:
            connection.close()

    def run():
        try:
            answered.wait(10)
            labeled.append(services.data_objects_consolidate(job_id=job.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit), threading.Thread(target=run)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert labeled == [1]
    assert DataObject.objects.get(job=job).status == DataObject.Status.LABELED
    job.refresh_from_db()
    assert (job.status, job.human_labeled_count) == (Job.Status.COMPLETED, 1)


@pytest.mark.django_db
def test_a_run_whose_message_was_lost_is_queued_again_by_beat(
    organization, django_capture_on_commit_callbacks
):
    job = job_in_progress(organization, objects=2, workers_per_object=1)
    with django_capture_on_commit_callbacks():  # the run's message, never sent
        answer_every_object(job)
    run = ConsolidationRun.objects.get(job=job)

    celery_tasks.consolidation_runs_requeue_task()  # queued a moment ago: left to its message
    assert DataObject.objects.filter(job=job, status=DataObject.Status.PENDING).count() == 2

    ConsolidationRun.objects.filter(pk=run.pk).update(
        queued_at=timezone.now() - timedelta(minutes=3)
    )
    with django_capture_on_commit_callbacks(execute=True):
        celery_tasks.consolidation_runs_requeue_task()

    assert not DataObject.objects.filter(job=job, status=DataObject.Status.PENDING).exists()
    job.refresh_from_db()
    assert (job.status, job.human_labeled_count) == (Job.Status.COMPLETED, 2)
