from celery import shared_task

from marketplace.services import jobs


@shared_task
def jobs_expire_task() -> None:
    jobs.jobs_expire()
