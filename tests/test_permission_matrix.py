"""Every API endpoint against every role: the expected status, and nothing changed on a refusal.

The objects addressed belong to one requester organisation ("owner"), its private team, one
vendor and one crowd worker; every other role is an outsider of some kind. Another owner's
object is a 404; a role that may not call the endpoint at all gets 403; no credentials, 401.
"""

from dataclasses import dataclass, field

import pytest
from allauth.mfa.models import Authenticator
from django.apps import apps
from rest_framework.test import APIClient

from tasks import services as queue
from tests.conftest import bearer_client
from tests.factories import OrganizationFactory, UserFactory, WorkerFactory, job_in_progress
from workforce.models import Team, TeamMember, Vendor, VendorManager, WorkerBlock

pytestmark = pytest.mark.django_db

ANSWER = {"crowd-image-classifier": {"label": "cat"}}
OUTSIDERS = [
    "anonymous",
    "crowd_worker",
    "other_team_worker",
    "team_member",
    "other_vendor_manager",
    "other_requester",
    "finance",
    "admin",
]
APPS = ["marketplace", "workforce", "tasks", "payments", "account", "mfa"]


def with_mfa(user):
    Authenticator.objects.create(
        user=user, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"}
    )
    return user


@dataclass
class World:
    clients: dict[str, APIClient]
    ids: dict[str, int | str] = field(default_factory=dict)


@pytest.fixture
def world() -> World:
    owner_org = OrganizationFactory()
    team = Team.objects.create(organization=owner_org, name="staff")
    member = WorkerFactory()
    TeamMember.objects.create(team=team, worker=member)
    public_job = job_in_progress(owner_org, objects=3, name="pub")
    private_job = job_in_progress(
        owner_org, objects=2, name="priv", workforce="private:staff", reward_per_task=None
    )
    crowd = WorkerFactory()
    submitted, _ = queue.assignment_claim(worker=crowd, job=public_job)
    queue.assignment_submit(assignment=submitted, answer=ANSWER)
    member_lease, _ = queue.assignment_claim(worker=member, job=private_job)

    other_org = OrganizationFactory()
    other_team = Team.objects.create(organization=other_org, name="theirs")
    other_team_worker = WorkerFactory()
    TeamMember.objects.create(team=other_team, worker=other_team_worker)

    vendor = Vendor.objects.create(name="North", slug="north")
    vendor_manager = with_mfa(UserFactory())
    VendorManager.objects.create(vendor=vendor, user=vendor_manager)
    other_vendor = Vendor.objects.create(name="South", slug="south")
    other_vendor_manager = with_mfa(UserFactory())
    VendorManager.objects.create(vendor=other_vendor, user=other_vendor_manager)

    finance = UserFactory()
    finance.is_finance = True
    finance.save(update_fields=["is_finance"])
    with_mfa(finance)
    admin = UserFactory()
    admin.is_staff = admin.is_superuser = True
    admin.save(update_fields=["is_staff", "is_superuser"])

    blocked = WorkerFactory()
    block = WorkerBlock.objects.create(
        organization=owner_org,
        worker=blocked,
        reason="r",
        created_by=owner_org.memberships.get().user,
    )
    return World(
        clients={
            "owner": bearer_client(owner_org.memberships.get().user),
            "vendor_manager": bearer_client(vendor_manager),
            "anonymous": APIClient(),
            "crowd_worker": bearer_client(crowd.user),
            "other_team_worker": bearer_client(other_team_worker.user),
            "team_member": bearer_client(member.user),
            "other_vendor_manager": bearer_client(other_vendor_manager),
            "other_requester": bearer_client(other_org.memberships.get().user),
            "finance": bearer_client(finance),
            "admin": bearer_client(admin),
        },
        ids={
            "public_job": public_job.pk,
            "private_job": private_job.pk,
            "submitted": submitted.pk,
            "member_lease": member_lease.pk,
            "team": team.pk,
            "member": member.pk,
            "block": block.pk,
            "blocked_worker": blocked.public_id,
            "vendor_team_owner": vendor.pk,
        },
    )


BOOKKEEPING = {"last_used_at"}  # an API key notes when it was last used, refused or not


def snapshot() -> dict:
    """Every row of the project's tables (and allauth's), to prove a refusal changed nothing."""
    return {
        model._meta.label: [
            {k: v for k, v in row.items() if k not in BOOKKEEPING}
            for row in model.objects.order_by("pk").values()
        ]
        for app in APPS
        for model in apps.get_app_config(app).get_models()
    }


def expect(owner: int, *, default: int = 403, **special: int) -> dict[str, int]:
    """Statuses per role: 401 for anonymous, `default` for the other outsiders unless named."""
    statuses = {role: default for role in OUTSIDERS}
    statuses["anonymous"] = 401
    statuses.update(special)
    statuses["owner"] = owner
    return statuses


REQUESTER_COLLECTION = {"other_requester": 200}  # they see their own (empty) collection
REQUESTER_OBJECT = {"other_requester": 404}  # another organisation's object


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    statuses: dict[str, int]
    body: dict | None = None
    owner_role: str = "owner"

    def url(self, ids: dict) -> str:
        return self.path.format(**ids)


ENDPOINTS = [
    # requester: jobs, review, balance
    Endpoint("get", "/api/v1/labeling-jobs", expect(200, **REQUESTER_COLLECTION)),
    Endpoint("get", "/api/v1/labeling-jobs/pub", expect(200, **REQUESTER_OBJECT)),
    Endpoint("get", "/api/v1/labeling-jobs/pub/assignments", expect(200, **REQUESTER_OBJECT)),
    Endpoint(
        "post", "/api/v1/labeling-jobs/pub/assignments/{submitted}/approve",
        expect(200, **REQUESTER_OBJECT),
    ),
    Endpoint(
        "post", "/api/v1/labeling-jobs/pub/assignments/{submitted}/reject",
        expect(200, **REQUESTER_OBJECT), body={"reason": "Wrong."},
    ),
    Endpoint("get", "/api/v1/balance", expect(200, **REQUESTER_COLLECTION)),
    Endpoint("get", "/api/v1/worker-blocks", expect(200, **REQUESTER_COLLECTION)),
    Endpoint("get", "/api/v1/worker-blocks/{block}", expect(200, **REQUESTER_OBJECT)),
    Endpoint("delete", "/api/v1/worker-blocks/{block}", expect(204, **REQUESTER_OBJECT)),
    # worker: board, claim, own assignments
    Endpoint(
        "get", "/api/v1/worker/jobs",
        expect(200, crowd_worker=200, other_team_worker=200, team_member=200),
        owner_role="crowd_worker",
    ),
    Endpoint(
        "post", "/api/v1/worker/jobs/{private_job}/assignments",
        expect(200, crowd_worker=404, other_team_worker=404),
        owner_role="team_member",
    ),
    Endpoint(
        "get", "/api/v1/worker/assignments/{member_lease}",
        expect(200, crowd_worker=404, other_team_worker=404),
        owner_role="team_member",
    ),
    Endpoint(
        "post", "/api/v1/worker/assignments/{member_lease}/submit",
        expect(200, crowd_worker=404, other_team_worker=404),
        owner_role="team_member", body=ANSWER,
    ),
    Endpoint(
        "get", "/api/v1/worker/assignments/{submitted}",
        expect(200, other_team_worker=404, team_member=404),
        owner_role="crowd_worker",
    ),
]  # fmt: skip


def call(client: APIClient, endpoint: Endpoint, ids: dict):
    return getattr(client, endpoint.method)(endpoint.url(ids), endpoint.body, format="json")


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
def test_every_role_gets_the_expected_status(world, endpoint):
    for role, expected in endpoint.statuses.items():
        if role in ("owner", endpoint.owner_role):
            continue
        before = snapshot()
        response = call(world.clients[role], endpoint, world.ids)
        assert (role, response.status_code) == (role, expected), response.content
        if expected >= 400:
            assert set(response.json()) == {"code", "detail", "fields"}
            assert snapshot() == before, f"{role} changed something"

    owner = call(world.clients[endpoint.owner_role], endpoint, world.ids)
    assert owner.status_code == endpoint.statuses["owner"], owner.content
