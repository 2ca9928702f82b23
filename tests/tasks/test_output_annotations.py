"""The rest of the output layout: worker responses and consolidation request and response files
written as each object is consolidated, and the intermediate manifest rewritten while the job
runs."""

import json

import pytest
from django.core.cache import cache

from marketplace.models import Job
from tasks import storage
from tasks import tasks as celery_tasks
from tasks.manifests import output as manifests
from tasks.models import DataObject
from tests.tasks.test_output_manifest import (
    SCENARIOS,
    Clock,
    assert_golden,
    classification_job,
    install_clock,
    label_object,
    run_job,
)

pytestmark = pytest.mark.django_db

BUCKET = "groundwork-test"
PREFIX = "output/pets/"


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return install_clock(monkeypatch)


def keys_under(prefix: str) -> list[str]:
    listed = storage.client().list_objects_v2(Bucket=BUCKET, Prefix=PREFIX + prefix)
    return [entry["Key"][len(PREFIX) :] for entry in listed.get("Contents", [])]


def read(key: str) -> bytes:
    return storage.read_bytes(f"s3://{BUCKET}/{PREFIX}{key}")


def with_worker_names(produced: bytes, job: Job) -> bytes:
    """Worker ids come from database sequences; name them W1, W2, ... in answering order."""
    text = produced.decode()
    answered = job.assignments.select_related("worker").order_by("submitted_at", "pk")
    ids = dict.fromkeys(assignment.worker.public_id for assignment in answered)
    for number, public_id in enumerate(ids, start=1):
        text = text.replace(f'"{public_id}"', f'"W{number}"')
    return text.encode()


def test_each_consolidated_object_has_its_worker_responses_and_consolidation_files(
    organization, clock, django_capture_on_commit_callbacks
):
    job = run_job(
        organization, clock, django_capture_on_commit_callbacks, "image_classification_multilabel"
    )

    assert keys_under("annotations/") == [
        "annotations/consolidated-annotation/consolidation-request/iteration-1/"
        "2024-05-01_09:30:22-0.json",
        "annotations/consolidated-annotation/consolidation-request/iteration-1/"
        "2024-05-01_09:30:31-1.json",
        "annotations/consolidated-annotation/consolidation-request/iteration-1/"
        "2024-05-01_09:30:53-2.json",
        "annotations/consolidated-annotation/consolidation-request/iteration-1/"
        "2024-05-01_09:31:09-3.json",
        "annotations/consolidated-annotation/consolidation-response/iteration-1/"
        "2024-05-01_09:30:22-0.json",
        "annotations/consolidated-annotation/consolidation-response/iteration-1/"
        "2024-05-01_09:30:31-1.json",
        "annotations/consolidated-annotation/consolidation-response/iteration-1/"
        "2024-05-01_09:30:53-2.json",
        "annotations/consolidated-annotation/consolidation-response/iteration-1/"
        "2024-05-01_09:31:09-3.json",
        "annotations/worker-response/iteration-1/0/2024-05-01_09:30:22.json",
        "annotations/worker-response/iteration-1/1/2024-05-01_09:30:31.json",
        "annotations/worker-response/iteration-1/2/2024-05-01_09:30:53.json",
        "annotations/worker-response/iteration-1/3/2024-05-01_09:31:09.json",
    ]
    assert_golden(
        "worker-response.json",
        with_worker_names(
            read("annotations/worker-response/iteration-1/0/2024-05-01_09:30:22.json"), job
        ),
    )
    consolidated = "annotations/consolidated-annotation/"
    assert_golden(
        "consolidation-request.json",
        with_worker_names(
            read(f"{consolidated}consolidation-request/iteration-1/2024-05-01_09:30:22-0.json"),
            job,
        ),
    )
    response = read(f"{consolidated}consolidation-response/iteration-1/2024-05-01_09:30:22-0.json")
    assert_golden("consolidation-response.json", response)
    # The response holds what the output line adds to the input line
    line = json.loads(storage.read_bytes(manifests.output_manifest_write(job=job)).splitlines()[0])
    content = json.loads(response)[0]["consolidatedAnnotation"]["content"]
    assert content == {"animal": line["animal"], "animal-metadata": line["animal-metadata"]}


def test_a_text_object_is_sent_as_content_in_the_consolidation_request(
    organization, clock, django_capture_on_commit_callbacks
):
    job = classification_job(organization, "text_classification", workers_per_object=2)
    label_object(job, clock, django_capture_on_commit_callbacks, 0, ["fish", "dog"])

    [request_key] = keys_under("annotations/consolidated-annotation/consolidation-request/")
    assert_golden("consolidation-request-text.json", with_worker_names(read(request_key), job))


def test_a_retried_write_gives_the_same_keys_and_bytes(
    organization, clock, django_capture_on_commit_callbacks
):
    job = run_job(organization, clock, django_capture_on_commit_callbacks, "text_classification")
    before = {key: read(key) for key in keys_under("annotations/")}

    clock.tick(7200)
    for data_object in DataObject.objects.filter(job=job):
        celery_tasks.data_objects_annotations_write_task.delay([data_object.pk])

    assert {key: read(key) for key in keys_under("annotations/")} == before
    assert len(before) == 3 * 4


def test_an_object_not_yet_consolidated_has_no_annotation_files(organization, clock):
    job = classification_job(organization, "image_classification")
    pending = DataObject.objects.filter(job=job).first()

    assert manifests.data_object_annotations_write(data_object_id=pending.pk) is None
    assert keys_under("annotations/") == []


def test_the_intermediate_manifest_is_rewritten_only_after_new_labels(
    organization, clock, django_capture_on_commit_callbacks
):
    # Given a running job with one object labeled, and one job that labeled nothing yet
    cache.clear()
    job = classification_job(organization, "image_classification")
    label_object(job, clock, django_capture_on_commit_callbacks, 0, SCENARIOS[job.task_type][0])
    classification_job(organization, "image_classification", name="idle")

    # When beat runs: only the job with labels is written
    assert manifests.intermediate_manifest_jobs_due() == [job.pk]
    with django_capture_on_commit_callbacks(execute=True):
        celery_tasks.manifests_intermediate_schedule_task.delay()
    uri = "s3://groundwork-test/output/pets/manifests/intermediate/1/output.manifest"
    first = storage.read_bytes(uri).decode().splitlines()
    assert [json.loads(line).get("animal") for line in first] == [1, None, None, None, None]
    assert keys_under("manifests/") == ["manifests/intermediate/1/output.manifest"]

    # Then nothing is due until something else is labeled
    assert manifests.intermediate_manifest_jobs_due() == []
    assert manifests.intermediate_manifest_write(job_id=job.pk) is None
    label_object(job, clock, django_capture_on_commit_callbacks, 1, SCENARIOS[job.task_type][1])
    assert manifests.intermediate_manifest_jobs_due() == [job.pk]
    assert manifests.intermediate_manifest_write(job_id=job.pk) == uri
    second = storage.read_bytes(uri).decode().splitlines()
    assert [json.loads(line).get("animal") for line in second] == [1, 3, None, None, None]


def test_a_finished_job_gets_no_intermediate_manifest(
    organization, clock, django_capture_on_commit_callbacks
):
    cache.clear()
    job = classification_job(organization, "image_classification", workers_per_object=1)
    for position in range(5):
        label_object(job, clock, django_capture_on_commit_callbacks, position, ["dog"])
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED

    assert manifests.intermediate_manifest_jobs_due() == []
    assert manifests.intermediate_manifest_write(job_id=job.pk) is None
    assert keys_under("manifests/") == ["manifests/output/output.manifest"]
