"""The output manifest of the four classification task types, byte for byte as Ground Truth
writes it (golden files in tests/tasks/golden/), and the line builder's fast path."""

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from django.db import connection
from django.utils import timezone

from marketplace.api.serializers import JobSpecInput
from marketplace.models import Job
from marketplace.services import jobs
from payments.services import ledger as payments
from tasks import services, storage
from tasks.manifests import ingest
from tasks.manifests import output as manifests
from tasks.models import DataObject
from tests.factories import WorkerFactory, job_spec, put_manifest

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).parent / "golden"
START = datetime(2024, 5, 1, 9, 30, 0, 250000, tzinfo=UTC)
LABELS = ["cat", "dog", "fish", 'Café "Paris"']
ELEMENT = {
    "image_classification": "crowd-image-classifier",
    "image_classification_multilabel": "crowd-image-classifier-multi-select",
    "text_classification": "crowd-classifier",
    "text_classification_multilabel": "crowd-classifier-multi-select",
}
IMAGE_LINES = [
    '{"source-ref": "s3://groundwork-test/images/0.png", "batch": "b1"}',
    '{"batch":2,"source-ref":"s3://groundwork-test/images/1.png","nested":{"a":[1,2.5,null]}}',
    '{"source-ref": "s3://groundwork-test/images/2.png", "note": "caf\\u00e9 \\u2603"}',
    '{"source-ref": "s3://groundwork-test/images/3.png", "animals": "not the label", "z": true}',
    '{"source-ref":  "s3://groundwork-test/images/4.png" , "batch": "unlabeled"}',
]
TEXT_LINES = [
    '{"source": "The food was delicious", "id": 1}',
    '{"id":2,"source":"Service was slow.\\nVery slow."}',
    '{"source": "Très bien \\"vraiment\\"", "lang": "fr"}',
    '{"source": "Okay I guess", "animal-ish": null, "meta": {"animal-metadata": 1}}',
    '{"source":   "Never labeled",   "id": 5}',
]


class Clock:
    """timezone.now() under the test's control, so labeled_at and file names are fixed."""

    def __init__(self) -> None:
        self.now = START

    def tick(self, seconds: float = 1) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def install_clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(timezone, "now", lambda: clock.now)
    return clock


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return install_clock(monkeypatch)


def job_from_lines(organization, lines: list[str], **overrides) -> Job:
    """A funded InProgress job that read exactly these manifest lines."""
    spec = job_spec(**overrides)
    put_manifest(spec["input_manifest_uri"], lines)
    payments.funding_record(
        owner=organization.ledger_owner,
        amount_mills=1_000_000,
        reference=f"fund-{organization.pk}-{spec['name']}",
    )
    payload = JobSpecInput(data=spec)
    payload.is_valid(raise_exception=True)
    job = jobs.job_create(
        organization=organization,
        created_by=organization.memberships.get().user,
        spec=payload.validated_data,
    )
    ingest.manifest_ingest(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.IN_PROGRESS, job.failure_reason
    return job


def classification_job(
    organization, task_type: str, *, workers_per_object: int = 3, **overrides
) -> Job:
    lines = TEXT_LINES if task_type.startswith("text") else IMAGE_LINES
    return job_from_lines(
        organization,
        lines,
        task_type=task_type,
        workers_per_object=workers_per_object,
        label_categories={
            "document-version": "2018-11-28",
            "labels": [{"label": label} for label in LABELS],
        },
        **overrides,
    )


def answer_of(task_type: str, chosen) -> dict:
    key = "labels" if isinstance(chosen, list) else "label"
    return {ELEMENT[task_type]: {key: chosen}}


def label_object(job: Job, clock: Clock, capture, position: int, chosen: list, workers=None):
    """Fresh workers (or the given ones) claim and answer the object at `position` in turn,
    a few seconds apart; when fewer answers than workers_per_object are given, the object is
    consolidated with what it has (as at the end of its availability lifetime). `capture` is
    django_capture_on_commit_callbacks: what a submit queues runs right after it."""
    workers = workers or [WorkerFactory() for _ in chosen]
    for worker, choice in zip(workers, chosen, strict=True):
        clock.tick(3)
        assignment, _ = services.assignment_claim(worker=worker, job=job)
        assert assignment.data_object.position == position
        clock.tick(4.5)
        with capture(execute=True):
            services.assignment_submit(
                assignment=assignment, answer=answer_of(job.task_type, choice)
            )
    if len(chosen) < job.workers_per_object:
        clock.tick(1)
        with capture(execute=True):
            services.data_object_consolidate(data_object_id=assignment.data_object_id)


SCENARIOS = {
    "image_classification": [
        ["dog", "cat", "dog"],  # 0.67
        ['Café "Paris"'],  # one worker: 0.00
        ["fish", "fish", "fish"],  # 1.00
        ["cat", "dog"],  # a tie goes to the label listed first
    ],
    "text_classification": [
        ["dog", "cat", "dog"],
        ['Café "Paris"'],
        ["fish", "fish", "fish"],
        ["cat", "dog"],
    ],
    "image_classification_multilabel": [
        [["dog", "cat"], ["dog"], ["fish", "dog"]],  # dog 1.00; cat, fish 1/3: not selected
        [['Café "Paris"', "cat"]],  # one worker: both, 0.00
        [["cat"], ["dog"], ["fish"]],  # nothing reaches half: an empty list
        [["fish"], ["fish", "cat"]],  # fish 1.00, cat a tie: selected, 0.50
    ],
    "text_classification_multilabel": [
        [["dog", "cat"], ["dog"], ["fish", "dog"]],
        [['Café "Paris"', "cat"]],
        [["cat"], ["dog"], ["fish"]],
        [["fish"], ["fish", "cat"]],
    ],
}


def run_job(organization, clock: Clock, capture, task_type: str) -> Job:
    """Label the first four objects of the scenario; the fifth stays unlabeled. `capture` is
    django_capture_on_commit_callbacks: consolidation runs once the submit commits."""
    job = classification_job(organization, task_type)
    for position, chosen in enumerate(SCENARIOS[task_type]):
        label_object(job, clock, capture, position, chosen)
    return job


def assert_golden(name: str, produced: bytes) -> None:
    """Compare with tests/tasks/golden/<name>; UPDATE_GOLDEN=1 rewrites the file instead (then
    read the diff: the golden files are the reference)."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(produced)
    assert produced == path.read_bytes()


@pytest.mark.parametrize("task_type", list(SCENARIOS))
def test_the_output_manifest_is_ground_truths_byte_for_byte(
    organization, clock, django_capture_on_commit_callbacks, task_type
):
    job = run_job(organization, clock, django_capture_on_commit_callbacks, task_type)

    uri = manifests.output_manifest_write(job=job)

    assert uri == "s3://groundwork-test/output/pets/manifests/output/output.manifest"
    assert_golden(f"{task_type}.jsonl", storage.read_bytes(uri))


@pytest.mark.parametrize("task_type", list(SCENARIOS))
def test_each_line_equals_encoding_the_augmented_object(
    organization, clock, django_capture_on_commit_callbacks, task_type
):
    job = run_job(organization, clock, django_capture_on_commit_callbacks, task_type)
    lines = storage.read_bytes(manifests.output_manifest_write(job=job)).decode().splitlines()

    objects = list(DataObject.objects.filter(job=job).order_by("position"))
    builder = manifests.OutputLines(job)
    for line, data_object in zip(lines, objects, strict=True):
        if data_object.status != DataObject.Status.LABELED:
            assert line == data_object.input_line
            continue
        expected = json.loads(data_object.input_line)
        expected["animal"] = data_object.label
        expected["animal-metadata"] = builder.metadata(
            label=data_object.label,
            confidence=data_object.confidence,
            label_confidences=data_object.label_confidences,
            human_annotated=data_object.human_annotated,
            created=manifests.creation_date(data_object.labeled_at),
        )
        assert line == json.dumps(expected, ensure_ascii=False, separators=(",", ":"))
        assert manifests.output_line(job=job, data_object=data_object) == line


def test_a_rewritten_manifest_has_the_same_bytes(
    organization, clock, django_capture_on_commit_callbacks
):
    job = run_job(organization, clock, django_capture_on_commit_callbacks, "image_classification")
    first = storage.read_bytes(manifests.output_manifest_write(job=job))

    clock.tick(3600)
    second = storage.read_bytes(manifests.output_manifest_write(job=job))

    assert first == second


def test_the_finished_job_writes_the_manifest_and_completes(
    organization, clock, django_capture_on_commit_callbacks
):
    job = classification_job(organization, "text_classification_multilabel", workers_per_object=1)
    worker = WorkerFactory()
    for position, chosen in enumerate([["dog"], ["cat", "fish"], ["dog"], ["cat"], ["fish"]]):
        label_object(
            job, clock, django_capture_on_commit_callbacks, position, [chosen], workers=[worker]
        )

    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED
    lines = storage.read_bytes(job.output_manifest_uri).decode().splitlines()
    assert [json.loads(line)["animal"] for line in lines] == [[1], [0, 2], [1], [0], [2]]
    assert json.loads(lines[1])["animal-metadata"] == {
        "job-name": "labeling-job/pets",
        "class-map": {"0": "cat", "2": "fish"},
        "human-annotated": "yes",
        "creation-date": "2024-05-01T09:30:15.250000",
        "confidence-map": {"0": 0.0, "2": 0.0},
        "type": "groundtruth/text-classification-multilabel",
    }


def large_job(organization, clock, capture) -> Job:
    """Objects 0 and 200-419 labeled, with lines of ~90 kB: the manifest needs three parts.
    Objects 1-4 are unlabeled, 5-199 unlabeled one-line texts."""
    job = classification_job(organization, "image_classification", workers_per_object=1)
    label_object(job, clock, capture, 0, ["fish"])
    padding = "x" * 90_000
    DataObject.objects.filter(job=job).update(
        input_line='{"source-ref": "s3://groundwork-test/images/0.png", "pad": "' + padding + '"}'
    )
    DataObject.objects.bulk_create(
        DataObject(job=job, position=position, input_line=f'{{"source": "{position}"}}')
        for position in range(5, 200)
    )
    labeled = DataObject.objects.get(job=job, position=0)
    copied = ["input_line", "status", "label", "confidence", "human_annotated", "labeled_at"]
    DataObject.objects.bulk_create(
        DataObject(job=job, position=position, **{name: getattr(labeled, name) for name in copied})
        for position in range(200, 420)
    )
    return job


def test_a_large_manifest_streams_in_parts_and_keeps_input_order(
    organization, clock, django_capture_on_commit_callbacks
):
    job = large_job(organization, clock, django_capture_on_commit_callbacks)

    uri = manifests.output_manifest_write(job=job)

    head = storage.client().head_object(Bucket="groundwork-test", Key=uri.split("/", 3)[3])
    assert head["ETag"].strip('"').endswith("-3")  # 221 lines of ~90 kB: 8 + 8 + 3.9 MiB
    lines = storage.read_bytes(uri).decode().splitlines()
    assert len(lines) == 1 + 4 + 195 + 220
    assert [json.loads(line).get("source") for line in lines[5:200]] == [
        str(p) for p in range(5, 200)
    ]
    assert {json.loads(line)["animal"] for line in lines[200:]} == {2}


def test_a_failed_export_keeps_the_previous_manifest_and_closes_its_transaction(
    organization, clock, django_capture_on_commit_callbacks, monkeypatch
):
    # Given a manifest written before more objects were labeled
    job = large_job(organization, clock, django_capture_on_commit_callbacks)
    DataObject.objects.filter(job=job, position__gte=200).update(status="pending")
    previous = storage.read_bytes(manifests.output_manifest_write(job=job))
    DataObject.objects.filter(job=job, position__gte=200).update(status="labeled")
    savepoints = list(connection.savepoint_ids)

    # When S3 refuses the first part of the new one (seen while the rows are still read)
    def refuse(**kwargs):
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "later"}}, "UploadPart")

    monkeypatch.setattr(storage.client(), "upload_part", refuse)
    with pytest.raises(ClientError):
        manifests.output_manifest_write(job=job)
    monkeypatch.undo()

    # Then the previous manifest is intact, no upload is open, and the rows' cursor and its
    # transaction are closed
    assert storage.read_bytes(job.output_manifest_uri) == previous
    uploads = storage.client().list_multipart_uploads(Bucket="groundwork-test")
    assert uploads.get("Uploads", []) == []
    assert connection.savepoint_ids == savepoints
    assert DataObject.objects.filter(job=job, status="labeled").count() == 221


def test_a_label_already_in_the_line_is_replaced_in_place(
    organization, clock, django_capture_on_commit_callbacks
):
    # Ingestion refuses such lines today; a line that has one still gets Ground Truth's rule
    job = run_job(organization, clock, django_capture_on_commit_callbacks, "image_classification")
    DataObject.objects.filter(job=job, position=0).update(
        input_line='{"animal-metadata": {"old": 1}, "source-ref": "s3://b/0.png", "animal": 7}'
    )

    line = storage.read_bytes(manifests.output_manifest_write(job=job)).decode().splitlines()[0]

    assert line == (
        '{"animal-metadata":{"class-name":"dog","confidence":0.67,'
        '"type":"groundtruth/image-classification","job-name":"labeling-job/pets",'
        '"human-annotated":"yes","creation-date":"2024-05-01T09:30:22.750000"},'
        '"source-ref":"s3://b/0.png","animal":1}'
    )


@pytest.mark.parametrize("task_type", list(SCENARIOS))
def test_without_server_side_cursors_the_orm_path_gives_the_same_bytes(
    organization, clock, django_capture_on_commit_callbacks, monkeypatch, task_type
):
    # (The ORM path also serves SQLite, which `make run` uses.)
    job = run_job(organization, clock, django_capture_on_commit_callbacks, task_type)
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", True)

    produced = storage.read_bytes(manifests.output_manifest_write(job=job))

    assert produced == (GOLDEN / f"{task_type}.jsonl").read_bytes()
