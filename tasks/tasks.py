from botocore.exceptions import BotoCoreError, ClientError
from celery import shared_task

from tasks import services
from tasks.manifests import ingest


@shared_task(acks_late=True)
def manifest_ingest_task(job_id: int) -> None:
    ingest.manifest_ingest(job_id=job_id)


@shared_task(acks_late=True)
def data_object_consolidate_task(data_object_id: int) -> None:
    services.data_object_consolidate(data_object_id=data_object_id)


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
