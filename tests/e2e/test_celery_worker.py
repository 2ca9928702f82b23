"""The manifest pipeline through a real Celery worker and the Redis broker (not eager mode):
proves the task routes and queues that `make run` and production workers consume."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from marketplace.api.serializers import JobSpecInput
from marketplace.celery import app as celery_app
from marketplace.models import Job
from marketplace.services import jobs
from payments.services import ledger as payments
from tests.factories import job_spec, put_manifest

pytestmark = pytest.mark.django_db(transaction=True)

QUEUES = ["default", "manifests", "payouts"]


@pytest.fixture
def real_worker():
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "make test runs Celery on Redis"
    celery_app.conf.task_always_eager = False
    try:
        with celery_app.connection_for_write() as connection:
            for queue in QUEUES:  # drop messages a previous run may have left
                connection.default_channel.queue_purge(queue)
        with start_worker(celery_app, perform_ping_check=False, queues=QUEUES, shutdown_timeout=30):
            yield
    finally:
        celery_app.conf.task_always_eager = True


def test_a_worker_reads_the_manifest_from_its_queue(organization, real_worker):
    assert celery_app.conf.task_always_eager is False
    payments.funding_record(owner=organization.ledger_owner, amount_mills=10_000, reference="f")
    put_manifest(
        "s3://groundwork-test/input/pets.manifest",
        [{"source-ref": f"s3://groundwork-test/{n}.png"} for n in range(3)],
    )
    spec = JobSpecInput(data=job_spec())
    spec.is_valid(raise_exception=True)

    job = jobs.job_create(
        organization=organization,
        created_by=organization.memberships.get().user,
        spec=spec.validated_data,
    )

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status != Job.Status.INITIALIZING:
            break
        time.sleep(0.1)
    assert (job.status, job.object_count) == (Job.Status.IN_PROGRESS, 3)
