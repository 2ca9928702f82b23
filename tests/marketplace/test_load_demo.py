from io import StringIO

import pytest
from django.core.management import call_command

from marketplace.models import Job
from payments import selectors as ledger
from tasks import storage
from workforce.models import ApiKey, User
from workforce.selectors import accounts as workforce

pytestmark = pytest.mark.django_db


def test_the_demo_loads_twice_into_one_running_job(django_capture_on_commit_callbacks):
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_demo", stdout=out)
    call_command("load_demo", stdout=StringIO())

    job = Job.objects.get()
    assert (job.name, job.status, job.object_count) == ("fashion-demo", "InProgress", 8)
    assert storage.read_bytes("s3://groundwork-demo/fashion/images/item-01.png")[:4] == b"\x89PNG"
    workers = [
        workforce.worker_for(user=User.objects.get(email=f"worker{n}@example.com"))
        for n in (1, 2, 3)
    ]
    assert all(workers)
    # funded once: $50, of which 8 x (20 + 4 + 80) mills are in escrow
    assert (
        ledger.balance_mills(kind="requester_available", owner=job.organization.ledger_owner)
        == 50_000 - 8 * 104
    )
    live_keys = ApiKey.objects.filter(name="demo", revoked_at__isnull=True)
    assert live_keys.count() == 1
    assert "Requester API key" in out.getvalue()
    assert "worker1@example.com" in out.getvalue()
