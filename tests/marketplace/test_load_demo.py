from io import StringIO

import pytest
from django.core.management import call_command

from marketplace.models import Job
from payments import selectors as ledger
from tasks import selectors as board
from tasks import storage
from workforce.models import ApiKey, TeamMember, User, VendorManager
from workforce.selectors import accounts as workforce

pytestmark = pytest.mark.django_db


def test_the_demo_loads_twice_into_one_running_job(django_capture_on_commit_callbacks):
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_demo", stdout=out)
    call_command("load_demo", stdout=StringIO())

    assert list(
        Job.objects.order_by("pk").values_list("name", "workforce", "status", "object_count")
    ) == [
        ("fashion-demo", "public", "InProgress", 8),
        ("fashion-team", "private", "InProgress", 8),
        ("fashion-captions", "public", "InProgress", 8),
    ]
    job = Job.objects.get(name="fashion-demo")
    assert storage.read_bytes("s3://groundwork-demo/fashion/images/item-01.png")[:4] == b"\x89PNG"
    workers = [
        workforce.worker_for(user=User.objects.get(email=f"worker{n}@example.com"))
        for n in (1, 2, 3)
    ]
    assert all(workers)
    # funded once: $50, of which 8 x (20 + 4 + 80) mills are in escrow for the public job,
    # 8 x 80 (the service fee) for the team job and 8 x (30 + 6 + 80) for the custom job
    assert (
        ledger.balance_mills(kind="requester_available", owner=job.organization.ledger_owner)
        == 50_000 - 8 * 104 - 8 * 80 - 8 * 116
    )
    worker2, worker3 = (User.objects.get(email=f"worker{n}@example.com").worker for n in (2, 3))
    assert [job.name for job in board.job_board_for(worker=worker2)] == [
        "fashion-captions",
        "fashion-team",
        "fashion-demo",
    ]
    assert TeamMember.objects.filter(worker=worker3, team__vendor__slug="north-labeling").exists()
    assert User.objects.get(email="finance@example.com").is_finance
    assert VendorManager.objects.filter(user__email="vendor@example.com").exists()
    live_keys = ApiKey.objects.filter(name="demo", revoked_at__isnull=True)
    assert live_keys.count() == 1
    assert "Requester API key" in out.getvalue()
    assert "worker1@example.com" in out.getvalue()
