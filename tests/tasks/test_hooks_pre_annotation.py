"""The pre-annotation hook during ingestion: each object's task input, objects that need no
person, retries, failures that leave nothing behind, resuming, and stopping."""

import json

import pytest

from marketplace.models import Job
from marketplace.services import jobs
from payments.services import ledger as payments
from tasks import storage
from tasks.manifests import ingest
from tasks.models import DataObject
from tests.factories import put_manifest
from tests.tasks.test_hooks import MANIFEST, HookServer, hooked_job, local_hooks_allowed
from workforce.services import accounts

pytestmark = pytest.mark.django_db

IMAGES = [{"source-ref": f"s3://groundwork-test/images/{n}.png", "id": n} for n in range(4)]


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(ingest, "PRE_ANNOTATION_RETRY_DELAYS", (0, 0))


@pytest.fixture
def secret(settings, organization) -> str:
    local_hooks_allowed(settings)
    payments.funding_record(owner=organization.ledger_owner, amount_mills=100_000, reference="f")
    return accounts.organization_hook_secret(organization=organization)


def task_input_of(event: dict) -> dict:
    data = event["dataObject"]
    return {"taskObject": data["source-ref"], "id": data["id"]}


def ingest_with_hook(organization, server: HookServer, lines=IMAGES, **fields) -> Job:
    put_manifest(MANIFEST, lines)
    job = hooked_job(organization, pre_annotation_hook=server.url("/pre"), **fields)
    return ingest.manifest_ingest(job_id=job.pk)


def test_the_hook_gives_each_object_its_task_input(organization, secret):
    answer = lambda event, n: (200, {"taskInput": task_input_of(event)})  # noqa: E731

    with HookServer(secret=secret, respond=answer) as server:
        job = ingest_with_hook(organization, server)

    assert (job.status, job.object_count) == (Job.Status.IN_PROGRESS, 4)
    objects = list(DataObject.objects.filter(job=job).order_by("position"))
    assert [o.task_input for o in objects] == [
        {"taskObject": f"s3://groundwork-test/images/{n}.png", "id": n} for n in range(4)
    ]
    assert {o.status for o in objects} == {DataObject.Status.PENDING}
    assert all(request["signed"] for request in server.requests)
    assert sorted(server.events(), key=lambda e: e["dataObject"]["id"]) == [
        {
            "version": "2018-10-16",
            "labelingJobArn": f"arn:groundwork:labeling:{organization.pk}:labeling-job/pets",
            "dataObject": line,
        }
        for line in IMAGES
    ]


def test_objects_that_need_no_person_are_carried_and_not_counted(organization, secret):
    def answer(event, n):
        required = "false" if event["dataObject"]["id"] % 2 else "true"  # strings, as GT's samples
        return 200, {"taskInput": task_input_of(event), "isHumanAnnotationRequired": required}

    with HookServer(secret=secret, respond=answer) as server:
        job = ingest_with_hook(organization, server)

    assert (job.status, job.object_count) == (Job.Status.IN_PROGRESS, 2)
    statuses = dict(DataObject.objects.filter(job=job).values_list("position", "status"))
    assert statuses == {0: "pending", 1: "carried", 2: "pending", 3: "carried"}
    # The escrow covers the objects people label only.
    assert job.label_counters["unlabeled"] == 2


def test_a_hook_that_fails_once_is_tried_again(organization, secret):
    failed = []

    def answer(event, n):
        if event["dataObject"]["id"] == 2 and not failed:
            failed.append(n)
            return 500, b"try later"
        return 200, {"taskInput": task_input_of(event)}

    with HookServer(secret=secret, respond=answer) as server:
        job = ingest_with_hook(organization, server)

    assert (job.status, job.object_count) == (Job.Status.IN_PROGRESS, 4)
    assert [e["dataObject"]["id"] for e in server.events()].count(2) == 2
    assert DataObject.objects.get(job=job, position=2).task_input == task_input_of(
        {"dataObject": IMAGES[2]}
    )


def test_a_hook_that_refuses_an_object_fails_the_job_and_leaves_no_object(organization, secret):
    lines = [IMAGES[0], "", IMAGES[1], IMAGES[2]]  # a blank line: object 1 is on line 3

    def answer(event, n):
        if event["dataObject"]["id"] == 1:
            return 400, b"unknown image"
        return 200, {"taskInput": task_input_of(event)}

    with HookServer(secret=secret, respond=answer) as server:
        job = ingest_with_hook(organization, server, lines=lines)

    assert job.status == Job.Status.FAILED
    assert job.failure_reason == (
        f"The pre-annotation hook {server.url('/pre')} failed for object 1 (manifest line 3): "
        "HTTP 400 (unknown image)."
    )
    assert not DataObject.objects.filter(job=job).exists()
    assert [e["dataObject"]["id"] for e in server.events()].count(1) == 1  # 4xx: not retried
    assert list(job.events.values_list("to_status", flat=True)) == ["Initializing", "Failed"]


def test_a_hook_that_keeps_failing_fails_the_job_after_a_few_tries(organization, secret):
    with HookServer(secret=secret, respond=lambda event, n: (503, b"")) as server:
        job = ingest_with_hook(organization, server, lines=IMAGES[:1])

    assert job.status == Job.Status.FAILED
    assert job.failure_reason == (
        f"The pre-annotation hook {server.url('/pre')} failed for object 0 (manifest line 1): "
        "HTTP 503."
    )
    assert len(server.requests) == 3
    assert not DataObject.objects.filter(job=job).exists()


def test_a_bad_task_input_fails_the_job_with_the_reason(organization, secret):
    answer = lambda event, n: (200, {"taskInput": {"taskObject": "cat.png"}})  # noqa: E731

    with HookServer(secret=secret, respond=answer) as server:
        job = ingest_with_hook(organization, server, lines=IMAGES[:1])

    assert job.failure_reason == (
        f"The pre-annotation hook {server.url('/pre')} failed for object 0 (manifest line 1): "
        "'taskObject' must be the S3 URI of the image (s3://bucket/key) for "
        "image_classification."
    )


def test_a_custom_job_takes_any_task_input_object(organization, secret):
    lines = [{"source": "Is this polite?"}]
    answer = lambda event, n: (200, {"taskInput": {"text": ["a", {"b": None}]}})  # noqa: E731

    with HookServer(secret=secret, respond=answer) as server:
        put_manifest(MANIFEST, lines)
        job = hooked_job(organization, pre_annotation_hook=server.url("/pre"))
        Job.objects.filter(pk=job.pk).update(
            task_type=Job.TaskType.CUSTOM, ui_template="<p>{{ task.input.text }}</p>"
        )
        job = ingest.manifest_ingest(job_id=job.pk)

    assert job.status == Job.Status.IN_PROGRESS, job.failure_reason
    assert DataObject.objects.get(job=job).task_input == {"text": ["a", {"b": None}]}


def test_when_no_object_needs_a_person_the_job_fails(organization, secret):
    answer = lambda event, n: (200, {"isHumanAnnotationRequired": False})  # noqa: E731

    with HookServer(secret=secret, respond=answer) as server:
        job = ingest_with_hook(organization, server)

    assert job.status == Job.Status.FAILED
    assert job.failure_reason == (
        "The pre-annotation hook marked every object as not needing a person: there is nothing "
        "to label."
    )
    assert not DataObject.objects.filter(job=job).exists()


class WorkerLost(Exception):
    pass


def test_a_resumed_ingestion_creates_nothing_twice_and_calls_only_what_is_left(
    organization, secret, monkeypatch
):
    lines = [{"source-ref": f"s3://groundwork-test/images/{n}.png", "id": n} for n in range(5)]
    answer = lambda event, n: (200, {"taskInput": task_input_of(event)})  # noqa: E731
    monkeypatch.setattr(ingest, "PRE_ANNOTATION_BATCH_SIZE", 2)
    store = DataObject.objects.bulk_update
    stored = []

    def lost_after_the_first_batch(objects, fields, **options):
        if stored:
            raise WorkerLost
        stored.append(len(objects))
        return store(objects, fields, **options)

    with HookServer(secret=secret, respond=answer) as server:
        put_manifest(MANIFEST, lines)
        job = hooked_job(organization, pre_annotation_hook=server.url("/pre"))
        monkeypatch.setattr(DataObject.objects, "bulk_update", lost_after_the_first_batch)
        with pytest.raises(WorkerLost):
            ingest.manifest_ingest(job_id=job.pk)
        monkeypatch.setattr(DataObject.objects, "bulk_update", store)
        first_run = len(server.requests)
        job = ingest.manifest_ingest(job_id=job.pk)

    assert (job.status, job.object_count) == (Job.Status.IN_PROGRESS, 5)
    assert DataObject.objects.filter(job=job).count() == 5
    assert first_run == 4
    assert sorted(e["dataObject"]["id"] for e in server.events()[first_run:]) == [2, 3, 4]
    assert not DataObject.objects.filter(job=job, task_input__isnull=True).exists()
    assert list(job.events.values_list("to_status", flat=True)) == ["Initializing", "InProgress"]


def test_a_stop_during_the_hook_pass_stops_the_job_with_its_objects(
    organization, secret, monkeypatch, django_capture_on_commit_callbacks
):
    answer = lambda event, n: (200, {"taskInput": task_input_of(event)})  # noqa: E731
    monkeypatch.setattr(ingest, "PRE_ANNOTATION_BATCH_SIZE", 2)
    run_batch = ingest._pre_annotation_batch

    def stop_after_the_batch(*, job, batch, pool):
        outcome = run_batch(job=job, batch=batch, pool=pool)
        jobs.job_stop(job=job, reason="Stopped by the requester.")
        return outcome

    monkeypatch.setattr(ingest, "_pre_annotation_batch", stop_after_the_batch)
    with HookServer(secret=secret, respond=answer) as server:
        with django_capture_on_commit_callbacks(execute=True):
            job = ingest_with_hook(organization, server)
        job.refresh_from_db()

    assert job.status == Job.Status.STOPPED
    assert len(server.requests) == 2  # the pass ended with the stop
    assert DataObject.objects.filter(job=job).count() == 4
    output = storage.read_bytes(job.output_manifest_uri).decode().splitlines()
    assert [json.loads(line) for line in output] == IMAGES


def test_the_builtin_pre_annotation_hook_runs_as_a_python_hook(organization, secret):
    put_manifest(MANIFEST, IMAGES[:2])
    job = hooked_job(organization, pre_annotation_hook="tasks.builtin_hooks.pre_annotation")

    job = ingest.manifest_ingest(job_id=job.pk)

    assert (job.status, job.object_count) == (Job.Status.IN_PROGRESS, 2)
    assert list(
        DataObject.objects.filter(job=job).order_by("position").values_list("task_input", flat=True)
    ) == [task_input_of({"dataObject": line}) for line in IMAGES[:2]]


def test_a_job_without_a_hook_keeps_no_task_input(organization, secret):
    put_manifest(MANIFEST, IMAGES[:2])
    job = ingest.manifest_ingest(job_id=hooked_job(organization).pk)

    assert job.status == Job.Status.IN_PROGRESS
    assert not DataObject.objects.filter(job=job, task_input__isnull=False).exists()
