"""Reading a job's input manifest into data objects: streamed, validated, all or nothing.

The manifest is read line by line and never held whole: good lines go straight to the database
(PostgreSQL COPY, or bulk_create batches elsewhere), bad lines to a spooled error report. Both
happen inside one transaction that also starts the job, so a single bad line, a budget the
balance cannot cover or a crash leaves no object behind. A job given an S3 prefix instead of a
manifest first gets a manifest built from the prefix's listing.

A job with a pre-annotation hook commits its objects first (still Initializing), then passes
each one through the hook, and starts once every object has its task input; a hook that fails
for good fails the job and deletes its objects.
"""

import json
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from typing import IO

from django import db
from django.conf import settings
from django.db import connection, transaction

from marketplace import hook_targets
from marketplace import locks as job_locks
from marketplace.errors import ApplicationError
from marketplace.models import Job
from marketplace.services import jobs
from tasks import hooks, storage
from tasks.manifests import input as manifest_input
from tasks.models import DataObject
from tasks.services import gold, queue
from workforce.services import accounts

INGEST_BATCH_SIZE = 5000  # bulk_create batches where COPY is not available
MAX_REASON_BAD_LINES = 5  # bad lines quoted in failure_reason; the report has every one
REPORT_SPOOL_BYTES = 1024 * 1024
BUILT_MANIFEST_CHUNK_BYTES = 1024 * 1024
PRE_ANNOTATION_BATCH_SIZE = 500  # objects whose task inputs are stored in one bulk update
PRE_ANNOTATION_RETRY_DELAYS = (0.5, 2.0)  # seconds before the 2nd and the 3rd try of a call


def input_errors_uri(job: Job) -> str:
    return f"{job.output_prefix}manifests/input-errors.jsonl"


def built_manifest_uri(job: Job) -> str:
    return f"{job.output_prefix}manifests/input/built.manifest"


class _ManifestInvalid(Exception):
    """Bad lines were found: the first few for the reason, every one in the spooled report."""

    def __init__(self, report: "_ErrorReport") -> None:
        self.report = report


class _PrefixEmpty(Exception):
    pass


class _ErrorReport:
    """Every bad line as a JSON line `{"line": n, "reason": "..."}`, spooled to disk when big."""

    def __init__(self) -> None:
        self.count = 0
        self.first: list[tuple[int, str]] = []
        self._spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=REPORT_SPOOL_BYTES)

    def add(self, number: int, reason: str) -> None:
        self.count += 1
        if len(self.first) < MAX_REASON_BAD_LINES:
            self.first.append((number, reason))
        self._spool.write(json.dumps({"line": number, "reason": reason}).encode() + b"\n")

    def chunks(self) -> Iterator[bytes]:
        self._spool.seek(0)
        while chunk := self._spool.read(REPORT_SPOOL_BYTES):
            yield chunk

    def close(self) -> None:
        self._spool.close()

    def failure_reason(self, *, report_uri: str | None) -> str:
        shown = "; ".join(f"line {n}: {reason.rstrip('.')}" for n, reason in self.first)
        more = self.count - len(self.first)
        tail = f"; and {more} more" if more > 0 else ""
        lines = "line" if self.count == 1 else "lines"
        reason = f"The input manifest has {self.count} invalid {lines}: {shown}{tail}."
        if report_uri:
            reason += f" Every bad line is listed in {report_uri}."
        return reason


def manifest_ingest(*, job_id: int) -> Job:
    """Read the input manifest as a stream and create one data object per line, all or nothing.

    Any bad line fails the job with a report of every bad line and leaves no object behind; so
    does a budget the requester's balance cannot cover. Running it again changes nothing,
    except for a job with a pre-annotation hook whose hook pass was cut short: it carries on.
    """
    job = Job.objects.select_related("organization").get(pk=job_id)
    if job.status != Job.Status.INITIALIZING:
        return job
    if not job.input_manifest_uri and job.input_s3_prefix:
        try:
            uri = _manifest_build_from_prefix(job=job)
        except _PrefixEmpty:
            extensions = ", ".join(manifest_input.supported_extensions(job.task_type))
            wanted = f"object with a supported extension ({extensions})" if extensions else "object"
            return _job_fail(
                job=job,
                reason=f"The input prefix {job.input_s3_prefix} holds no {wanted} for "
                f"{job.task_type}.",
            )
        except storage.StorageErrors as error:
            return _job_fail(
                job=job, reason=f"The input prefix {job.input_s3_prefix} cannot be listed: {error}."
            )
        Job.objects.filter(pk=job.pk).update(input_manifest_uri=uri)
        job.input_manifest_uri = uri
    try:
        with transaction.atomic():
            # Held until commit: a second run of this task waits here, then finds the job
            # started (or, with a pre-annotation hook, its objects created); a stop request
            # waits for the objects to exist.
            if job_locks.job_for_update(pk=job.pk).status != Job.Status.INITIALIZING:
                return Job.objects.get(pk=job.pk)
            resumed = bool(job.pre_annotation_hook) and job.data_objects.exists()
            if not resumed:
                count = _data_objects_create(job=job)
                if count == 0:
                    return _job_fail(job=job, reason="The input manifest has no objects.")
                if not job.pre_annotation_hook:
                    return _job_start(job=job, object_count=count)
    except _ManifestInvalid as error:
        return _job_fail_with_report(job=job, report=error.report)
    except storage.StorageErrors as error:
        return _job_fail(
            job=job, reason=f"The input manifest {job.input_manifest_uri} cannot be read: {error}."
        )
    except ApplicationError as error:
        if error.code == "invalid_transition":  # stopped meanwhile: nothing to start or fail
            return Job.objects.get(pk=job.pk)
        return _job_fail(job=job, reason=error.message)
    # The objects are committed and the job is still Initializing: each pending object goes
    # through the pre-annotation hook, and the job starts once every one has.
    return _pre_annotation_stage(job=job)


def _job_fail_discarding_objects(*, job: Job, reason: str) -> Job:
    """Fail a job still Initializing and delete its data objects, so that nothing is left
    half-created. A job stopped meanwhile keeps its objects: its output is written from them."""
    with transaction.atomic():
        if job_locks.job_for_update(pk=job.pk).status != Job.Status.INITIALIZING:
            return Job.objects.get(pk=job.pk)
        _data_objects_delete(job=job)
        return _job_fail(job=job, reason=reason)


def _data_objects_delete(*, job: Job) -> None:
    # A job that has not started has no assignment: nothing cascades, so the rows go in one
    # statement rather than through the ORM's collector (which reads every primary key).
    table = connection.ops.quote_name(DataObject._meta.db_table)
    column = connection.ops.quote_name(DataObject._meta.get_field("job").column)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE {column} = %s", [job.pk])  # noqa: S608


def _pre_annotation_stage(*, job: Job) -> Job:
    """Call the job's pre-annotation hook for every pending object whose task input is not
    stored yet, a batch at a time, several calls at once; then start the job with the objects
    that need a person. Resumable: a rerun carries on with the objects not done yet.

    An object the hook says needs no person is carried (copied to the output unchanged). A
    call that fails for good fails the job and deletes its objects.
    """
    if hook_targets.hook_target_is_url(job.pre_annotation_hook):
        # Read here: the calls run on other threads, which do not touch the database.
        accounts.organization_hook_secret(organization=job.organization)
    with ThreadPoolExecutor(
        max_workers=settings.HOOK_CONCURRENCY, thread_name_prefix="pre-annotation"
    ) as pool:
        after = -1  # objects are taken in manifest order, from where the last batch ended
        while True:
            if Job.objects.filter(pk=job.pk).values_list("status", flat=True).get() != (
                Job.Status.INITIALIZING
            ):
                return Job.objects.get(pk=job.pk)  # stopped meanwhile: the stop finishes it
            batch = list(
                job.data_objects.filter(
                    status=DataObject.Status.PENDING, task_input__isnull=True, position__gt=after
                )
                .order_by("position")
                .only("pk", "position", "input_line", "status", "task_input")[
                    :PRE_ANNOTATION_BATCH_SIZE
                ]
            )
            if not batch:
                break
            failure = _pre_annotation_batch(job=job, batch=batch, pool=pool)
            if failure is not None:
                data_object, error = failure
                return _job_fail_discarding_objects(
                    job=job,
                    reason=hooks.hook_failure_reason(
                        kind="pre-annotation",
                        target=job.pre_annotation_hook,
                        subject=_object_described(job=job, position=data_object.position),
                        error=error,
                    ),
                )
            DataObject.objects.bulk_update(batch, ["task_input", "status"])
            after = batch[-1].position
    pending = job.data_objects.filter(status=DataObject.Status.PENDING).count()
    if pending == 0:
        return _job_fail_discarding_objects(
            job=job,
            reason="The pre-annotation hook marked every object as not needing a person: "
            "there is nothing to label.",
        )
    try:
        with transaction.atomic():
            if job_locks.job_for_update(pk=job.pk).status != Job.Status.INITIALIZING:
                return Job.objects.get(pk=job.pk)
            return _job_start(job=job, object_count=pending)
    except ApplicationError as error:
        return _job_fail_discarding_objects(job=job, reason=error.message)


def _job_start(*, job: Job, object_count: int) -> Job:
    """Start the job and put its first objects out to workers (max_concurrent_task_count of
    them), in the caller's transaction: the job's row is locked by the start."""
    started = jobs.job_start(job=job, object_count=object_count)
    gold.gold_objects_create(job=started)
    queue.data_objects_admit(job=started)
    return started


def _pre_annotation_batch(
    *, job: Job, batch: list[DataObject], pool: ThreadPoolExecutor
) -> tuple[DataObject, hooks.HookError] | None:
    """Set each object's task input (and carried status) from the hook; the first object, in
    manifest order, whose call failed for good, with its error, or None."""
    futures = [pool.submit(_pre_annotation_call, job, data_object) for data_object in batch]
    for data_object, future in zip(batch, futures, strict=True):
        try:
            result = future.result()
        except hooks.HookError as error:
            for waiting in futures:
                waiting.cancel()
            return data_object, error
        data_object.task_input = result.task_input
        if not result.human_annotation_required:
            data_object.status = DataObject.Status.CARRIED
    return None


def _pre_annotation_call(job: Job, data_object: DataObject) -> hooks.PreAnnotation:
    """One object's hook call, tried again after a short wait when it may succeed then."""
    try:
        for delay in PRE_ANNOTATION_RETRY_DELAYS:
            try:
                return hooks.pre_annotation_run(job=job, data_object=data_object)
            except hooks.HookError as error:
                if not error.retryable:
                    raise
            time.sleep(delay)
        return hooks.pre_annotation_run(job=job, data_object=data_object)
    finally:
        db.connections.close_all()  # a Python hook may have opened one on this thread


def _object_described(*, job: Job, position: int) -> str:
    """`object 17 (manifest line 18)`: blank lines are no objects, so the line is counted."""
    try:
        with closing(
            storage.iter_byte_lines(
                job.input_manifest_uri, max_line_bytes=manifest_input.MAX_LINE_BYTES
            )
        ) as lines:
            seen = -1
            for number, raw in enumerate(lines, start=1):
                if manifest_input.is_blank(raw):
                    continue
                seen += 1
                if seen == position:
                    return f"object {position} (manifest line {number})"
    except storage.StorageErrors:
        pass
    return f"object {position}"


def _job_fail(*, job: Job, reason: str, report_uri: str = "") -> Job:
    try:
        with transaction.atomic():
            failed = jobs.job_fail(job=job, reason=reason)
            if report_uri:
                Job.objects.filter(pk=failed.pk).update(failure_report_uri=report_uri)
                failed.failure_report_uri = report_uri
            return failed
    except ApplicationError as error:
        if error.code != "invalid_transition":
            raise
        return Job.objects.get(pk=job.pk)  # already failed, stopped or finished


def _job_fail_with_report(*, job: Job, report: "_ErrorReport") -> Job:
    report_uri = input_errors_uri(job)
    try:
        storage.write(report_uri, report.chunks(), content_type="application/jsonl")
    except storage.StorageErrors:
        report_uri = ""  # the reason still names the first bad lines
    finally:
        report.close()
    return _job_fail(
        job=job, reason=report.failure_reason(report_uri=report_uri), report_uri=report_uri
    )


def _data_objects_create(*, job: Job) -> int:
    """Validate every line; write the good ones until the first bad one. Raises
    _ManifestInvalid when any line is bad (the caller's transaction then creates nothing)."""
    report = _ErrorReport()
    position = to_label = 0
    lines = storage.iter_byte_lines(
        job.input_manifest_uri, max_line_bytes=manifest_input.MAX_LINE_BYTES
    )
    try:
        with _object_writer(job=job) as write:
            for number, raw in enumerate(lines, start=1):
                if manifest_input.is_blank(raw):
                    continue
                try:
                    record = manifest_input.parse_input_line(
                        manifest_input.decode_line(raw),
                        task_type=job.task_type,
                        label_attribute_name=job.label_attribute_name,
                    )
                except manifest_input.InvalidLine as error:
                    report.add(number, str(error))
                    continue
                if not report.count:  # once a line is bad, only validate: the job will fail
                    write(position, record)
                position += 1
                to_label += not record.carried
    except BaseException:
        report.close()
        raise
    if report.count:
        raise _ManifestInvalid(report)
    report.close()
    if position and not to_label:
        raise ApplicationError(
            "nothing_to_label",
            f"Every object in the manifest already has a label named "
            f"'{job.label_attribute_name}': there is nothing left to label.",
        )
    return to_label


_Write = Callable[[int, manifest_input.InputRecord], None]


@contextmanager
def _object_writer(*, job: Job) -> Iterator[_Write]:
    """A function that adds one data object; every object is written when the block ends."""
    if _copy_available():
        with connection.cursor() as cursor, _copy_writer(cursor, job=job) as write:
            yield write
        return
    batch: list[DataObject] = []

    def add(position: int, record: manifest_input.InputRecord) -> None:
        batch.append(
            DataObject(
                job=job,
                position=position,
                input_line=record.input_line,
                source_ref=record.source_ref,
                source=record.source,
                status=_status(record),
            )
        )
        if len(batch) >= INGEST_BATCH_SIZE:
            DataObject.objects.bulk_create(batch)
            batch.clear()

    yield add
    DataObject.objects.bulk_create(batch)


def _status(record: manifest_input.InputRecord) -> str:
    return DataObject.Status.CARRIED if record.carried else DataObject.Status.PENDING


def _copy_available() -> bool:
    if connection.vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return is_psycopg3  # psycopg 2 has no cursor.copy()


@contextmanager
def _copy_writer(cursor, *, job: Job) -> Iterator[_Write]:
    """PostgreSQL COPY into the data object table, in the caller's transaction. Every column
    is written: the ones a manifest line sets, and the model's defaults for the others."""
    varying = ("job", "position", "input_line", "source_ref", "source", "status")
    fields = [f for f in DataObject._meta.concrete_fields if not f.primary_key]
    defaults = [
        f.get_db_prep_save(f.get_default(), connection) for f in fields if f.name not in varying
    ]
    columns = [DataObject._meta.get_field(name).column for name in varying]  # the row's order
    columns += [f.column for f in fields if f.name not in varying]
    quote = connection.ops.quote_name
    sql = f"COPY {quote(DataObject._meta.db_table)} ({', '.join(map(quote, columns))}) FROM STDIN"
    with cursor.copy(sql) as copy:
        write_row, job_id = copy.write_row, job.pk

        def add(position: int, record: manifest_input.InputRecord) -> None:
            write_row(
                (
                    job_id,
                    position,
                    record.input_line,
                    record.source_ref,
                    record.source,
                    _status(record),
                    *defaults,
                )
            )

        yield add


def _manifest_build_from_prefix(*, job: Job) -> str:
    """Write a manifest with one `{"source-ref": ...}` line per supported object under the
    job's prefix, in key order; raises _PrefixEmpty when there is none."""
    uri = built_manifest_uri(job)

    def chunks() -> Iterator[bytes]:
        buffer: list[bytes] = []
        size = found = 0
        for object_uri in storage.iter_object_uris(job.input_s3_prefix):
            if not manifest_input.has_supported_extension(object_uri, task_type=job.task_type):
                continue
            line = json.dumps({"source-ref": object_uri}).encode() + b"\n"
            buffer.append(line)
            size += len(line)
            found += 1
            if size >= BUILT_MANIFEST_CHUNK_BYTES:
                yield b"".join(buffer)
                buffer, size = [], 0
        if not found:
            raise _PrefixEmpty  # aborts the write: nothing is left behind
        yield b"".join(buffer)

    storage.write(uri, chunks(), content_type="application/jsonl")
    return uri
