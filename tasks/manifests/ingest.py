"""Reading a job's input manifest into data objects: streamed, validated, all or nothing."""

from django.db import transaction

from marketplace.errors import ApplicationError
from marketplace.models import Job
from marketplace.services import jobs
from tasks import storage
from tasks.manifests import input as manifest_input
from tasks.models import DataObject

INGEST_BATCH_SIZE = 5000
MAX_REPORTED_BAD_LINES = 20


class _ManifestInvalid(Exception):
    def __init__(self, bad_lines: list[tuple[int, str]], bad_count: int) -> None:
        self.bad_lines, self.bad_count = bad_lines, bad_count


def _failure_reason(error: _ManifestInvalid) -> str:
    shown = "; ".join(f"line {n}: {reason.rstrip('.')}" for n, reason in error.bad_lines)
    more = error.bad_count - len(error.bad_lines)
    tail = f"; and {more} more bad lines" if more > 0 else ""
    return f"The input manifest has {error.bad_count} invalid lines: {shown}{tail}."


def manifest_ingest(*, job_id: int) -> Job:
    """Read the input manifest as a stream and create one data object per line, all or nothing.

    Any bad line fails the job and leaves no object behind; so does a budget the requester's
    balance cannot cover.
    """
    job = Job.objects.select_related("organization").get(pk=job_id)
    if job.status != Job.Status.INITIALIZING:
        return job
    try:
        with transaction.atomic():
            count = _data_objects_create(job=job)
            if count == 0:
                raise _ManifestInvalid([(0, "the manifest has no objects")], 1)
            return jobs.job_start(job=job, object_count=count)
    except _ManifestInvalid as error:
        return jobs.job_fail(job=job, reason=_failure_reason(error))
    except storage.StorageErrors as error:
        return jobs.job_fail(
            job=job, reason=f"The input manifest {job.input_manifest_uri} cannot be read: {error}."
        )
    except UnicodeDecodeError:
        return jobs.job_fail(job=job, reason="The input manifest is not UTF-8 text.")
    except ApplicationError as error:
        return jobs.job_fail(job=job, reason=error.message)


def _data_objects_create(*, job: Job) -> int:
    batch: list[DataObject] = []
    bad: list[tuple[int, str]] = []
    bad_count = position = 0
    for number, raw in enumerate(storage.iter_lines(job.input_manifest_uri), start=1):
        if not raw.strip():
            continue
        try:
            record = manifest_input.parse_input_line(raw, task_type=job.task_type)
        except manifest_input.InvalidLine as error:
            bad_count += 1
            if len(bad) < MAX_REPORTED_BAD_LINES:
                bad.append((number, str(error)))
            continue
        if bad_count:
            continue  # keep validating, but stop writing: the job will fail
        batch.append(
            DataObject(
                job=job,
                position=position,
                input_line=record.input_line,
                source_ref=record.source_ref,
                source=record.source,
            )
        )
        position += 1
        if len(batch) >= INGEST_BATCH_SIZE:
            DataObject.objects.bulk_create(batch)
            batch = []
    if bad_count:
        raise _ManifestInvalid(bad, bad_count)
    DataObject.objects.bulk_create(batch)
    return position
