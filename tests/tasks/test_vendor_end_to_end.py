"""A vendor job from end to end through the API: created → offered → accepted with a team →
claimed and answered by the team's workers → approved by the requester → the vendor is paid its
price once per object (with two workers per object), the platform its fee and service fee."""

import pytest
from django.db.models import Sum

from marketplace.models import Job
from payments.models import LedgerAccount, LedgerEntry, LedgerTransaction
from payments.selectors import balance_mills
from payments.services import ledger as payments
from tasks.models import Assignment
from tests.conftest import bearer_client
from tests.factories import WorkerFactory, job_spec, put_manifest
from tests.marketplace.test_vendor_offers import join, vendor_with_teams

pytestmark = pytest.mark.django_db

Kind = LedgerAccount.Kind
FUNDS = 10_000
ANSWER = {"crowd-image-classifier": {"label": "dog"}}


def test_a_vendor_job_pays_the_vendor_once_per_object(
    organization, requester_client, django_capture_on_commit_callbacks
):
    # Given a vendor whose team Alpha has two workers, and a funded requester
    vendor, manager, (alpha,) = vendor_with_teams("Alpha")
    ana, ben = WorkerFactory(), WorkerFactory()
    join(alpha, ana, ben)
    payments.funding_record(owner=organization.ledger_owner, amount_mills=FUNDS, reference="e2e")
    spec = job_spec(
        name="dogs",
        workforce=f"vendor:{vendor.slug}",
        vendor_price_per_object="0.100",
        workers_per_object=2,
    )
    del spec["reward_per_task"]
    put_manifest(
        spec["input_manifest_uri"],
        [{"source-ref": f"s3://groundwork-test/images/{n}.png"} for n in range(2)],
    )

    # When the requester creates the job: it starts and reserves 2 × (100 + 20 + 80) mills
    with django_capture_on_commit_callbacks(execute=True):
        created = requester_client.post("/api/v1/labeling-jobs", spec, format="json")
    assert created.status_code == 201, created.json()
    job = Job.objects.get(pk=created.json()["id"])
    assert job.status == Job.Status.IN_PROGRESS
    assert balance_mills(kind=Kind.JOB_ESCROW, owner=job.ledger_escrow_owner) == 400
    assert balance_mills(kind=Kind.REQUESTER_AVAILABLE, owner=organization.ledger_owner) == 9_600

    # And the vendor's manager accepts the offer for team Alpha
    vendor_client = bearer_client(manager)
    (offer,) = vendor_client.get("/api/v1/vendor/offers?status=pending").json()["results"]
    assert (offer["job"]["id"], offer["price_per_object"]) == (job.pk, "0.100")
    accepted = vendor_client.post(
        f"/api/v1/vendor/offers/{offer['id']}/accept", {"team_id": alpha.pk}, format="json"
    )
    assert accepted.status_code == 200

    # And both workers label both objects
    for worker in (ana, ben):
        client = bearer_client(worker.user)
        assert [j["id"] for j in client.get("/api/v1/worker/jobs").json()["results"]] == [job.pk]
        for _ in range(2):
            claimed = client.post(f"/api/v1/worker/jobs/{job.pk}/assignments")
            assert claimed.status_code == 201
            with django_capture_on_commit_callbacks(execute=True):
                submitted = client.post(
                    f"/api/v1/worker/assignments/{claimed.json()['id']}/submit",
                    ANSWER,
                    format="json",
                )
            assert submitted.status_code == 200
    job.refresh_from_db()
    assert (job.status, job.label_counters["human_labeled"]) == (Job.Status.COMPLETED, 2)

    # And the requester approves all four answers (and one twice)
    review = requester_client.get("/api/v1/labeling-jobs/dogs/assignments").json()["results"]
    assert len(review) == 4
    for assignment in [*review, review[0]]:
        approved = requester_client.post(
            f"/api/v1/labeling-jobs/dogs/assignments/{assignment['id']}/approve"
        )
        assert (approved.status_code, approved.json()["status"]) == (200, "approved")

    # Then the vendor earned its price once per object, the platform 20% of it plus 80 mills
    # per object, all of it from escrow; the workers are not paid by the platform
    assert Assignment.objects.filter(job=job, status="approved").count() == 4
    assert balance_mills(kind=Kind.VENDOR_PENDING, owner=vendor.ledger_owner) == 200
    assert balance_mills(kind=Kind.PLATFORM_FEE_REVENUE, owner=payments.PLATFORM) == 200
    assert balance_mills(kind=Kind.JOB_ESCROW, owner=job.ledger_escrow_owner) == 0
    assert balance_mills(kind=Kind.REQUESTER_AVAILABLE, owner=organization.ledger_owner) == 9_600
    for worker in (ana, ben):
        assert balance_mills(kind=Kind.WORKER_PENDING, owner=worker.ledger_owner) == 0
    earnings = LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.EARNING)
    assert earnings.count() == 2
    assert sorted(
        LedgerEntry.objects.filter(transaction__in=earnings).values_list(
            "account__kind", "amount_mills"
        )
    ) == sorted(
        [(Kind.JOB_ESCROW, -200), (Kind.PLATFORM_FEE_REVENUE, 100), (Kind.VENDOR_PENDING, 100)] * 2
    )
    assert LedgerEntry.objects.aggregate(total=Sum("amount_mills"))["total"] == 0

    # And the vendor sees it in its earnings and its workers' statistics
    earnings = vendor_client.get("/api/v1/vendor/earnings").json()
    assert {
        k: earnings[k] for k in ("pending", "pending_mills", "available", "available_mills")
    } == {
        "pending": "0.200",
        "pending_mills": 200,
        "available": "0.000",
        "available_mills": 0,
    }
    assert [(e["kind"], e["amount"], e["state"]) for e in earnings["results"]] == [
        ("reward", "0.100", "pending")
    ] * 2
    workers = vendor_client.get("/api/v1/vendor/workers").json()["results"]
    assert {(w["worker_id"], w["tasks_approved"], w["earnings_generated"]) for w in workers} == {
        (ana.public_id, 2, "0.100"),
        (ben.public_id, 2, "0.100"),
    }
