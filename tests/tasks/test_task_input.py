"""What a worker is given to label, per task type."""

import pytest

from payments.services import ledger as payments
from tasks import services as queue
from tasks import storage
from tasks.manifests import ingest
from tests.factories import job_created, put_manifest

pytestmark = pytest.mark.django_db

MANIFEST = "s3://groundwork-test/input/reviews.manifest"


def text_job(organization, lines):
    payments.funding_record(owner=organization.ledger_owner, amount_mills=10_000, reference="f")
    put_manifest(MANIFEST, lines)
    job = job_created(
        organization,
        name="reviews",
        task_type="text_classification",
        input_manifest_uri=MANIFEST,
        workers_per_object=1,
    )
    ingest.manifest_ingest(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == job.Status.IN_PROGRESS, job.failure_reason
    return job


def claim_and_fetch(job, worker, worker_client) -> dict:
    assignment, _ = queue.assignment_claim(worker=worker, job=job)
    return worker_client.get(f"/api/v1/worker/assignments/{assignment.pk}").json()["task_input"]


def test_a_text_task_gives_the_text_whether_inline_or_in_a_txt_object(
    organization, worker, worker_client
):
    storage.write("s3://groundwork-test/texts/b.txt", ["Un très bon film.\n".encode()])
    job = text_job(
        organization,
        [{"source": "Great film."}, {"source-ref": "s3://groundwork-test/texts/b.txt"}],
    )

    first = claim_and_fetch(job, worker, worker_client)
    queue.assignment_submit(
        assignment=queue.assignment_claim(worker=worker, job=job)[0],
        answer={"crowd-classifier": {"label": "cat"}},
    )
    second = claim_and_fetch(job, worker, worker_client)

    assert first == {"taskObject": "Great film."}
    assert second == {"taskObject": "Un très bon film.\n"}


def test_a_missing_text_object_is_said_plainly(organization, worker, worker_client):
    job = text_job(organization, [{"source-ref": "s3://groundwork-test/texts/gone.txt"}])

    assert claim_and_fetch(job, worker, worker_client) == {
        "taskObject": "",
        "taskObjectError": "The text of this task cannot be read.",
    }
