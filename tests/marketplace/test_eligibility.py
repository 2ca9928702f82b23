"""Who sees which job: workforce, team membership, blocks and bans, decided in one selector."""

import pytest

from marketplace import selectors
from payments import selectors as ledger
from tasks import selectors as board
from tasks import services as queue
from tests.factories import OrganizationFactory, WorkerFactory, job_in_progress
from workforce import qualifications
from workforce.models import Team, TeamMember, Worker
from workforce.services import workers

pytestmark = pytest.mark.django_db

ANSWER = {"crowd-image-classifier": {"label": "cat"}}


def private_job(organization, **overrides):
    team = Team.objects.create(organization=organization, name="Radiologists")
    spec = {"workforce": "private:radiologists", "name": "scans", **overrides}
    return job_in_progress(organization, objects=2, reward_per_task=None, **spec), team


def titles(worker) -> list[str]:
    return [job.name for job in board.job_board_for(worker=worker)]


def test_a_private_job_is_seen_only_by_its_team(organization):
    job, team = private_job(organization)
    member, outsider = WorkerFactory(), WorkerFactory()
    TeamMember.objects.create(team=team, worker=member)

    assert titles(member) == ["scans"]
    assert titles(outsider) == []
    assert queue.assignment_claim(worker=member, job=job)[1] is True
    with pytest.raises(Exception) as hidden:
        selectors.job_get_eligible_for(worker=outsider, pk=job.pk)
    assert hidden.typename == "Http404"


def test_a_team_of_another_organisation_cannot_be_named(organization, requester_client):
    Team.objects.create(organization=OrganizationFactory(), name="theirs")

    response = requester_client.post(
        "/api/v1/labeling-jobs",
        {
            "name": "x",
            "task_type": "image_classification",
            "input_manifest_uri": "s3://groundwork-test/in.manifest",
            "output_path": "s3://groundwork-test/out/",
            "label_categories": {"labels": [{"label": "a"}, {"label": "b"}]},
            "title": "t",
            "description": "d",
            "workforce": "private:theirs",
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {"workforce": ["You have no team named 'theirs'."]}


def test_private_work_costs_only_the_service_fee(organization):
    job, team = private_job(organization)
    member = WorkerFactory()
    TeamMember.objects.create(team=team, worker=member)
    # escrow: 2 objects x 80 mills service fee, no rewards
    assert ledger.balance_mills(kind="job_escrow", owner=job.ledger_escrow_owner) == 160

    assignment, _ = queue.assignment_claim(worker=member, job=job)
    queue.assignment_approve(
        assignment=queue.assignment_submit(assignment=assignment, answer=ANSWER)
    )

    assert ledger.balance_mills(kind="job_escrow", owner=job.ledger_escrow_owner) == 80
    assert ledger.balance_mills(kind="worker_pending", owner=member.ledger_owner) == 0
    assert ledger.balance_mills(kind="platform_fee_revenue", owner="platform") == 80


def test_a_blocked_worker_gets_no_new_task_from_that_requester_only(organization):
    job = job_in_progress(organization, objects=3)
    other_job = job_in_progress(OrganizationFactory(), objects=1, name="elsewhere")
    worker = WorkerFactory()
    in_flight, _ = queue.assignment_claim(worker=worker, job=job)

    workers.worker_block_create(
        organization=organization,
        worker=worker,
        reason="Random answers.",
        created_by=organization.memberships.get().user,
    )

    assert titles(worker) == ["elsewhere"]
    assert queue.assignment_submit(assignment=in_flight, answer=ANSWER).status == "submitted"
    with pytest.raises(Exception) as refused:
        selectors.job_get_eligible_for(worker=worker, pk=job.pk)
    assert refused.typename == "Http404"
    assert selectors.job_get_eligible_for(worker=worker, pk=other_job.pk) == other_job


def test_a_banned_worker_is_no_worker_anywhere(organization, worker_client, worker):
    job_in_progress(organization, objects=1)
    assert worker_client.get("/api/v1/worker/jobs").json()["count"] == 1

    workers.worker_ban(worker=worker, reason="Fraud.")

    assert worker_client.get("/api/v1/worker/jobs").status_code == 403
    worker.refresh_from_db()
    assert (worker.ban_reason, worker.banned_at is not None) == ("Fraud.", True)
    workers.worker_unban(worker=worker)
    assert worker_client.get("/api/v1/worker/jobs").json()["count"] == 1


def test_reviews_keep_the_system_qualifications_current(organization):
    job = job_in_progress(organization, objects=3)
    worker = WorkerFactory()
    done = []
    for _ in range(3):
        assignment, _ = queue.assignment_claim(worker=worker, job=job)
        done.append(queue.assignment_submit(assignment=assignment, answer=ANSWER))

    queue.assignment_approve(assignment=done[0])
    queue.assignment_approve(assignment=done[1])
    queue.assignment_reject(assignment=done[2], reason="Wrong.")

    worker = Worker.objects.get(pk=worker.pk)
    assert (worker.approved_count, worker.rejected_count) == (2, 1)
    assert qualifications.system_values(worker) == {
        "system:approval_rate": 66,
        "system:approved_count": 2,
    }
