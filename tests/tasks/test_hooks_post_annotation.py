"""Consolidation by the post-annotation hook (consolidation `custom`), its retries and failures,
and the pass-through consolidation of custom jobs without a hook."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from marketplace.celery import app as celery_app
from marketplace.models import Job
from payments.services import ledger as payments
from tasks import services, storage
from tasks import tasks as celery_tasks
from tasks.manifests import ingest
from tasks.manifests.output import annotation_uris
from tasks.models import Assignment, DataObject
from tests.factories import WorkerFactory, put_manifest
from tests.tasks.test_hooks import MANIFEST, HookServer, hooked_job, local_hooks_allowed
from workforce.services import accounts

pytestmark = pytest.mark.django_db

IMAGE = "s3://groundwork-test/images/0.png"


@pytest.fixture
def secret(settings, organization) -> str:
    local_hooks_allowed(settings)
    payments.funding_record(owner=organization.ledger_owner, amount_mills=100_000, reference="f")
    return accounts.organization_hook_secret(organization=organization)


def consolidated(label) -> list[dict]:
    return [{"datasetObjectId": "0", "consolidatedAnnotation": {"content": {"animal": label}}}]


def answered_job(organization, *, post_annotation_hook: str) -> tuple[Job, DataObject, list]:
    """A job consolidated by the hook, its one object answered by two workers."""
    put_manifest(MANIFEST, [{"source-ref": IMAGE}])
    job = hooked_job(
        organization,
        workers_per_object=2,
        consolidation=Job.Consolidation.CUSTOM,
        post_annotation_hook=post_annotation_hook,
    )
    job = ingest.manifest_ingest(job_id=job.pk)
    assert job.status == Job.Status.IN_PROGRESS, job.failure_reason
    submitted = []
    for label in ("cat", "dog"):
        assignment, _ = services.assignment_claim(worker=WorkerFactory(), job=job)
        submitted.append(
            services.assignment_submit(
                assignment=assignment, answer={"crowd-image-classifier": {"label": label}}
            )
        )
    return job, DataObject.objects.get(job=job), submitted


def consolidate(data_object: DataObject) -> None:
    """The consolidation task as a worker runs it, retries included (run at once here: an
    eager task's retry propagates as an exception unless propagation is off)."""
    propagates = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    try:
        result = celery_tasks.data_object_consolidate_task.apply(args=[data_object.pk])
    finally:
        celery_app.conf.task_eager_propagates = propagates
    assert result.successful(), result.traceback


def test_the_hook_consolidates_from_the_request_file_and_its_value_is_stored_as_given(
    organization, secret
):
    answer = lambda event, n: (200, consolidated({"label": "cat", "votes": 1}))  # noqa: E731
    with HookServer(secret=secret, respond=answer) as server:
        job, data_object, submitted = answered_job(
            organization, post_annotation_hook=server.url("/acs")
        )
        consolidate(data_object)

    data_object.refresh_from_db()
    job.refresh_from_db()
    assert data_object.status == DataObject.Status.LABELED
    assert data_object.label == {"label": "cat", "votes": 1}
    assert (data_object.confidence, data_object.label_confidences) == (None, None)
    assert data_object.human_annotated
    assert data_object.labeled_at == submitted[-1].submitted_at
    assert job.human_labeled_count == 1
    request_uri = annotation_uris(job=job, data_object=data_object)["consolidation_request"]
    ((request, event),) = zip(server.requests, server.events(), strict=True)
    assert request["signed"] and request["path"] == "/acs"
    assert event == {
        "version": "2018-10-16",
        "labelingJobArn": job.arn,
        "labelCategories": ["cat", "dog"],
        "labelAttributeName": "animal",
        "payload": {"s3Uri": request_uri},
    }
    assert json.loads(storage.read_bytes(request_uri)) == [
        {
            "datasetObjectId": "0",
            "dataObject": {"s3Uri": IMAGE},
            "annotations": [
                {
                    "workerId": assignment.worker.public_id,
                    "annotationData": {
                        "content": json.dumps(
                            {"crowd-image-classifier": {"label": label}}, separators=(",", ":")
                        )
                    },
                }
                for assignment, label in zip(submitted, ("cat", "dog"), strict=True)
            ],
        }
    ]


def test_a_hook_that_is_down_for_a_while_is_tried_again(organization, secret):
    def answer(event, n):
        return (503, b"warming up") if n < 2 else (200, consolidated("cat"))

    with HookServer(secret=secret, respond=answer) as server:
        job, data_object, _ = answered_job(organization, post_annotation_hook=server.url())
        consolidate(data_object)

    data_object.refresh_from_db()
    assert (data_object.status, data_object.label) == (DataObject.Status.LABELED, "cat")
    assert len({event["payload"]["s3Uri"] for event in server.events()}) == 1
    assert len(server.requests) == 3


def test_a_hook_that_stays_down_fails_the_job_after_the_last_try(organization, secret):
    with HookServer(secret=secret, respond=lambda event, n: (503, b"")) as server:
        job, data_object, _ = answered_job(organization, post_annotation_hook=server.url())
        consolidate(data_object)

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.failure_reason == (
        f"The post-annotation hook {server.url()} failed for object 0: HTTP 503. Tried 6 times."
    )
    assert len(server.requests) == 6
    assert DataObject.objects.get(pk=data_object.pk).status == DataObject.Status.PENDING


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (
            [{"datasetObjectId": "7", "consolidatedAnnotation": {"content": {"animal": "cat"}}}],
            'the response has no item with "datasetObjectId": "0".',
        ),
        (
            consolidated("cat")[:0] + [{"datasetObjectId": 0, "consolidatedAnnotation": {}}],
            'the item of datasetObjectId "0" has no "consolidatedAnnotation": {"content": {...}} '
            "object.",
        ),
        (
            [{"datasetObjectId": "0", "consolidatedAnnotation": {"content": {"pet": "cat"}}}],
            "the consolidated content of datasetObjectId \"0\" has no 'animal' key (the job's "
            "label attribute name).",
        ),
        (
            {"label": "cat"},
            'the response must be a JSON list of {"datasetObjectId": ..., '
            '"consolidatedAnnotation": {"content": {...}}}.',
        ),
    ],
)
def test_a_bad_response_fails_the_job_at_once_saying_what_is_missing(
    organization, secret, response, error
):
    with HookServer(secret=secret, respond=lambda event, n: (200, response)) as server:
        job, data_object, _ = answered_job(organization, post_annotation_hook=server.url())
        consolidate(data_object)

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.failure_reason == (
        f"The post-annotation hook {server.url()} failed for object 0: {error}"
    )
    assert len(server.requests) == 1
    data_object.refresh_from_db()
    assert (data_object.status, data_object.label) == (DataObject.Status.PENDING, None)


def test_a_failure_on_a_job_that_is_stopping_leaves_the_job_to_finish_stopping(
    organization, secret
):
    from marketplace.services import jobs

    with HookServer(secret=secret, respond=lambda event, n: (400, b"")) as server:
        job, data_object, _ = answered_job(organization, post_annotation_hook=server.url())
        jobs.job_stop(job=job, reason="Stopped by the requester.")
        consolidate(data_object)

    job.refresh_from_db()
    assert job.status == Job.Status.STOPPING


def test_the_builtin_post_annotation_hook_passes_every_answer_through(organization, secret):
    job, data_object, submitted = answered_job(
        organization, post_annotation_hook="tasks.builtin_hooks.post_annotation"
    )

    consolidate(data_object)

    data_object.refresh_from_db()
    assert data_object.label == {
        "annotationsFromAllWorkers": [
            {
                "workerId": assignment.worker.public_id,
                "annotationData": {
                    "content": json.dumps(
                        {"crowd-image-classifier": {"label": label}}, separators=(",", ":")
                    )
                },
            }
            for assignment, label in zip(submitted, ("cat", "dog"), strict=True)
        ]
    }


def test_a_custom_job_without_a_hook_keeps_every_answer(organization, secret):
    put_manifest(MANIFEST, [{"source": "Is this polite?"}])
    job = hooked_job(organization, workers_per_object=2)
    Job.objects.filter(pk=job.pk).update(
        task_type=Job.TaskType.CUSTOM, ui_template="<crowd-form></crowd-form>"
    )
    job = ingest.manifest_ingest(job_id=job.pk)
    assert job.status == Job.Status.IN_PROGRESS, job.failure_reason
    data_object = DataObject.objects.get(job=job)
    start = timezone.now() - timedelta(minutes=5)
    workers = [WorkerFactory(), WorkerFactory()]
    for minute, (worker, polite) in enumerate(zip(workers, (True, False), strict=True)):
        Assignment.objects.create(
            job=job,
            data_object=data_object,
            worker=worker,
            slot=minute,
            status=Assignment.Status.SUBMITTED,
            accepted_at=start,
            expires_at=start + timedelta(minutes=10),
            submitted_at=start + timedelta(minutes=minute + 1),
            answer={"polite": {"on": polite}},
        )

    services.data_object_consolidate(data_object_id=data_object.pk)

    data_object.refresh_from_db()
    assert data_object.status == DataObject.Status.LABELED
    assert data_object.label == {
        "annotationsFromAllWorkers": [
            {
                "workerId": workers[0].public_id,
                "annotationData": {"content": '{"polite":{"on":true}}'},
            },
            {
                "workerId": workers[1].public_id,
                "annotationData": {"content": '{"polite":{"on":false}}'},
            },
        ]
    }
    assert (data_object.confidence, data_object.label_confidences) == (None, None)
    assert data_object.labeled_at == start + timedelta(minutes=2)
