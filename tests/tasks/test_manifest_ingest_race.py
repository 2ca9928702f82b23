"""The ingest task delivered twice at once (acks_late redelivery) on PostgreSQL."""

import pytest

from marketplace.models import Job
from payments.models import LedgerEntry
from payments.services import ledger as payments
from tasks.manifests import ingest
from tasks.models import DataObject
from tests.concurrency import run_concurrently
from tests.factories import put_manifest

pytestmark = pytest.mark.django_db(transaction=True)

MANIFEST = "s3://groundwork-test/input/race.manifest"


def test_concurrent_runs_create_the_objects_once(organization, requester):
    payments.funding_record(owner=organization.ledger_owner, amount_mills=100_000, reference="f")
    put_manifest(MANIFEST, [{"source-ref": f"s3://groundwork-test/{n}.png"} for n in range(50)])
    job = Job.objects.create(  # not job_create: its on-commit task would ingest right away
        organization=organization,
        created_by=requester,
        name="race",
        label_attribute_name="animal",
        task_type=Job.TaskType.IMAGE_CLASSIFICATION,
        input_manifest_uri=MANIFEST,
        output_path="s3://groundwork-test/output/",
        labels=["cat", "dog"],
        title="Cat or dog?",
        description="Pick the animal.",
        workers_per_object=1,
        reward_per_task_mills=50,
    )

    outcomes = run_concurrently(3, lambda i: ingest.manifest_ingest(job_id=job.pk))

    assert [outcome.error for outcome in outcomes] == [None, None, None]
    job.refresh_from_db()
    assert (job.status, job.object_count) == (Job.Status.IN_PROGRESS, 50)
    assert DataObject.objects.filter(job=job).count() == 50
    assert LedgerEntry.objects.filter(account__kind="job_escrow").count() == 1
    assert list(job.events.values_list("to_status", flat=True)) == ["InProgress"]
