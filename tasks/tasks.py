from botocore.exceptions import BotoCoreError, ClientError
from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval

from tasks import hooks, services
from tasks.manifests import ingest
from tasks.manifests import output as manifest_output

HOOK_RETRIES = 5
HOOK_RETRY_BACKOFF_SECONDS = 5  # 5, 10, 20, 40, 80 s at most (full jitter)
HOOK_RETRY_BACKOFF_MAX_SECONDS = 600


@shared_task(acks_late=True)
def manifest_ingest_task(job_id: int) -> None:
    ingest.manifest_ingest(job_id=job_id)


@shared_task(bind=True, acks_late=True, max_retries=HOOK_RETRIES)
def data_object_consolidate_task(self, data_object_id: int) -> None:
    """A post-annotation hook that may answer later is tried again with exponential backoff;
    when it fails for good the job fails."""
    try:
        services.data_object_consolidate(data_object_id=data_object_id)
    except hooks.HookError as error:
        if error.retryable and self.request.retries < self.max_retries:
            countdown = get_exponential_backoff_interval(
                factor=HOOK_RETRY_BACKOFF_SECONDS,
                retries=self.request.retries,
                maximum=HOOK_RETRY_BACKOFF_MAX_SECONDS,
                full_jitter=True,
            )
            raise self.retry(exc=error, countdown=countdown) from None
        services.data_object_consolidation_fail(
            data_object_id=data_object_id, error=error, attempts=self.request.retries + 1
        )


@shared_task(acks_late=True)
def data_objects_consolidate_task(job_id: int) -> None:
    """The job's consolidation run: every object with all its answers is labeled."""
    services.data_objects_consolidate(job_id=job_id)


@shared_task
def jobs_escrow_settle_task() -> None:
    """Beat: ended jobs give back the escrow they no longer need (answers paid, reversal
    windows closed)."""
    services.jobs_escrow_settle_due()


@shared_task
def consolidation_runs_requeue_task() -> None:
    """Beat: queue again the consolidation runs queued a while ago that never started (their
    message lost with a broker or a worker)."""
    for job_id in services.consolidation_runs_overdue():
        data_objects_consolidate_task.delay(job_id)


@shared_task(
    acks_late=True,
    autoretry_for=(BotoCoreError, ClientError, OSError),
    retry_backoff=True,
    max_retries=5,
)
def job_finalize_task(job_id: int) -> None:
    services.job_finalize(job_id=job_id)


@shared_task
def assignments_expire_task() -> None:
    services.assignments_expire()


@shared_task
def data_objects_expire_task() -> None:
    """Beat: objects whose availability lifetime ran out are consolidated or failed."""
    services.data_objects_expire()


@shared_task
def worker_skills_estimate_task() -> None:
    """Beat: re-estimate worker skill for the organisations with answers since their last
    estimate."""
    services.worker_skills_estimate_due()


@shared_task
def assignments_auto_approve_task() -> None:
    services.assignments_auto_approve()


@shared_task(
    acks_late=True,
    autoretry_for=(BotoCoreError, ClientError, OSError),
    retry_backoff=True,
    max_retries=5,
)
def job_stop_finalize_task(job_id: int) -> None:
    services.job_stop_finalize(job_id=job_id)


@shared_task(
    acks_late=True,
    autoretry_for=(BotoCoreError, ClientError, OSError),
    retry_backoff=True,
    max_retries=5,
)
def data_objects_annotations_write_task(data_object_ids: list[int]) -> None:
    for data_object_id in data_object_ids:
        manifest_output.data_object_annotations_write(data_object_id=data_object_id)


@shared_task
def manifests_intermediate_schedule_task() -> None:
    """Beat: queue a rewrite of the intermediate manifest of each job that labeled something."""
    for job_id in manifest_output.intermediate_manifest_jobs_due():
        manifest_intermediate_write_task.delay(job_id)


@shared_task(acks_late=True)
def manifest_intermediate_write_task(job_id: int) -> None:
    # No retry: the next beat run writes it again if this one failed.
    manifest_output.intermediate_manifest_write(job_id=job_id)
