"""`GET /api/v1/worker-skills`: the requester's own organisation's rows, newest first; and the
vendor's workers page and API show each of its workers' skill."""

from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from tests.conftest import bearer_client
from tests.factories import OrganizationFactory, WorkerFactory
from tests.marketplace.test_vendor_offers import join, vendor_with_teams
from workforce.models import WorkerSkill

pytestmark = pytest.mark.django_db


def skill(organization, worker, accuracy: float, answers: int, day: int) -> WorkerSkill:
    return WorkerSkill.objects.create(
        organization=organization,
        worker=worker,
        accuracy=accuracy,
        answers=answers,
        updated_at=datetime(2025, 3, day, tzinfo=UTC),
    )


def test_a_requester_reads_its_own_organisations_skills_newest_first(
    organization, requester_client
):
    ana, bo = WorkerFactory(), WorkerFactory()
    skill(organization, ana, 0.91234, 40, day=1)
    skill(organization, bo, 0.5, 12, day=2)
    skill(OrganizationFactory(), ana, 0.1, 99, day=3)

    response = requester_client.get("/api/v1/worker-skills")

    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "worker_id": bo.public_id,
            "accuracy": 0.5,
            "answers": 12,
            "updated_at": "2025-03-02T00:00:00Z",
        },
        {
            "worker_id": ana.public_id,
            "accuracy": 0.912,
            "answers": 40,
            "updated_at": "2025-03-01T00:00:00Z",
        },
    ]


def test_a_worker_may_not_read_skills(organization, worker, worker_client):
    skill(organization, worker, 0.8, 10, day=1)

    response = worker_client.get("/api/v1/worker-skills")

    assert response.status_code == 403
    assert APIClient().get("/api/v1/worker-skills").status_code == 401


def test_the_vendor_sees_the_answers_weighted_skill_of_its_own_workers(client):
    vendor, manager, (alpha,) = vendor_with_teams()
    ana, bo, outsider = (WorkerFactory(display_name=name) for name in ("Ana", "Bo", "Zed"))
    join(alpha, ana, bo)
    skill(OrganizationFactory(), ana, 0.9, 30, day=1)
    skill(OrganizationFactory(), ana, 0.5, 10, day=1)  # (0.9 x 30 + 0.5 x 10) / 40 = 0.8
    skill(OrganizationFactory(), outsider, 0.7, 10, day=1)

    rows = bearer_client(manager).get("/api/v1/vendor/workers").json()["results"]
    client.force_login(manager)
    page = client.get("/vendor/workers/").content.decode()

    assert [(row["display_name"], row["skill_accuracy"]) for row in rows] == [
        ("Ana", 0.8),
        ("Bo", None),
    ]
    assert '<td class="num" data-label="Skill">80.0%</td>' in page
    assert "Zed" not in page
