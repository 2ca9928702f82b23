"""Shared fixtures: an S3-compatible endpoint over HTTP, Celery run in-process, clients per role."""

import pytest
import requests
from django.core.cache import cache
from moto.server import ThreadedMotoServer
from rest_framework.test import APIClient

from marketplace.celery import app as celery_app
from tasks import storage
from tests import stripe_fake
from tests.factories import OrganizationFactory, WorkerFactory
from workforce.services import accounts

TEST_BUCKET = "groundwork-test"

# Tasks run in the test process as soon as they are sent (after the commit that sent them).
celery_app.conf.task_always_eager = True
celery_app.conf.task_eager_propagates = True
# Import every app's tasks module as a worker does, so tasks sent by name run eagerly too.
celery_app.loader.import_default_modules()


@pytest.fixture(scope="session")
def s3_endpoint() -> str:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def object_storage(settings, s3_endpoint):
    """Every test talks to a fresh S3 endpoint over HTTP, with the platform bucket created."""
    settings.OBJECT_STORAGE = "s3"
    settings.S3_ENDPOINT_URL = s3_endpoint
    settings.AWS_ACCESS_KEY_ID = "testing"
    settings.AWS_SECRET_ACCESS_KEY = "testing"  # noqa: S105
    settings.S3_BUCKET = TEST_BUCKET
    storage.ensure_bucket(TEST_BUCKET)
    yield
    requests.post(f"{s3_endpoint}/moto-api/reset", timeout=10)


@pytest.fixture(autouse=True)
def isolated_cache(settings):
    """A fresh cache per test: allauth's rate limits must not carry over between tests."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    """Serve static files from the apps; production serves collectstatic's hashed copies."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(scope="session")
def stripe_server() -> stripe_fake.FakeStripe:
    fake = stripe_fake.FakeStripe()
    server = stripe_fake.serve(fake)
    yield fake
    server.shutdown()


@pytest.fixture
def stripe(settings, stripe_server) -> stripe_fake.FakeStripe:
    """Stripe configured, at a fake over HTTP (see tests/stripe_fake.py). Without this fixture
    no Stripe key is set and the platform runs on its manual rail."""
    settings.STRIPE_SECRET_KEY = "sk_test_groundwork"  # noqa: S105
    settings.STRIPE_WEBHOOK_SECRETS = [
        stripe_fake.WEBHOOK_SECRET,
        stripe_fake.CONNECT_WEBHOOK_SECRET,
    ]
    settings.STRIPE_API_BASE = stripe_server.base_url
    settings.STRIPE_CONNECT_BASE = stripe_server.base_url
    settings.STRIPE_TIMEOUT_SECONDS = 2
    stripe_server.reset()
    yield stripe_server
    stripe_server.reset()


def stripe_webhook_post(
    client: APIClient, event: dict, *, secret: str = stripe_fake.WEBHOOK_SECRET
):
    """Deliver an event to the webhook endpoint as Stripe does: signed, raw JSON."""
    payload, signature = stripe_fake.signed(event, secret=secret)
    return client.generic(
        "POST",
        "/api/v1/webhooks/stripe",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def bearer_client(user) -> APIClient:
    _, raw_key = accounts.api_key_create(user=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


@pytest.fixture
def organization():
    return OrganizationFactory()


@pytest.fixture
def requester(organization):
    return organization.memberships.get().user


@pytest.fixture
def requester_client(requester) -> APIClient:
    return bearer_client(requester)


@pytest.fixture
def worker():
    return WorkerFactory()


@pytest.fixture
def worker_client(worker) -> APIClient:
    return bearer_client(worker.user)


# Accounts whose balance may go below zero: money that came from outside passes through them.
MAY_BE_NEGATIVE = {"funding_clearing"}
# A requester's available balance may go below zero only once a refund or a dispute took back
# money already spent or in escrow: a debt, allowed for that owner alone.
DEBT_AFTER = {"refund", "dispute"}


@pytest.fixture(autouse=True)
def ledger_invariants(request):
    """After every test that used the database: every ledger transaction sums to zero (so the
    ledger does), and no account is negative but those that may be."""
    yield
    if request.node.get_closest_marker("django_db") is None:
        return
    from django.db.models import Sum

    from payments.models import LedgerEntry

    unbalanced = list(
        LedgerEntry.objects.values("transaction__idempotency_key")
        .annotate(total=Sum("amount_mills"))
        .exclude(total=0)
    )
    assert unbalanced == [], f"unbalanced ledger transactions: {unbalanced}"
    negative = list(
        LedgerEntry.objects.exclude(account__kind__in=MAY_BE_NEGATIVE)
        .values("account__kind", "account__owner")
        .annotate(balance=Sum("amount_mills"))
        .filter(balance__lt=0)
    )
    in_debt = set(
        LedgerEntry.objects.filter(
            account__kind="requester_available", transaction__kind__in=DEBT_AFTER
        ).values_list("account__owner", flat=True)
    )
    negative = [
        row
        for row in negative
        if not (row["account__kind"] == "requester_available" and row["account__owner"] in in_debt)
    ]
    assert negative == [], f"accounts below zero: {negative}"
    _assert_assignments_paid_at_most_once_and_only_when_approved()
    _assert_payouts_match_the_ledger()


def _assert_assignments_paid_at_most_once_and_only_when_approved() -> None:
    """An approval earning is keyed on its assignment, so it exists at most once; it must also
    belong to an assignment that is approved now (a rejection is never paid)."""
    from payments.models import LedgerTransaction
    from tasks.models import Assignment

    keys = LedgerTransaction.objects.filter(
        kind="earning", idempotency_key__regex=r"^assignment:[0-9]+:approval$"
    ).values_list("idempotency_key", flat=True)
    paid = [int(key.split(":")[1]) for key in keys]
    assert len(paid) == len(set(paid)), f"assignments paid twice: {sorted(paid)}"
    not_approved = list(
        Assignment.objects.filter(pk__in=paid)
        .exclude(status=Assignment.Status.APPROVED)
        .values_list("pk", "status")
    )
    assert not_approved == [], f"paid assignments that are not approved: {not_approved}"


def _assert_payouts_match_the_ledger() -> None:
    """What a payee has in payouts in flight is exactly the sum of their payouts not sent yet;
    a payout sent was posted as sent, and a rejected or failed one gave its amount back."""
    from django.db.models import Sum

    from payments.models import LedgerEntry, Payout

    in_flight = dict(
        LedgerEntry.objects.filter(account__kind="payouts_in_flight")
        .values_list("account__owner")
        .annotate(total=Sum("amount_mills"))
        .exclude(total=0)
    )
    unsent = dict(
        Payout.objects.filter(status__in=["in_review", "held", "approved"])
        .values_list("owner")
        .annotate(total=Sum("amount_mills"))
    )
    assert in_flight == unsent, f"payouts in flight {in_flight} but unsent payouts {unsent}"
    sent = _payout_ids_posted(kind="payout_sent")
    returned = _payout_ids_posted(kind="payout_return")
    by_status = dict(Payout.objects.values_list("pk", "status"))
    assert {pk for pk, status in by_status.items() if status in ("sent", "paid")} <= sent
    assert {pk for pk, status in by_status.items() if status in ("failed", "rejected")} <= returned
    assert {by_status[pk] for pk in sent} <= {"sent", "paid", "failed"}, "sent, yet not sent"
    assert {by_status[pk] for pk in returned} <= {"failed", "rejected"}, "returned, yet open"


def _payout_ids_posted(*, kind: str) -> set[int]:
    """The payouts a ledger transaction of this kind was posted for (keys `payout:<id>:...`)."""
    from payments.models import LedgerTransaction

    keys = LedgerTransaction.objects.filter(kind=kind).values_list("idempotency_key", flat=True)
    return {int(key.split(":")[1]) for key in keys}
