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

from marketplace.services import offers
from payments.services import payouts
from tasks import services as queue
from tests.conftest import bearer_client
from tests.factories import (
    OrganizationFactory,
    UserFactory,
    WorkerFactory,
    job_in_progress,
    job_spec,
)
from tests.payments.test_finance_api import payout_requested
from workforce.models import ApiKey, TeamMember, Vendor, VendorManager
from workforce.services import qualifications as quals
from workforce.services import teams, workers

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
VM = "vendor_manager"  # the manager of the vendor whose teams and offers are addressed
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
    requester = owner_org.memberships.get().user
    team = teams.team_create(owner=owner_org, name="staff")
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
    other_team = teams.team_create(owner=other_org, name="theirs")
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
    finance_without_mfa = UserFactory()
    finance_without_mfa.is_finance = True
    finance_without_mfa.save(update_fields=["is_finance"])
    payee = WorkerFactory()
    payout_in_review = payout_requested(payee.ledger_owner, 12_000)
    payout_approved = payout_requested(WorkerFactory().ledger_owner, 12_000)
    payouts.payout_approve(payout=payout_approved, actor=finance)
    admin = UserFactory()
    admin.is_staff = admin.is_superuser = True
    admin.save(update_fields=["is_staff", "is_superuser"])

    blocked = WorkerFactory()
    block = workers.worker_block_create(
        organization=owner_org, worker=blocked, reason="r", created_by=requester
    )
    spare_team = teams.team_create(owner=owner_org, name="spare")
    (invitation,) = teams.team_invite(
        team=team, emails=["invitee@example.com"], invited_by=requester
    )

    crew = teams.team_create(owner=vendor, name="crew")
    crew_member = WorkerFactory()
    TeamMember.objects.create(team=crew, worker=crew_member)
    spare_crew = teams.team_create(owner=vendor, name="spare crew")
    (crew_invitation,) = teams.team_invite(
        team=crew, emails=["recruit@example.com"], invited_by=vendor_manager
    )
    vendor_spec = {"workforce": "vendor:north", "vendor_price_per_object": "0.100"}
    vendor_job = job_in_progress(
        owner_org, objects=2, name="vend", reward_per_task=None, **vendor_spec
    )
    withdrawn_job = job_in_progress(
        owner_org, objects=1, name="vend2", reward_per_task=None, **vendor_spec
    )
    offers.vendor_offer_withdraw(offer=withdrawn_job.vendor_offers.get(), withdrawn_by=requester)

    skill = quals.qualification_type_create(
        organization=owner_org,
        name="skill",
        test={
            "questions": [{"question": "2 + 2?", "options": ["3", "4"], "answer": "4"}],
            "passing_score_percent": 100,
            "retry_delay_seconds": 0,
        },
    )
    quals.qualification_grant_set(qualification_type=skill, worker=crowd, value=3)

    clients = {
        "owner": bearer_client(requester),
        "vendor_manager": bearer_client(vendor_manager),
        "anonymous": APIClient(),
        "crowd_worker": bearer_client(crowd.user),
        "other_team_worker": bearer_client(other_team_worker.user),
        "team_member": bearer_client(member.user),
        "other_vendor_manager": bearer_client(other_vendor_manager),
        "other_requester": bearer_client(other_org.memberships.get().user),
        "finance": bearer_client(finance),
        "finance_without_mfa": bearer_client(finance_without_mfa),
        "admin": bearer_client(admin),
    }
    return World(
        clients=clients,
        ids={
            "public_job": public_job.pk,
            "private_job": private_job.pk,
            "submitted": submitted.pk,
            "member_lease": member_lease.pk,
            "team": team.pk,
            "member": member.pk,
            "block": block.pk,
            "spare_team": spare_team.pk,
            "invitation": invitation.pk,
            "crew": crew.pk,
            "crew_member": crew_member.pk,
            "spare_crew": spare_crew.pk,
            "crew_invitation": crew_invitation.pk,
            "offer": vendor_job.vendor_offers.get().pk,
            "skill": skill.pk,
            "crowd": crowd.pk,
            "crowd_public_id": crowd.public_id,
            "owner_key": ApiKey.objects.get(user=requester).pk,
            "payee": payee.ledger_owner,
            "payout": payout_in_review.pk,
            "approved_payout": payout_approved.pk,
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
REQUESTER_CREATE = {"other_requester": 201}  # they create in their own organisation
REQUESTER_OBJECT = {"other_requester": 404}  # another organisation's object
VENDOR_COLLECTION = {"other_vendor_manager": 200}
VENDOR_CREATE = {"other_vendor_manager": 201}
VENDOR_OBJECT = {"other_vendor_manager": 404}
WORKERS_SEE_THEIR_OWN = {"crowd_worker": 200, "other_team_worker": 200, "team_member": 200}
EVERY_USER = {role: 200 for role in OUTSIDERS if role != "anonymous"}
FINANCE_ONLY = {"finance_without_mfa": 403}  # finance must have an authenticator app


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
    Endpoint(
        "post", "/api/v1/labeling-jobs/pub/assignments/{submitted}/bonus",
        expect(201, **REQUESTER_OBJECT),
        body={"amount": "0.100", "reason": "Thanks.", "unique_request_token": "matrix"},
    ),
    Endpoint(
        "post", "/api/v1/labeling-jobs/pub/assignments/approve",
        expect(200, **REQUESTER_OBJECT), body={"ids": ["{submitted}"]},
    ),
    Endpoint(
        "post", "/api/v1/labeling-jobs/pub/assignments/reject",
        expect(200, **REQUESTER_OBJECT), body={"ids": ["{submitted}"], "reason": "Wrong."},
    ),
    Endpoint("get", "/api/v1/balance", expect(200, **REQUESTER_COLLECTION)),
    Endpoint("get", "/api/v1/top-ups", expect(200, **REQUESTER_COLLECTION)),
    # no Stripe key in this world: requesters get past the permission to a plain 400
    Endpoint(
        "post", "/api/v1/top-ups", expect(400, other_requester=400), body={"amount": "25.00"}
    ),
    Endpoint("post", "/api/v1/labeling-jobs/pub/stop", expect(200, **REQUESTER_OBJECT)),
    # the owner's job read its manifest without a bad line, so it has no error report: 404
    Endpoint("get", "/api/v1/labeling-jobs/pub/manifest-errors", expect(404, **REQUESTER_OBJECT)),
    Endpoint(
        "post", "/api/v1/labeling-jobs", expect(201, **REQUESTER_CREATE),
        body={**job_spec(name="new"), "input_manifest_uri": "s3://groundwork-test/input/pub.manifest"},
    ),
    Endpoint(
        "post", "/api/v1/worker-blocks", expect(201, **REQUESTER_CREATE),
        body={"worker_id": "{crowd_public_id}", "reason": "Random answers."},
    ),
    # requester: private teams and invitations
    Endpoint("get", "/api/v1/hook-secret", expect(200, **REQUESTER_COLLECTION)),
    Endpoint("post", "/api/v1/hook-secret/rotate", expect(200, **REQUESTER_COLLECTION)),
    Endpoint("get", "/api/v1/workteams", expect(200, **REQUESTER_COLLECTION)),
    Endpoint("post", "/api/v1/workteams", expect(201, **REQUESTER_CREATE), body={"name": "new"}),
    Endpoint("get", "/api/v1/workteams/{team}", expect(200, **REQUESTER_OBJECT)),
    Endpoint("delete", "/api/v1/workteams/{spare_team}", expect(204, **REQUESTER_OBJECT)),
    Endpoint("get", "/api/v1/workteams/{team}/members", expect(200, **REQUESTER_OBJECT)),
    Endpoint(
        "delete", "/api/v1/workteams/{team}/members/{member}", expect(204, **REQUESTER_OBJECT)
    ),
    Endpoint("get", "/api/v1/workteams/{team}/invitations", expect(200, **REQUESTER_OBJECT)),
    Endpoint(
        "post", "/api/v1/workteams/{team}/invitations", expect(201, **REQUESTER_OBJECT),
        body={"emails": ["new.member@example.com"]},
    ),
    Endpoint(
        "post", "/api/v1/workteams/{team}/invitations/{invitation}/revoke",
        expect(200, **REQUESTER_OBJECT),
    ),
    # requester: vendor offers
    Endpoint("get", "/api/v1/vendor-offers", expect(200, **REQUESTER_COLLECTION)),
    Endpoint("get", "/api/v1/vendor-offers/{offer}", expect(200, **REQUESTER_OBJECT)),
    Endpoint(
        "post", "/api/v1/vendor-offers", expect(201, **REQUESTER_OBJECT), body={"job": "vend2"}
    ),
    Endpoint("post", "/api/v1/vendor-offers/{offer}/withdraw", expect(200, **REQUESTER_OBJECT)),
    # requester: qualification types and grants
    Endpoint("get", "/api/v1/qualification-types", expect(200, **REQUESTER_COLLECTION)),
    Endpoint(
        "post", "/api/v1/qualification-types", expect(201, **REQUESTER_CREATE),
        body={"name": "new skill"},
    ),
    Endpoint("get", "/api/v1/qualification-types/{skill}", expect(200, **REQUESTER_OBJECT)),
    Endpoint(
        "patch", "/api/v1/qualification-types/{skill}", expect(200, **REQUESTER_OBJECT),
        body={"description": "Arithmetic."},
    ),
    Endpoint("delete", "/api/v1/qualification-types/{skill}", expect(204, **REQUESTER_OBJECT)),
    Endpoint("get", "/api/v1/qualification-types/{skill}/grants", expect(200, **REQUESTER_OBJECT)),
    Endpoint(
        "post", "/api/v1/qualification-types/{skill}/grants", expect(200, **REQUESTER_OBJECT),
        body={"worker_id": "{crowd_public_id}", "value": 9},
    ),
    Endpoint(
        "delete", "/api/v1/qualification-types/{skill}/grants/{crowd}",
        expect(204, **REQUESTER_OBJECT),
    ),
    # vendor managers: teams, offers, workers, earnings
    Endpoint("get", "/api/v1/vendor/teams", expect(200, **VENDOR_COLLECTION), owner_role=VM),
    Endpoint(
        "post", "/api/v1/vendor/teams", expect(201, **VENDOR_CREATE),
        owner_role=VM, body={"name": "new crew"},
    ),
    Endpoint("get", "/api/v1/vendor/teams/{crew}", expect(200, **VENDOR_OBJECT), owner_role=VM),
    Endpoint(
        "delete", "/api/v1/vendor/teams/{spare_crew}", expect(204, **VENDOR_OBJECT),
        owner_role=VM,
    ),
    Endpoint(
        "get", "/api/v1/vendor/teams/{crew}/members", expect(200, **VENDOR_OBJECT),
        owner_role=VM,
    ),
    Endpoint(
        "delete", "/api/v1/vendor/teams/{crew}/members/{crew_member}", expect(204, **VENDOR_OBJECT),
        owner_role=VM,
    ),
    Endpoint(
        "post", "/api/v1/vendor/teams/{crew}/invitations", expect(201, **VENDOR_OBJECT),
        owner_role=VM, body={"emails": ["another.recruit@example.com"]},
    ),
    Endpoint(
        "post", "/api/v1/vendor/teams/{crew}/invitations/{crew_invitation}/revoke",
        expect(200, **VENDOR_OBJECT), owner_role=VM,
    ),
    Endpoint("get", "/api/v1/vendor/offers", expect(200, **VENDOR_COLLECTION), owner_role=VM),
    Endpoint("get", "/api/v1/vendor/offers/{offer}", expect(200, **VENDOR_OBJECT), owner_role=VM),
    Endpoint(
        "post", "/api/v1/vendor/offers/{offer}/accept", expect(200, **VENDOR_OBJECT),
        owner_role=VM, body={"team_id": "{crew}"},
    ),
    Endpoint(
        "post", "/api/v1/vendor/offers/{offer}/decline", expect(200, **VENDOR_OBJECT),
        owner_role=VM, body={"reason": "Fully booked."},
    ),
    Endpoint("get", "/api/v1/vendor/workers", expect(200, **VENDOR_COLLECTION), owner_role=VM),
    Endpoint("get", "/api/v1/vendor/earnings", expect(200, **VENDOR_COLLECTION), owner_role=VM),
    # any signed-in user: their own API keys
    Endpoint("get", "/api/v1/api-keys", expect(200, **EVERY_USER)),
    Endpoint(
        "post", "/api/v1/api-keys", expect(201, **{r: 201 for r in EVERY_USER}), body={"name": "k"}
    ),
    Endpoint(
        "post", "/api/v1/api-keys/{owner_key}/revoke",
        expect(200, **{r: 404 for r in EVERY_USER}),
    ),
    Endpoint("get", "/api/v1/worker-blocks", expect(200, **REQUESTER_COLLECTION)),
    Endpoint("get", "/api/v1/worker-blocks/{block}", expect(200, **REQUESTER_OBJECT)),
    Endpoint("delete", "/api/v1/worker-blocks/{block}", expect(204, **REQUESTER_OBJECT)),
    Endpoint("get", "/api/v1/worker-skills", expect(200, **REQUESTER_COLLECTION)),
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
        "post", "/api/v1/worker/assignments/{member_lease}/submit?next=1",
        expect(200, crowd_worker=404, other_team_worker=404),
        owner_role="team_member", body=ANSWER,
    ),
    Endpoint(
        "post", "/api/v1/worker/assignments/{member_lease}/decline",
        expect(200, crowd_worker=404, other_team_worker=404),
        owner_role="team_member",
    ),
    Endpoint(
        "post", "/api/v1/worker/assignments/{member_lease}/release",
        expect(200, crowd_worker=404, other_team_worker=404),
        owner_role="team_member",
    ),
    Endpoint(
        "get", "/api/v1/worker/assignments", expect(200, **WORKERS_SEE_THEIR_OWN),
        owner_role="crowd_worker",
    ),
    Endpoint(
        "get", "/api/v1/worker/assignments/{submitted}",
        expect(200, other_team_worker=404, team_member=404),
        owner_role="crowd_worker",
    ),
    Endpoint(
        "get", "/api/v1/worker/qualification-types", expect(200, **WORKERS_SEE_THEIR_OWN),
        owner_role="crowd_worker",
    ),
    Endpoint(
        "get", "/api/v1/worker/qualification-types/{skill}/test",
        expect(200, **WORKERS_SEE_THEIR_OWN), owner_role="crowd_worker",
    ),
    Endpoint(
        "post", "/api/v1/worker/qualification-types/{skill}/test",
        expect(201, **{r: 201 for r in WORKERS_SEE_THEIR_OWN}), owner_role="crowd_worker",
        body={"answers": ["4"]},
    ),
    # payees: earnings, payouts, payout account (nobody in the world has enough available for a
    # payout, and Stripe is not configured: asking is a 400 to each payee, a 403 to others)
    Endpoint(
        "get", "/api/v1/worker/earnings", expect(200, **WORKERS_SEE_THEIR_OWN),
        owner_role="crowd_worker",
    ),
    Endpoint(
        "get", "/api/v1/worker/payouts", expect(200, **WORKERS_SEE_THEIR_OWN),
        owner_role="crowd_worker",
    ),
    Endpoint(
        "post", "/api/v1/worker/payouts", expect(400, **{r: 400 for r in WORKERS_SEE_THEIR_OWN}),
        owner_role="crowd_worker",
    ),
    Endpoint(
        "get", "/api/v1/worker/payout-account", expect(200, **WORKERS_SEE_THEIR_OWN),
        owner_role="crowd_worker",
    ),
    Endpoint(
        "post", "/api/v1/worker/payout-account",
        expect(400, **{r: 400 for r in WORKERS_SEE_THEIR_OWN}), owner_role="crowd_worker",
    ),
    Endpoint("get", "/api/v1/vendor/payouts", expect(200, **VENDOR_COLLECTION), owner_role=VM),
    Endpoint(
        "post", "/api/v1/vendor/payouts", expect(400, other_vendor_manager=400), owner_role=VM
    ),
    Endpoint(
        "get", "/api/v1/vendor/payout-account", expect(200, **VENDOR_COLLECTION), owner_role=VM
    ),
    Endpoint(
        "post", "/api/v1/vendor/payout-account", expect(400, other_vendor_manager=400),
        owner_role=VM,
    ),
    # finance: payout review, the ledger, reconciliation, statements (no Stripe key here)
    Endpoint("get", "/api/v1/finance/payouts", expect(200, **FINANCE_ONLY), owner_role="finance"),
    Endpoint(
        "get", "/api/v1/finance/payouts/{payout}", expect(200, **FINANCE_ONLY),
        owner_role="finance",
    ),
    Endpoint(
        "post", "/api/v1/finance/payouts/{payout}/approve", expect(200, **FINANCE_ONLY),
        owner_role="finance", body={"note": "Checked."},
    ),
    Endpoint(
        "post", "/api/v1/finance/payouts/{payout}/hold", expect(200, **FINANCE_ONLY),
        owner_role="finance", body={"note": "Looking into it."},
    ),
    Endpoint(
        "post", "/api/v1/finance/payouts/{payout}/reject", expect(200, **FINANCE_ONLY),
        owner_role="finance", body={"note": "Copied answers."},
    ),
    Endpoint(
        "post", "/api/v1/finance/payouts/{approved_payout}/mark-paid",
        expect(200, **FINANCE_ONLY), owner_role="finance", body={"reference": "WIRE-1"},
    ),
    Endpoint("get", "/api/v1/finance/ledger", expect(200, **FINANCE_ONLY), owner_role="finance"),
    Endpoint(
        "get", "/api/v1/finance/ledger/accounts", expect(200, **FINANCE_ONLY),
        owner_role="finance",
    ),
    Endpoint(
        "get", "/api/v1/finance/reconciliation?from=2025-01-01&to=2025-12-31",
        expect(200, **FINANCE_ONLY), owner_role="finance",
    ),
    Endpoint(
        "get",
        "/api/v1/finance/statements?owner={payee}&kind=worker_available&from=2025-01-01&to=2099-12-31",
        expect(200, **FINANCE_ONLY), owner_role="finance",
    ),
]  # fmt: skip


def fill(value, ids: dict):
    """The body with `{name}` placeholders replaced by the world's ids."""
    if isinstance(value, dict):
        return {key: fill(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, ids) for item in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    return value


def call(client: APIClient, endpoint: Endpoint, ids: dict):
    body = fill(endpoint.body, ids)
    return getattr(client, endpoint.method)(endpoint.url(ids), body, format="json")


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
