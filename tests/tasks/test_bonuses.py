"""Bonuses: a requester pays the worker of an answered assignment extra, from its available
balance plus the platform fee, with a reason the worker sees; its token makes a retry pay once."""

import pytest
from django.db.models import Sum

from payments import selectors
from payments.models import LedgerAccount, LedgerEntry, LedgerTransaction
from tasks import services
from tasks.models import Bonus
from tests.concurrency import run_concurrently
from tests.conftest import bearer_client
from tests.factories import WorkerFactory, job_in_progress

Kind = LedgerAccount.Kind
CAT = {"crowd-image-classifier": {"label": "cat"}}


def answered(organization, **spec):
    job = job_in_progress(organization, objects=2, workers_per_object=1, **spec)
    worker = WorkerFactory()
    lease, _ = services.assignment_claim(worker=worker, job=job)
    return job, worker, services.assignment_submit(assignment=lease, answer=CAT)


def bonus_url(job, assignment) -> str:
    return f"/api/v1/labeling-jobs/{job.name}/assignments/{assignment.pk}/bonus"


def available(organization) -> int:
    return selectors.balance_mills(kind=Kind.REQUESTER_AVAILABLE, owner=organization.ledger_owner)


def assert_ledger_balanced():
    assert LedgerEntry.objects.aggregate(total=Sum("amount_mills"))["total"] == 0


@pytest.mark.django_db
def test_a_bonus_pays_the_worker_and_the_fee_once_and_the_worker_sees_why(
    organization, requester_client
):
    job, worker, assignment = answered(organization)
    before = available(organization)
    body = {
        "amount": "0.500",
        "reason": "Careful work on hard images.",
        "unique_request_token": "b-1",
    }

    response = requester_client.post(bonus_url(job, assignment), body, format="json")

    assert response.status_code == 201, response.content
    paid = response.json()
    assert (paid["amount"], paid["reason"], paid["worker_id"]) == (
        "0.500",
        "Careful work on hard images.",
        str(worker.public_id),
    )
    assert available(organization) == before - 600  # 500 and the 20 % fee
    assert selectors.balance_mills(kind=Kind.WORKER_PENDING, owner=worker.ledger_owner) == 500
    assert selectors.balance_mills(kind=Kind.PLATFORM_FEE_REVENUE, owner="platform") == 100
    assert_ledger_balanced()

    again = requester_client.post(bonus_url(job, assignment), body, format="json")
    assert (again.status_code, again.json()["id"]) == (200, paid["id"])
    assert available(organization) == before - 600
    assert LedgerTransaction.objects.filter(kind="bonus").count() == 1

    history = bearer_client(worker.user).get("/api/v1/worker/assignments").json()["results"]
    assert history[0]["bonuses"] == [
        {
            "amount": "0.500",
            "reason": "Careful work on hard images.",
            "created_at": paid["created_at"],
        }
    ]


@pytest.mark.django_db
def test_a_token_sent_again_for_another_bonus_is_refused(organization, requester_client):
    job, _, assignment = answered(organization)
    body = {"amount": "0.100", "reason": "Thanks.", "unique_request_token": "b-1"}
    assert requester_client.post(bonus_url(job, assignment), body, format="json").status_code == 201

    response = requester_client.post(
        bonus_url(job, assignment), {**body, "amount": "0.200"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_conflict"
    assert Bonus.objects.get().amount_mills == 100


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("amount", "field"),
    [("0.0001", "amount"), ("-1.000", "amount"), ("0.000", "amount"), ("lots", "amount")],
)
def test_a_bad_amount_is_refused_with_nothing_paid(organization, requester_client, amount, field):
    job, _, assignment = answered(organization)
    before = available(organization)

    response = requester_client.post(
        bonus_url(job, assignment),
        {"amount": amount, "reason": "Thanks.", "unique_request_token": "b-1"},
        format="json",
    )

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not Bonus.objects.exists()
    assert available(organization) == before


@pytest.mark.django_db
def test_a_bonus_beyond_the_available_balance_is_refused_with_nothing_stored(
    organization, requester_client
):
    job, _, assignment = answered(organization)
    before = available(organization)
    too_much = f"{(before // 1000) + 1}.000"

    response = requester_client.post(
        bonus_url(job, assignment),
        {"amount": too_much, "reason": "Thanks.", "unique_request_token": "b-1"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "insufficient_balance"
    assert not Bonus.objects.exists()
    assert not LedgerTransaction.objects.filter(kind="bonus").exists()
    assert available(organization) == before


@pytest.mark.django_db
def test_a_bonus_needs_a_reason(organization, requester_client):
    job, _, assignment = answered(organization)

    response = requester_client.post(
        bonus_url(job, assignment),
        {"amount": "0.100", "reason": "   ", "unique_request_token": "b-1"},
        format="json",
    )

    assert response.status_code == 400
    assert not Bonus.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_bonus_retried_at_once_with_one_token_pays_once(organization):
    job, worker, assignment = answered(organization)
    before = available(organization)

    outcomes = run_concurrently(
        4,
        lambda index: services.assignment_bonus(
            assignment=assignment,
            amount_mills=250,
            reason="Thanks.",
            unique_request_token="retry-1",
        ),
    )

    assert [outcome.error for outcome in outcomes] == [None] * 4
    assert len({outcome.value[0].pk for outcome in outcomes}) == 1
    assert sorted(outcome.value[1] for outcome in outcomes) == [False, False, False, True]
    assert Bonus.objects.count() == 1
    assert LedgerTransaction.objects.filter(kind="bonus").count() == 1
    assert available(organization) == before - 300
    assert selectors.balance_mills(kind=Kind.WORKER_PENDING, owner=worker.ledger_owner) == 250
    assert_ledger_balanced()
