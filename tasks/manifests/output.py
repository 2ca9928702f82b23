"""A job's output under `<output_path>/<job name>/`, in Ground Truth's layout and formats.

```
manifests/output/output.manifest            the augmented manifest, in input order
manifests/intermediate/1/output.manifest    the same, rewritten while the job runs
annotations/worker-response/iteration-1/<datasetObjectId>/<timestamp>.json
annotations/consolidated-annotation/consolidation-request/iteration-1/<timestamp>-<datasetObjectId>.json
annotations/consolidated-annotation/consolidation-response/iteration-1/<timestamp>-<datasetObjectId>.json
```

Every name and byte comes from stored data, so a retried write gives the same key and the same
bytes. Ground Truth consolidates objects in batches, one request file a batch; here an object is
consolidated on its own, so its datasetObjectId follows the timestamp to keep the names apart.
"""

import json
import json.encoder
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

from django.core.cache import cache
from django.db import connection, transaction

from marketplace.models import Job
from tasks import answers, storage
from tasks.models import Assignment, DataObject

TaskType = Job.TaskType
OUTPUT_TYPE = {
    TaskType.IMAGE_CLASSIFICATION: "groundtruth/image-classification",
    TaskType.IMAGE_CLASSIFICATION_MULTILABEL: "groundtruth/image-classification-multilabel",
    TaskType.TEXT_CLASSIFICATION: "groundtruth/text-classification",
    TaskType.TEXT_CLASSIFICATION_MULTILABEL: "groundtruth/text-classification-multilabel",
    TaskType.CUSTOM: "groundtruth/custom",
}
ITERATION = 1  # every object is labeled by people in one pass
JSON_LINES = "application/jsonl"

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_encode = _ENCODER.encode
_LABELED = DataObject.Status.LABELED.value
_ZERO = timedelta(0)
_CHUNK_BYTES = 1024 * 1024
_FETCH_ROWS = 10_000
_ROW_FIELDS = (
    "input_line",
    "status",
    "label",
    "confidence",
    "label_confidences",
    "human_annotated",
    "labeled_at",
)


# A million lines are parsed and encoded per export: call the json module's C scanner and C
# encoder directly, as json.loads and JSONEncoder.encode do after their per-call set-up. The
# results are the same (checked below); without the C encoder the plain encoder is used.
_scan_once = json.JSONDecoder().scan_once


def _load_object(line: str) -> dict:
    """json.loads for a JSON object line."""
    if line[:1] == "{":
        try:
            value, end = _scan_once(line, 0)
        except StopIteration:
            pass
        else:
            if end == len(line):
                return value
    return json.loads(line)  # surrounding whitespace, or the error json.loads gives


def _encoder_fast():
    make = getattr(json.encoder, "c_make_encoder", None)
    quote = getattr(json.encoder, "c_encode_basestring", None)
    if make is None or quote is None:
        return _encode
    iterencode = make(None, _ENCODER.default, quote, None, ":", ",", False, False, True)

    def encode(value: dict) -> str:
        return "".join(iterencode(value, 0))

    sample = {"a": [1, 2.5, -0.0, 1e16, None, True], "é\n": {"\u2603": "x\u0000"}}
    return encode if encode(sample) == _encode(sample) else _encode


_encode_object = _encoder_fast()


def creation_date(moment: datetime) -> str:
    """Ground Truth's `creation-date`: UTC, no offset, microseconds."""
    if moment.utcoffset() != _ZERO:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds")


def response_time(moment: datetime) -> str:
    """A worker response's time as Ground Truth writes it: `2024-05-01T12:00:00.123Z`."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def file_timestamp(moment: datetime) -> str:
    """The timestamp in Ground Truth's annotation file names: `2024-05-01_12:00:00`."""
    return f"{moment.astimezone(UTC):%Y-%m-%d_%H:%M:%S}"


class OutputLines:
    """Builds one job's output lines. What every line shares is encoded once, and a labeled
    line is the input object re-encoded compactly with the label's text appended; the result is
    byte for byte what encoding the augmented object would give."""

    def __init__(self, job: Job) -> None:
        self.attribute = job.label_attribute_name
        self.metadata_key = f"{self.attribute}-metadata"
        self.multilabel = answers.is_multilabel(job.task_type)
        # Custom tasks and hook-consolidated jobs: the label is the `<attr>` value as given.
        self.raw = job.has_raw_labels
        self.labels = list(job.labels)
        self.type = OUTPUT_TYPE[job.task_type]
        self.job_name = f"labeling-job/{job.name}"
        attribute, metadata_key = _encode(self.attribute), _encode(self.metadata_key)
        if self.multilabel:
            self._value_prefix = f",{attribute}:"
            self._metadata_prefix = f',{metadata_key}:{{"job-name":{_encode(self.job_name)}'
            self._class_entries = [f'"{i}":{_encode(name)}' for i, name in enumerate(self.labels)]
            self._type_suffix = f',"type":{_encode(self.type)}}}}}'
        else:
            self._class_prefixes = [
                f',{attribute}:{i},{metadata_key}:{{"class-name":{_encode(name)},"confidence":'
                for i, name in enumerate(self.labels)
            ]
            self._after_confidence = (
                f',"type":{_encode(self.type)},"job-name":{_encode(self.job_name)},'
                '"human-annotated":'
            )

    def metadata(self, *, label, confidence, label_confidences, human_annotated, created) -> dict:
        """`<attr>-metadata` in Ground Truth's key order; `created` is the `creation-date`."""
        if self.raw:
            return {
                "type": self.type,
                "job-name": self.job_name,
                "human-annotated": "yes" if human_annotated else "no",
                "creation-date": created,
            }
        if self.multilabel:
            confidences = _label_confidences(label, label_confidences)
            return {
                "job-name": self.job_name,
                "class-map": {str(i): self.labels[i] for i in label},
                "human-annotated": "yes" if human_annotated else "no",
                "creation-date": created,
                "confidence-map": {
                    str(i): float(c) for i, c in zip(label, confidences, strict=True)
                },
                "type": self.type,
            }
        return {
            "class-name": self.labels[label],
            "confidence": float(confidence or 0),
            "type": self.type,
            "job-name": self.job_name,
            "human-annotated": "yes" if human_annotated else "no",
            "creation-date": created,
        }

    def line(
        self, input_line, status, label, confidence, label_confidences, human_annotated, created
    ) -> str:
        """One output line from a row of `_rows`; an unlabeled object's line exactly as read."""
        if status != _LABELED:
            return input_line
        data = _load_object(input_line)
        if not data or self.raw or self.attribute in data or self.metadata_key in data:
            # The label replaces an earlier value in place, as assigning a key does.
            data[self.attribute] = label
            data[self.metadata_key] = self.metadata(
                label=label,
                confidence=confidence,
                label_confidences=label_confidences,
                human_annotated=human_annotated,
                created=created,
            )
            return _encode_object(data)
        head = _encode_object(data)[:-1]
        annotated = '"yes"' if human_annotated else '"no"'
        if not self.multilabel:
            return (
                f"{head}{self._class_prefixes[label]}{float(confidence or 0)!r}"
                f'{self._after_confidence}{annotated},"creation-date":"{created}"}}}}'
            )
        confidences = _label_confidences(label, label_confidences)
        value = ",".join(map(str, label))
        class_map = ",".join(self._class_entries[i] for i in label)
        confidence_map = ",".join(
            f'"{i}":{float(c)!r}' for i, c in zip(label, confidences, strict=True)
        )
        return (
            f"{head}{self._value_prefix}[{value}]{self._metadata_prefix}"
            f',"class-map":{{{class_map}}},"human-annotated":{annotated}'
            f',"creation-date":"{created}","confidence-map":{{{confidence_map}}}'
            f"{self._type_suffix}"
        )


def _label_confidences(label: list[int], label_confidences: list | None) -> list:
    if label_confidences is None or len(label_confidences) != len(label):
        raise ValueError("a multi-label object needs one confidence per label")
    return label_confidences


def output_line(*, job: Job, data_object: DataObject) -> str:
    """The input line plus `<attr>` and `<attr>-metadata` in Ground Truth's key order;
    unlabeled lines exactly as read."""
    *fields, labeled_at = (getattr(data_object, field) for field in _ROW_FIELDS)
    return OutputLines(job).line(*fields, creation_date(labeled_at) if labeled_at else None)


def _rows(job: Job) -> Iterator[tuple]:
    """The job's objects in input order as (input_line, status, label, confidence,
    label_confidences, human_annotated, creation-date text), fetched in batches through a
    server-side cursor, without model instances."""
    if connection.vendor == "postgresql" and not connection.settings_dict.get(
        "DISABLE_SERVER_SIDE_CURSORS"
    ):
        yield from _rows_postgresql(job)
        return
    rows = (
        DataObject.objects.filter(job=job, is_gold=False)
        .order_by("position")
        .values_list(*_ROW_FIELDS)
        .iterator(chunk_size=_FETCH_ROWS)
    )
    for *fields, labeled_at in rows:
        yield (*fields, creation_date(labeled_at) if labeled_at else None)


# PostgreSQL formats the creation date and casts a single label to an integer, which spares
# the per-row datetime and JSON conversions (a third of the time of an export).
_POSTGRESQL_ROWS = """
    SELECT input_line, status, {label}, confidence, {label_confidences}, human_annotated,
           to_char(labeled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')
    FROM {table} WHERE job_id = %s AND NOT is_gold ORDER BY position
"""


def _rows_postgresql(job: Job) -> Iterator[tuple]:
    multilabel = answers.is_multilabel(job.task_type)
    as_json = multilabel or job.has_raw_labels  # else the label is one integer
    sql = _POSTGRESQL_ROWS.format(
        table=connection.ops.quote_name(DataObject._meta.db_table),
        label="label::text" if as_json else "(label)::integer",
        label_confidences="label_confidences::text" if multilabel else "NULL",
    )
    # In a transaction the server-side cursor streams rows; outside one it would be declared
    # WITH HOLD and the whole result computed before the first row.
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(sql, [job.pk])
        while batch := cursor.fetchmany(_FETCH_ROWS):
            if not as_json:
                yield from batch
                continue
            for line, status, label, confidence, confidences, human, created in batch:
                yield (
                    line,
                    status,
                    None if label is None else json.loads(label),
                    confidence,
                    None if confidences is None else json.loads(confidences),
                    human,
                    created,
                )


def _output_chunks(job: Job) -> Iterator[bytes]:
    lines = OutputLines(job)
    yield from _joined(lines.line(*row) for row in _rows(job))


def _joined(lines: Iterable[str]) -> Iterator[bytes]:
    """Lines with their line endings, gathered into chunks of about _CHUNK_BYTES."""
    buffer: list[str] = []
    size = 0
    for line in lines:
        buffer.append(line)
        size += len(line)
        if size >= _CHUNK_BYTES:
            buffer.append("")
            yield "\n".join(buffer).encode()
            buffer, size = [], 0
    if buffer:
        buffer.append("")
        yield "\n".join(buffer).encode()


def output_manifest_write(*, job: Job) -> str:
    """Write `manifests/output/output.manifest` in input order (same data, same bytes)."""
    storage.write_streaming(job.output_manifest_uri, _output_chunks(job), content_type=JSON_LINES)
    return job.output_manifest_uri


# --- Intermediate manifests -------------------------------------------------------------------

_INTERMEDIATE_MARK_SECONDS = 31 * 24 * 3600  # longer than a job runs


def intermediate_manifest_uri(job: Job) -> str:
    return f"{job.output_prefix}manifests/intermediate/{ITERATION}/output.manifest"


def _intermediate_mark(job_id: int) -> str:
    return f"manifest-intermediate:{job_id}:labeled"


def intermediate_manifest_jobs_due() -> list[int]:
    """InProgress jobs that labeled something since their intermediate manifest was written:
    one query over running jobs and one cache read. (A lost cache costs one more rewrite.)"""
    labeled = {
        pk: human + machine
        for pk, human, machine in Job.objects.filter(status=Job.Status.IN_PROGRESS)
        .order_by("pk")
        .values_list("pk", "human_labeled_count", "machine_labeled_count")
        if human + machine
    }
    written = cache.get_many([_intermediate_mark(pk) for pk in labeled])
    return [pk for pk, count in labeled.items() if written.get(_intermediate_mark(pk)) != count]


def intermediate_manifest_write(*, job_id: int) -> str | None:
    """Rewrite `manifests/intermediate/1/output.manifest` when the job labeled something since
    the last write. The labeled count is read before the rows, so a label that lands during the
    write is written next time."""
    job = Job.objects.get(pk=job_id)
    if job.status != Job.Status.IN_PROGRESS:
        return None
    labeled = job.human_labeled_count + job.machine_labeled_count
    if labeled == 0 or cache.get(_intermediate_mark(job.pk)) == labeled:
        return None
    uri = intermediate_manifest_uri(job)
    storage.write_streaming(uri, _output_chunks(job), content_type=JSON_LINES)
    cache.set(_intermediate_mark(job.pk), labeled, timeout=_INTERMEDIATE_MARK_SECONDS)
    return uri


# --- Worker responses and consolidation files -------------------------------------------------


def annotation_uris(*, job: Job, data_object: DataObject) -> dict[str, str]:
    """Where an object's worker responses and consolidation request and response go."""
    stamp = file_timestamp(data_object.labeled_at)
    object_id = data_object.position
    annotations = f"{job.output_prefix}annotations/"
    consolidated = f"{annotations}consolidated-annotation/"
    return {
        "worker_response": (
            f"{annotations}worker-response/iteration-{ITERATION}/{object_id}/{stamp}.json"
        ),
        "consolidation_request": (
            f"{consolidated}consolidation-request/iteration-{ITERATION}/{stamp}-{object_id}.json"
        ),
        "consolidation_response": (
            f"{consolidated}consolidation-response/iteration-{ITERATION}/{stamp}-{object_id}.json"
        ),
    }


def data_object_annotations_write(*, data_object_id: int) -> dict[str, str] | None:
    """Write a consolidated object's worker responses, the consolidation request (the
    post-annotation payload) and the consolidation response. Safe to run again."""
    data_object = DataObject.objects.select_related("job").get(pk=data_object_id)
    if data_object.status != _LABELED or data_object.labeled_at is None:
        return None
    job = data_object.job
    answered = list(
        data_object.assignments.filter(
            status__in=Assignment.ANSWERED, submitted_at__lte=data_object.labeled_at
        )
        .select_related("worker")
        .order_by("submitted_at", "pk")
    )
    uris = annotation_uris(job=job, data_object=data_object)
    files = {
        "worker_response": worker_response(answered),
        "consolidation_request": consolidation_request(data_object=data_object, answered=answered),
        "consolidation_response": consolidation_response(job=job, data_object=data_object),
    }
    for name, document in files.items():
        storage.write_streaming(
            uris[name], [_encode(document).encode()], content_type="application/json"
        )
    return uris


def worker_response(answered: list[Assignment]) -> dict:
    return {
        "answers": [
            {
                "workerId": assignment.worker.public_id,
                "acceptanceTime": response_time(assignment.accepted_at),
                "submissionTime": response_time(assignment.submitted_at),
                "timeSpentInSeconds": assignment.time_spent_seconds,
                "answerContent": assignment.answer,
            }
            for assignment in answered
        ]
    }


def consolidation_request(*, data_object: DataObject, answered: list[Assignment]) -> list[dict]:
    """The post-annotation payload: the object and every worker's answer as a JSON string."""
    if data_object.source_ref:
        source = {"s3Uri": data_object.source_ref}
    else:
        source = {"content": data_object.source}
    return [
        {
            "datasetObjectId": str(data_object.position),
            "dataObject": source,
            "annotations": [
                {
                    "workerId": assignment.worker.public_id,
                    "annotationData": {"content": _encode(assignment.answer)},
                }
                for assignment in answered
            ],
        }
    ]


def consolidation_response(*, job: Job, data_object: DataObject) -> list[dict]:
    """The post-annotation response: the label and its metadata, as on the output line."""
    lines = OutputLines(job)
    metadata = lines.metadata(
        label=data_object.label,
        confidence=data_object.confidence,
        label_confidences=data_object.label_confidences,
        human_annotated=data_object.human_annotated,
        created=creation_date(data_object.labeled_at),
    )
    return [
        {
            "datasetObjectId": str(data_object.position),
            "consolidatedAnnotation": {
                "content": {lines.attribute: data_object.label, lines.metadata_key: metadata}
            },
        }
    ]
