"""The walking skeleton through the HTTP API, on PostgreSQL and an S3 endpoint over HTTP:
job → data objects → claim → submit → labeled → Completed with output.manifest → approve → ledger.
"""

import json
import re

import pytest
import requests

from payments import selectors as ledger
from payments.models import LedgerAccount, LedgerTransaction
from payments.services import ledger as payments
from tasks import storage
from tasks.manifests import output as manifests
from tasks.models import DataObject
from tests.factories import job_spec, put_manifest

pytestmark = pytest.mark.django_db(transaction=True)

IMAGES = {
    "s3://groundwork-test/images/cat.png": b"\x89PNG cat bytes",
    "s3://groundwork-test/images/dog.png": b"\x89PNG dog bytes",
}


def test_requester_to_ledger(organization, requester_client, worker, worker_client):
    # Given a funded requester and images with an input manifest in S3
    payments.funding_record(owner=organization.ledger_owner, amount_mills=1_000, reference="t-1")
    for uri, data in IMAGES.items():
        storage.write(uri, [data], content_type="image/png")
    put_manifest(
        "s3://groundwork-test/input/pets.manifest",
        [{"source-ref": uri, "batch": "b1"} for uri in IMAGES],
    )

    # When the requester creates a public image-classification job
    created = requester_client.post("/api/v1/labeling-jobs", job_spec(), format="json")
    assert created.status_code == 201, created.json()
    job = requester_client.get("/api/v1/labeling-jobs/pets").json()
    assert job["status"] == "InProgress"
    assert job["label_counters"] == {
        "total_labeled": 0,
        "human_labeled": 0,
        "machine_labeled": 0,
        "failed_non_retryable_error": 0,
        "unlabeled": 2,
    }

    # Then the worker sees it on the board, claims both objects in turn and labels them
    board = worker_client.get("/api/v1/worker/jobs").json()
    assert [(j["id"], j["tasks_available"], j["reward_per_task"]) for j in board["results"]] == [
        (job["id"], 2, "0.050")
    ]
    claim_url = f"/api/v1/worker/jobs/{job['id']}/assignments"
    for expected_uri, label in zip(IMAGES, ["cat", "dog"], strict=True):
        claimed = worker_client.post(claim_url)
        assert claimed.status_code == 201
        task = claimed.json()
        assert task["job"]["labels"] == ["cat", "dog"]
        image = requests.get(task["task_input"]["taskObject"], timeout=10)
        assert image.status_code == 200
        assert image.content == IMAGES[expected_uri]

        submitted = worker_client.post(
            f"/api/v1/worker/assignments/{task['id']}/submit",
            {"crowd-image-classifier": {"label": label}},
            format="json",
        )
        assert submitted.status_code == 200, submitted.json()
        assert submitted.json()["status"] == "submitted"

    assert worker_client.post(claim_url).status_code == 204

    # And the job is Completed with the Ground Truth output manifest in S3
    job = requester_client.get("/api/v1/labeling-jobs/pets").json()
    assert job["status"] == "Completed"
    assert job["label_counters"]["human_labeled"] == 2
    assert job["output_manifest_uri"] == (
        "s3://groundwork-test/output/pets/manifests/output/output.manifest"
    )
    dates = [
        manifests.creation_date(moment)
        for moment in DataObject.objects.order_by("position").values_list("labeled_at", flat=True)
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", d) for d in dates)
    lines = storage.read_bytes(job["output_manifest_uri"]).decode().splitlines()
    assert lines == [
        '{"source-ref":"s3://groundwork-test/images/cat.png","batch":"b1","animal":0,'
        '"animal-metadata":{"class-name":"cat","confidence":0.0,'
        '"type":"groundtruth/image-classification","job-name":"labeling-job/pets",'
        f'"human-annotated":"yes","creation-date":"{dates[0]}"}}}}',
        '{"source-ref":"s3://groundwork-test/images/dog.png","batch":"b1","animal":1,'
        '"animal-metadata":{"class-name":"dog","confidence":0.0,'
        '"type":"groundtruth/image-classification","job-name":"labeling-job/pets",'
        f'"human-annotated":"yes","creation-date":"{dates[1]}"}}}}',
    ]
    assert all(json.loads(line) for line in lines)

    # When the requester approves the work
    review = requester_client.get("/api/v1/labeling-jobs/pets/assignments").json()["results"]
    assert [a["status"] for a in review] == ["submitted", "submitted"]
    first = review[0]["id"]
    approved = requester_client.post(f"/api/v1/labeling-jobs/pets/assignments/{first}/approve")
    assert approved.status_code == 200
    again = requester_client.post(f"/api/v1/labeling-jobs/pets/assignments/{first}/approve")
    assert again.status_code == 200

    # Then one balanced transaction moves the reward to the worker's pending earnings
    earning = LedgerTransaction.objects.get(kind=LedgerTransaction.Kind.EARNING)
    entries = sorted(
        (e.account.kind, e.account.owner, e.amount_mills)
        for e in earning.entries.select_related("account")
    )
    escrow_owner = f"job:{job['id']}"
    assert entries == [
        (LedgerAccount.Kind.JOB_ESCROW, escrow_owner, -140),  # 50 reward + 10 fee + 80 service
        (LedgerAccount.Kind.PLATFORM_FEE_REVENUE, "platform", 90),
        (LedgerAccount.Kind.WORKER_PENDING, f"worker:{worker.pk}", 50),
    ]
    # escrow held 2 objects x (50 + 10 + 80) = 280 of the 1000 funded
    assert (
        ledger.balance_mills(
            kind=LedgerAccount.Kind.REQUESTER_AVAILABLE, owner=organization.ledger_owner
        )
        == 720
    )
    assert ledger.balance_mills(kind=LedgerAccount.Kind.JOB_ESCROW, owner=escrow_owner) == 140
    balance = requester_client.get("/api/v1/balance").json()
    assert balance == {"available": "0.720", "available_mills": 720}
