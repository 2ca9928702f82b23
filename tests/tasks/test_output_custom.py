"""Output lines of jobs whose label is kept as given: custom tasks (every worker's answer passed
through, or a hook's result) and classification jobs consolidated by a post-annotation hook.
Golden file: tests/tasks/golden/custom.jsonl, with the workers' ids written as worker-A, -B..."""

import json
import re

import pytest

from tasks import services, storage
from tasks.manifests import output as manifests
from tasks.models import DataObject
from tests.factories import WorkerFactory
from tests.tasks.test_output_manifest import (
    IMAGE_LINES,
    Clock,
    assert_golden,
    install_clock,
    job_from_lines,
    label_object,
)

pytestmark = pytest.mark.django_db

TEMPLATE = '<crowd-form><input name="caption"><input type="checkbox" name="blurry"></crowd-form>'
FIRST_ANSWER_HOOK = "tests.tasks.test_output_custom.first_answer"


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return install_clock(monkeypatch)


def first_answer(event: dict) -> list[dict]:
    """A post-annotation hook (Python) that keeps the first worker's choice and who made it."""
    request = json.loads(storage.read_bytes(event["payload"]["s3Uri"]))
    return [
        {
            "datasetObjectId": item["datasetObjectId"],
            "consolidatedAnnotation": {
                "content": {
                    event["labelAttributeName"]: {
                        "label": json.loads(item["annotations"][0]["annotationData"]["content"])[
                            "crowd-image-classifier"
                        ]["label"],
                        "answers": len(item["annotations"]),
                    }
                }
            },
        }
        for item in request
    ]


def custom_job(organization, **overrides):
    return job_from_lines(
        organization,
        IMAGE_LINES,
        task_type="custom",
        ui_template=TEMPLATE,
        workers_per_object=2,
        label_categories={"document-version": "2018-11-28", "labels": [{"label": "caption"}]},
        **overrides,
    )


def answer_custom(job, clock, capture, position: int, given: list[dict]) -> None:
    """Fresh workers answer the object at `position` a few seconds apart; with fewer answers
    than the job asks for, it is consolidated with what it has."""
    for answer in given:
        clock.tick(3)
        assignment, _ = services.assignment_claim(worker=WorkerFactory(), job=job)
        assert assignment.data_object.position == position
        clock.tick(4.5)
        with capture(execute=True):
            services.assignment_submit(assignment=assignment, answer=answer)
    if len(given) < job.workers_per_object:
        clock.tick(1)
        with capture(execute=True):
            services.data_object_consolidate(data_object_id=assignment.data_object_id)


def caption(text: str, blurry: bool = False) -> dict:
    return {"caption": text, "blurry": {"on": blurry}}


def with_stable_worker_ids(manifest: bytes) -> bytes:
    """Worker ids follow database ids; name them by first appearance instead."""
    names: dict[str, str] = {}

    def rename(match: re.Match) -> str:
        worker = match.group(1)
        names.setdefault(worker, f"worker-{chr(ord('A') + len(names))}")
        return f'"workerId":"{names[worker]}"'

    return re.sub(rb'"workerId":"([^"]+)"', lambda m: rename(m).encode(), manifest)


def test_a_custom_jobs_output_passes_every_answer_through(
    organization,
    clock,
    django_capture_on_commit_callbacks,
):
    job = custom_job(organization)
    capture = django_capture_on_commit_callbacks
    answer_custom(job, clock, capture, 0, [caption("a cat"), caption("cat", blurry=True)])
    answer_custom(job, clock, capture, 1, [caption('say "hi" ✓')])  # one answer, then consolidated

    manifest = storage.read_bytes(manifests.output_manifest_write(job=job))

    assert_golden("custom.jsonl", with_stable_worker_ids(manifest))
    first = json.loads(manifest.splitlines()[0])
    answers = first["animal"]["annotationsFromAllWorkers"]
    assert [json.loads(a["annotationData"]["content"]) for a in answers] == [
        caption("a cat"),
        caption("cat", blurry=True),
    ]
    assert first["animal-metadata"] == {
        "type": "groundtruth/custom",
        "job-name": "labeling-job/pets",
        "human-annotated": "yes",
        "creation-date": manifests.creation_date(
            DataObject.objects.get(job=job, position=0).labeled_at
        ),
    }


def test_a_hook_consolidated_classification_job_writes_the_hooks_value(
    organization,
    clock,
    django_capture_on_commit_callbacks,
    settings,
):
    settings.HOOK_ALLOWED_CALLABLES = [*settings.HOOK_ALLOWED_CALLABLES, FIRST_ANSWER_HOOK]
    job = job_from_lines(
        organization, IMAGE_LINES, workers_per_object=2, post_annotation_hook=FIRST_ANSWER_HOOK
    )
    workers = [WorkerFactory(), WorkerFactory()]
    label_object(job, clock, django_capture_on_commit_callbacks, 0, ["dog", "cat"], workers=workers)

    lines = storage.read_bytes(manifests.output_manifest_write(job=job)).decode().splitlines()

    labeled = DataObject.objects.get(job=job, position=0)
    assert lines[0] == json.dumps(
        {
            **json.loads(IMAGE_LINES[0]),
            "animal": {"label": "dog", "answers": 2},
            "animal-metadata": {
                "type": "groundtruth/image-classification",
                "job-name": "labeling-job/pets",
                "human-annotated": "yes",
                "creation-date": manifests.creation_date(labeled.labeled_at),
            },
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    assert lines[1:] == IMAGE_LINES[1:]  # unlabeled lines as read
    assert (labeled.confidence, labeled.label_confidences) == (None, None)
