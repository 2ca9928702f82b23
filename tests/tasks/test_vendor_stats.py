"""The vendor's statistics of its workers (`vendor/workers`) and its balances
(`vendor/earnings`): exact numbers, the vendor's own workers and jobs only, constant queries."""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from marketplace.services import offers
from payments.models import LedgerAccount, LedgerTransaction
from payments.services import ledger as payments
from tasks import aggregates, services
from tasks.models import Assignment
from tests.conftest import bearer_client
from tests.factories import OrganizationFactory, UserFactory, WorkerFactory, job_in_progress
from tests.marketplace.test_vendor_offers import join, offer_of, vendor_job, vendor_with_teams
from workforce.models import VendorManager, Worker

pytestmark = pytest.mark.django_db

ANSWER = {"crowd-image-classifier": {"label": "cat"}}


def work(worker, job, *, at, seconds: float, review: str | None = None) -> Assignment:
    """The worker claims the job's next object at `at` and answers `seconds` later; the
    requester then approves or rejects the answer, or leaves it for review."""
    with mock.patch("django.utils.timezone.now", return_value=at):
        assignment, created = services.assignment_claim(worker=worker, job=job)
    assert created
    with mock.patch("django.utils.timezone.now", return_value=at + timedelta(seconds=seconds)):
        assignment = services.assignment_submit(assignment=assignment, answer=ANSWER)
    if review == "approve":
        services.assignment_approve(assignment=assignment)
    elif review == "reject":
        services.assignment_reject(assignment=assignment, reason="Wrong animal.")
    return assignment


def accepted_vendor_job(organization, vendor, manager, team, **kwargs):
    job = vendor_job(organization, vendor, **kwargs)
    offers.vendor_offer_accept(offer=offer_of(job), team=team, responded_by=manager)
    return job


@pytest.fixture
def staffed(organization):
    """Vendor teams Alpha (Ana, Ben, Dee) and Beta (Ana, Cy), with work on two of the vendor's
    jobs, and work of Ana's elsewhere that the vendor must not count."""
    now = timezone.now()
    vendor, manager, (alpha, beta) = vendor_with_teams("Alpha", "Beta")
    ana, ben, cy, dee = (WorkerFactory(display_name=name) for name in ("Ana", "Ben", "Cy", "Dee"))
    join(alpha, ana, ben, dee)
    join(beta, ana, cy)
    # There is no gold service yet; these are the counters it keeps.
    Worker.objects.filter(pk=ana.pk).update(gold_answered_count=4, gold_correct_count=3)

    # pets: $0.100 per object, 2 workers per object
    pets = accepted_vendor_job(
        organization, vendor, manager, alpha, name="pets", workers_per_object=2
    )
    work(ana, pets, at=now - timedelta(days=10), seconds=30, review="approve")
    work(ana, pets, at=now - timedelta(days=1), seconds=60, review="reject")
    work(ana, pets, at=now - timedelta(hours=20), seconds=90)
    work(ben, pets, at=now - timedelta(days=2), seconds=20, review="approve")
    work(ben, pets, at=now - timedelta(hours=40), seconds=40, review="approve")
    # cars: $0.100 per object, 3 workers per object: a third of the price per approved answer
    cars = accepted_vendor_job(
        organization, vendor, manager, alpha, name="cars", objects=2, workers_per_object=3
    )
    work(dee, cars, at=now - timedelta(days=3), seconds=10, review="approve")
    work(dee, cars, at=now - timedelta(hours=70), seconds=15, review="approve")

    # Ana also works for another vendor and for the public crowd
    other, other_manager, (elsewhere,) = vendor_with_teams("Alpha")
    join(elsewhere, ana)
    boats = accepted_vendor_job(
        organization, other, other_manager, elsewhere, name="boats", objects=1, price="0.500"
    )
    work(ana, boats, at=now - timedelta(hours=5), seconds=5, review="approve")
    public = job_in_progress(organization, objects=2, name="public-job")
    work(ana, public, at=now - timedelta(hours=4), seconds=7, review="approve")
    work(WorkerFactory(display_name="Outsider"), public, at=now, seconds=3)

    return {
        "vendor": vendor,
        "manager": manager,
        "other_manager": other_manager,
        "workers": (ana, ben, cy, dee),
        "alpha": alpha,
        "pets": pets,
    }


def expected_rows(staffed) -> list[dict]:
    ana, ben, cy, dee = staffed["workers"]
    return [
        {
            "worker_id": f"worker-{ana.pk}",
            "display_name": "Ana",
            "teams": ["Alpha", "Beta"],
            "tasks_submitted": 3,
            "tasks_approved": 1,
            "tasks_rejected": 1,
            "tasks_submitted_last_7_days": 2,
            "median_seconds_per_task": 60.0,
            "approval_rate_percent": 50.0,
            "gold_accuracy_percent": 75.0,
            "skill_accuracy": None,
            "earnings_generated": "0.050",
        },
        {
            "worker_id": f"worker-{ben.pk}",
            "display_name": "Ben",
            "teams": ["Alpha"],
            "tasks_submitted": 2,
            "tasks_approved": 2,
            "tasks_rejected": 0,
            "tasks_submitted_last_7_days": 2,
            "median_seconds_per_task": 30.0,
            "approval_rate_percent": 100.0,
            "gold_accuracy_percent": None,
            "skill_accuracy": None,
            "earnings_generated": "0.100",
        },
        {
            "worker_id": f"worker-{cy.pk}",
            "display_name": "Cy",
            "teams": ["Beta"],
            "tasks_submitted": 0,
            "tasks_approved": 0,
            "tasks_rejected": 0,
            "tasks_submitted_last_7_days": 0,
            "median_seconds_per_task": None,
            "approval_rate_percent": None,
            "gold_accuracy_percent": None,
            "skill_accuracy": None,
            "earnings_generated": "0.000",
        },
        {
            "worker_id": f"worker-{dee.pk}",
            "display_name": "Dee",
            "teams": ["Alpha"],
            "tasks_submitted": 2,
            "tasks_approved": 2,
            "tasks_rejected": 0,
            "tasks_submitted_last_7_days": 2,
            "median_seconds_per_task": 12.5,
            "approval_rate_percent": 100.0,
            "gold_accuracy_percent": None,
            "skill_accuracy": None,
            # two thirds of 100 mills, summed exactly, then rounded: 66.67 → 67
            "earnings_generated": "0.067",
        },
    ]


def test_the_vendor_sees_exact_statistics_of_its_own_workers_on_its_own_jobs(staffed):
    client = bearer_client(staffed["manager"])

    response = client.get("/api/v1/vendor/workers")

    assert response.status_code == 200
    assert response.json() == {
        "count": 4,
        "next": None,
        "previous": None,
        "results": expected_rows(staffed),
    }


def test_the_medians_are_the_same_where_the_database_has_no_median(staffed):
    answered = Assignment.objects.filter(
        job__vendor=staffed["vendor"], status__in=Assignment.ANSWERED
    )
    ana, ben, _, dee = staffed["workers"]

    assert aggregates.median_task_seconds_in_python(answered, by="worker_id") == {
        ana.pk: 60.0,
        ben.pk: 30.0,
        dee.pk: 12.5,
    }


def test_another_vendor_sees_only_its_own_workers(staffed):
    ana, *_ = staffed["workers"]

    rows = bearer_client(staffed["other_manager"]).get("/api/v1/vendor/workers").json()

    assert rows["count"] == 1
    (row,) = rows["results"]
    assert (row["worker_id"], row["teams"], row["tasks_submitted"], row["tasks_approved"]) == (
        ana.public_id, ["Alpha"], 1, 1,
    )  # fmt: skip
    assert (row["earnings_generated"], row["gold_accuracy_percent"]) == ("0.500", 75.0)


def test_the_statistics_take_the_same_queries_for_four_workers_or_twelve(
    staffed, organization, django_assert_max_num_queries
):
    client = bearer_client(staffed["manager"])
    client.get("/api/v1/vendor/workers")  # the key's first use writes last_used_at
    with CaptureQueriesContext(connection) as four:
        assert client.get("/api/v1/vendor/workers").json()["count"] == 4
    trains = accepted_vendor_job(
        organization, staffed["vendor"], staffed["manager"], staffed["alpha"], name="trains",
        objects=8, workers_per_object=1,
    )  # fmt: skip
    now = timezone.now()
    for _ in range(8):
        extra = WorkerFactory()
        join(staffed["alpha"], extra)
        work(extra, trains, at=now, seconds=12, review="approve")

    with django_assert_max_num_queries(len(four)):
        body = client.get("/api/v1/vendor/workers").json()

    assert body["count"] == 12
    assert len(four) <= 10


def balances(earnings: dict) -> dict:
    """vendor/earnings without its list of earnings (tested in test_earnings_api.py)."""
    return {k: v for k, v in earnings.items() if k not in ("count", "next", "previous", "results")}


def test_the_vendor_sees_its_pending_and_available_earnings(staffed):
    vendor = staffed["vendor"]
    client = bearer_client(staffed["manager"])
    # pets: objects 0 and 1 approved; cars: objects 0 and 1 approved; $0.100 each
    before = client.get("/api/v1/vendor/earnings").json()
    # The hold release is not built yet: move 150 mills to available as it will.
    payments.ledger_post(
        idempotency_key="test:vendor-release",
        kind=LedgerTransaction.Kind.EARNING,
        entries=[
            (
                payments.account_get(
                    kind=LedgerAccount.Kind.VENDOR_PENDING, owner=vendor.ledger_owner
                ),
                -150,
            ),
            (
                payments.account_get(
                    kind=LedgerAccount.Kind.VENDOR_AVAILABLE, owner=vendor.ledger_owner
                ),
                150,
            ),
        ],
    )

    after = client.get("/api/v1/vendor/earnings").json()

    assert balances(before) == {
        "pending": "0.400",
        "pending_mills": 400,
        "available": "0.000",
        "available_mills": 0,
        "in_payout": "0.000",
        "in_payout_mills": 0,
        "paid": "0.000",
        "paid_mills": 0,
    }
    assert balances(after) == {
        "pending": "0.250",
        "pending_mills": 250,
        "available": "0.150",
        "available_mills": 150,
        "in_payout": "0.000",
        "in_payout_mills": 0,
        "paid": "0.000",
        "paid_mills": 0,
    }
    assert before["count"] == 4  # the approved objects behind the balance
    assert (
        bearer_client(staffed["other_manager"]).get("/api/v1/vendor/earnings").json()["pending"]
        == "0.500"
    )


@pytest.mark.parametrize("url", ["/api/v1/vendor/workers", "/api/v1/vendor/earnings"])
@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("anonymous", 401),
        ("worker", 403),
        ("requester", 403),
        ("manager without MFA", 403),
        ("manager", 200),
        ("new vendor's manager", 200),
    ],
)
def test_only_the_vendors_managers_with_mfa_see_its_statistics(staffed, url, role, status):
    if role == "anonymous":
        client = APIClient()
    elif role == "worker":
        client = bearer_client(staffed["workers"][0].user)
    elif role == "requester":
        client = bearer_client(OrganizationFactory().memberships.get().user)
    elif role == "manager without MFA":
        user = UserFactory()
        VendorManager.objects.create(vendor=staffed["vendor"], user=user)
        client = bearer_client(user)
    elif role == "manager":
        client = bearer_client(staffed["manager"])
    else:
        client = bearer_client(vendor_with_teams()[1])

    response = client.get(url)

    assert response.status_code == status
    body = response.json()
    if role == "manager without MFA":
        assert body["code"] == "mfa_required"
    if role == "new vendor's manager":  # a vendor with no work sees nothing of anyone else's
        assert body == (
            {"count": 0, "next": None, "previous": None, "results": []}
            if url.endswith("workers")
            else {
                "pending": "0.000",
                "pending_mills": 0,
                "available": "0.000",
                "available_mills": 0,
                "in_payout": "0.000",
                "in_payout_mills": 0,
                "paid": "0.000",
                "paid_mills": 0,
                "count": 0,
                "next": None,
                "previous": None,
                "results": [],
            }
        )
