"""The worker's "My work" page, /work/history: their answered tasks and how each was reviewed."""

import re

import pytest

from tasks import services
from tasks.models import Assignment
from tests.factories import UserFactory, WorkerFactory, job_in_progress
from workforce.models import Worker

pytestmark = pytest.mark.django_db

PAGE = "/work/history"
CAT = {"crowd-image-classifier": {"label": "cat"}}


def answered(*, worker: Worker, job) -> Assignment:
    """The worker claims the job's next object and answers it."""
    assignment, created = services.assignment_claim(worker=worker, job=job)
    assert created
    return services.assignment_submit(assignment=assignment, answer=CAT)


def rows(html: str) -> list[str]:
    body = re.search(r"<tbody>(.*)</tbody>", html, re.S)
    return re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S) if body else []


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


# --- who may see it -------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(PAGE)

    assert (response.status_code, response.url) == (302, f"/accounts/login/?next={PAGE}")


def test_a_user_without_a_worker_profile_is_sent_to_the_join_page(client):
    client.force_login(UserFactory())

    response = client.get(PAGE)

    assert (response.status_code, response.url) == (302, "/work/join")


def test_the_worker_navigation_links_to_the_page(client, worker):
    client.force_login(worker.user)

    html = client.get("/work/").content.decode()

    assert '<a class="nav-link" href="/work/history">My work</a>' in html


# --- what it shows --------------------------------------------------------------------------------


def test_a_worker_sees_only_their_own_answered_tasks(client, organization):
    # Given two workers who each answered a task of a different job, and a lease still running
    pets = job_in_progress(organization, objects=2, name="pets", title="Cat or dog?")
    birds = job_in_progress(organization, objects=1, name="birds", title="Which bird?")
    mine, theirs = WorkerFactory(), WorkerFactory()
    answered(worker=mine, job=pets)
    answered(worker=theirs, job=birds)
    services.assignment_claim(worker=theirs, job=pets)
    client.force_login(mine.user)

    # When the first opens My work
    response = client.get(PAGE)

    # Then they see their one answer, awaiting review, and nothing of the other worker's
    assert response.status_code == 200
    (row,) = rows(response.content.decode())
    assert text(row).startswith("Cat or dog? Awaiting review $0.050")
    assert "Which bird?" not in response.content.decode()


def test_a_rejected_task_shows_the_reason_and_is_not_paid(client, organization, worker):
    job = job_in_progress(organization, objects=1)
    services.assignment_reject(
        assignment=answered(worker=worker, job=job), reason="The photo shows a <fox>."
    )
    client.force_login(worker.user)

    (row,) = rows(client.get(PAGE).content.decode())

    assert "The photo shows a &lt;fox&gt;." in row
    assert text(row).startswith(
        "Cat or dog? Reason for the rejection: The photo shows a &lt;fox&gt;. "
        "Rejected $0.050 not paid"
    )


def test_an_approved_task_shows_as_approved(client, organization, worker):
    job = job_in_progress(organization, objects=1)
    services.assignment_approve(assignment=answered(worker=worker, job=job))
    client.force_login(worker.user)

    (row,) = rows(client.get(PAGE).content.decode())

    assert text(row).startswith("Cat or dog? Approved $0.050")
    assert "rejection" not in row.lower()


def test_a_bonus_shows_its_amount_and_reason(client, organization, worker):
    job = job_in_progress(organization, objects=1, workers_per_object=1)
    assignment = answered(worker=worker, job=job)
    services.assignment_bonus(
        assignment=assignment,
        amount_mills=250,
        reason="Careful work on hard images.",
        unique_request_token="b-1",
    )
    client.force_login(worker.user)

    (row,) = rows(client.get(PAGE).content.decode())

    assert "Bonus of $0.250: Careful work on hard images." in text(row)


def test_a_reversed_rejection_shows_as_approved_and_reversed(client, organization, worker):
    job = job_in_progress(organization, objects=1)
    rejected = services.assignment_reject(
        assignment=answered(worker=worker, job=job), reason="Wrong animal."
    )
    services.assignment_approve(assignment=rejected)
    client.force_login(worker.user)

    (row,) = rows(client.get(PAGE).content.decode())

    assert re.match(
        r"Cat or dog\? Rejection reversed \d+ \w+ \d{4}; the reason given was: Wrong animal\. "
        r"Approved Reversed \$0\.050",
        text(row),
    ), text(row)


def test_fifty_tasks_a_page(client, organization, worker):
    # Given a worker who answered 51 tasks
    job = job_in_progress(organization, objects=51)
    for _ in range(51):
        answered(worker=worker, job=job)
    client.force_login(worker.user)

    # When they open the first and the second page
    first = client.get(PAGE).content.decode()
    second = client.get(PAGE, {"page": 2}).content.decode()

    # Then the first holds 50, the second the one left, each linking to the other
    assert (len(rows(first)), len(rows(second))) == (50, 1)
    assert "Page 1 of 2" in first and 'href="?page=2"' in first
    assert "Page 2 of 2" in second and 'href="?page=1"' in second


def test_a_worker_with_no_answers_sees_the_way_to_the_job_board(client, worker):
    client.force_login(worker.user)

    html = client.get(PAGE).content.decode()

    assert "No answered tasks yet" in html
    assert rows(html) == []
