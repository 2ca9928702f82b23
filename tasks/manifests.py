"""Ground Truth manifests: validating input lines and writing the augmented output manifest."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from marketplace import s3uri
from marketplace.errors import ApplicationError
from marketplace.models import Job
from tasks import storage
from tasks.models import DataObject

MAX_LINE_CHARS = 100_000
MAX_SOURCE_CHARS = 20_000
IMAGE_TASK_TYPES = {Job.TaskType.IMAGE_CLASSIFICATION}
OUTPUT_TYPE = {Job.TaskType.IMAGE_CLASSIFICATION: "groundtruth/image-classification"}
_CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class InputRecord:
    input_line: str
    source_ref: str
    source: str


class InvalidLine(ValueError):
    """A manifest line that cannot become a data object; the message says why."""


def parse_input_line(raw: str, *, task_type: str) -> InputRecord:
    if len(raw) > MAX_LINE_CHARS:
        raise InvalidLine(f"the line is longer than {MAX_LINE_CHARS:,} characters")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as error:
        raise InvalidLine(f"not valid JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(data, dict):
        raise InvalidLine("the line must be a JSON object")
    source_ref, source = data.get("source-ref"), data.get("source")
    if source_ref is not None and source is not None:
        raise InvalidLine("the line has both 'source-ref' and 'source'; give one")
    if source_ref is None and source is None:
        raise InvalidLine("the line needs 'source-ref' (an S3 URI) or 'source' (inline text)")
    if source_ref is not None:
        if not isinstance(source_ref, str):
            raise InvalidLine("'source-ref' must be a string")
        try:
            s3uri.parse_uri(source_ref)
        except ApplicationError as error:
            raise InvalidLine(error.message) from None
    if source is not None:
        if not isinstance(source, str):
            raise InvalidLine("'source' must be a string")
        if len(source) > MAX_SOURCE_CHARS:
            raise InvalidLine(f"'source' is longer than {MAX_SOURCE_CHARS:,} characters")
    if task_type in IMAGE_TASK_TYPES and source_ref is None:
        raise InvalidLine(f"{task_type} needs 'source-ref' pointing to an image")
    return InputRecord(input_line=raw, source_ref=source_ref or "", source=source or "")


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
