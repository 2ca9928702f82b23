"""The augmented output manifest, in Ground Truth's format."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime

from marketplace.models import Job
from tasks import storage
from tasks.models import DataObject

OUTPUT_TYPE = {Job.TaskType.IMAGE_CLASSIFICATION: "groundtruth/image-classification"}
_CHUNK_BYTES = 1024 * 1024


def output_line(*, job: Job, data_object: DataObject) -> str:
    """The input line plus `<attr>` and `<attr>-metadata` in Ground Truth's key order;
    unlabeled lines exactly as read."""
    if data_object.status != DataObject.Status.LABELED:
        return data_object.input_line
    data = json.loads(data_object.input_line)
    data[job.label_attribute_name] = data_object.label
    data[f"{job.label_attribute_name}-metadata"] = {
        "class-name": job.labels[data_object.label],
        "confidence": data_object.confidence,
        "type": OUTPUT_TYPE[job.task_type],
        "job-name": f"labeling-job/{job.name}",
        "human-annotated": "yes" if data_object.human_annotated else "no",
        "creation-date": creation_date(data_object.labeled_at),
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def creation_date(moment: datetime) -> str:
    """Ground Truth's `creation-date`: UTC, no offset, microseconds."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def _output_chunks(job: Job) -> Iterator[bytes]:
    objects = (
        DataObject.objects.filter(job=job)
        .order_by("position")
        .only("input_line", "status", "label", "confidence", "human_annotated", "labeled_at")
        .iterator(chunk_size=5000)
    )
    buffer: list[str] = []
    size = 0
    for data_object in objects:
        line = output_line(job=job, data_object=data_object)
        buffer.append(line)
        size += len(line) + 1
        if size >= _CHUNK_BYTES:
            yield ("\n".join(buffer) + "\n").encode()
            buffer, size = [], 0
    if buffer:
        yield ("\n".join(buffer) + "\n").encode()


def output_manifest_write(*, job: Job) -> str:
    """Write `manifests/output/output.manifest` in input order (same data, same bytes)."""
    storage.write(job.output_manifest_uri, _output_chunks(job), content_type="application/jsonl")
    return job.output_manifest_uri
