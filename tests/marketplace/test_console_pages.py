"""The requester's job pages: who gets in, the list and its filters, a job's page (progress,
output, history, failure report) and its stop button."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketplace.models import Job
from marketplace.services import jobs
from tasks import services as queue
from tasks.manifests import ingest
from tests.factories import (
    OrganizationFactory,
    WorkerFactory,
    job_created,
    job_in_progress,
    put_manifest,
)
from workforce.services import teams

pytestmark = pytest.mark.django_db

ANSWER = {"crowd-image-classifier": {"label": "dog"}}
PAGES = ["/jobs/", "/jobs/new", "/jobs/pets/"]


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())).strip()


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def label(job: Job) -> None:
    assignment, _ = queue.assignment_claim(worker=WorkerFactory(), job=job)
    queue.assignment_submit(assignment=assignment, answer=ANSWER)


def rows_of(response) -> list[str]:
    body = re.search(r"<tbody>(.*?)</tbody>", response.content.decode(), re.S)
    return re.findall(r'<a class="job-title" href="/jobs/([^/]+)/">', body.group(1)) if body else []


# --- who gets in ---------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_signed_out_visitors_go_to_sign_in(client, organization, page):
    job_created(organization)

    response = client.get(page)

    assert (response.status_code, response.url) == (302, f"/accounts/login/?next={page}")


def test_signed_out_stop_changes_nothing(client, organization):
    job = job_created(organization)

    response = client.post("/jobs/pets/stop")

    assert (response.status_code, response.url) == (302, "/accounts/login/?next=/jobs/pets/stop")
    job.refresh_from_db()
    assert job.status == Job.Status.INITIALIZING


@pytest.mark.parametrize("page", PAGES)
def test_a_worker_without_an_organisation_gets_404(client, organization, worker, page):
    job_created(organization)
    client.force_login(worker.user)

    assert client.get(page).status_code == 404


def test_a_worker_without_an_organisation_cannot_stop_nor_create(client, organization, worker):
    job = job_created(organization)
    client.force_login(worker.user)

    assert client.post("/jobs/pets/stop").status_code == 404
    assert client.post("/jobs/new", {"name": "mine"}).status_code == 404

    job.refresh_from_db()
    assert (job.status, Job.objects.count()) == (Job.Status.INITIALIZING, 1)


def test_another_organisations_job_is_404_and_not_listed(client, organization):
    job = job_created(organization)
    other = OrganizationFactory()
    job_created(other, name="theirs")
    client.force_login(other.memberships.get().user)

    assert client.get("/jobs/pets/").status_code == 404
    assert client.post("/jobs/pets/stop").status_code == 404
    assert rows_of(client.get("/jobs/")) == ["theirs"]
    job.refresh_from_db()
    assert job.status == Job.Status.INITIALIZING


def test_requesters_have_a_jobs_link_and_workers_do_not(client, requester, worker):
    client.force_login(requester)
    page = client.get("/jobs/").content.decode()
    assert '<a class="nav-link" href="/jobs/" aria-current="page">Jobs</a>' in page
    assert '<a class="nav-link" href="/jobs/">Jobs</a>' in client.get("/teams/").content.decode()

    client.force_login(worker.user)
    assert 'href="/jobs/"' not in client.get("/").content.decode()


# --- the list ------------------------------------------------------------------------------------


@pytest.fixture
def three_jobs(organization, django_capture_on_commit_callbacks):
    """pets (InProgress, 1 labeled and 1 failed of 3), cars (Failed), birds (Initializing)."""
    pets = job_in_progress(organization, objects=3, workers_per_object=1)
    with django_capture_on_commit_callbacks(execute=True):
        label(pets)
    jobs.job_record_outcome(job=pets, failed=1)
    cars = job_created(organization, name="cars", title="Which car?")
    jobs.job_fail(job=cars, reason="The input manifest has no objects.")
    job_created(organization, name="birds", title="Which bird?", workforce="public")
    return organization


@pytest.fixture
def signed_in(client, requester):
    client.force_login(requester)
    return client


def test_the_list_shows_each_job_with_its_progress(signed_in, three_jobs):
    response = signed_in.get("/jobs/")

    assert response.status_code == 200
    assert rows_of(response) == ["birds", "cars", "pets"]
    page = response.content.decode()
    pets_row = re.search(r'<tr>\s*<td><a class="job-title" href="/jobs/pets/">.*?</tr>', page, re.S)
    row = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", pets_row.group(0))).strip()
    assert row.startswith(
        "pets Cat or dog? Image classification (one label) public In Progress 1 / 3 1 failed"
    ), row
    assert 'aria-valuenow="1"' in pets_row.group(0) and 'aria-valuemax="3"' in pets_row.group(0)
    assert 'style="width: 33%"' in pets_row.group(0)
    assert '<span class="badge warning">Failed</span>' in page
    assert '<span class="badge primary">In Progress</span>' in page


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("status=Failed", ["cars"]),
        ("status=InProgress", ["pets"]),
        ("name_contains=ET", ["pets"]),
        ("name_contains=r", ["birds", "cars"]),
        ("name_contains=r&status=Initializing", ["birds"]),
        ("status=Completed", []),
        ("status=&name_contains=", ["birds", "cars", "pets"]),
    ],
)
def test_the_list_filters_as_the_api_does(signed_in, requester_client, three_jobs, query, names):
    response = signed_in.get(f"/jobs/?{query}")
    api = requester_client.get(f"/api/v1/labeling-jobs?{query}").json()

    assert response.status_code == 200
    assert rows_of(response) == names == [job["name"] for job in api["results"]]


def test_filters_are_kept_in_the_form(signed_in, three_jobs):
    page = signed_in.get("/jobs/?status=Failed&name_contains=ca").content.decode()

    assert '<option value="Failed" selected>Failed</option>' in page
    assert 'name="name_contains" value="ca"' in page
    assert '<a class="button link" href="/jobs/">Clear</a>' in page


def test_an_unknown_status_is_an_error_not_a_list(signed_in, three_jobs):
    response = signed_in.get("/jobs/?status=Finished")

    assert response.status_code == 400
    assert rows_of(response) == []
    assert "Select a valid choice. Finished is not one of the available choices." in text_of(
        response
    )


def test_the_list_is_paginated_by_50_and_pages_keep_the_filter(signed_in, organization):
    for number in range(51):
        job_created(organization, name=f"job-{number:02d}")
    job_created(organization, name="other")

    first = signed_in.get("/jobs/?name_contains=job")
    second = signed_in.get("/jobs/?name_contains=job&page=2")

    assert len(rows_of(first)) == 50
    assert rows_of(second) == ["job-00"]
    assert 'href="?name_contains=job&amp;page=2"' in first.content.decode()
    assert 'href="?name_contains=job&amp;page=1"' in second.content.decode()
    assert "Page 2 of 2" in text_of(second)


def test_the_list_reads_a_fixed_number_of_queries(signed_in, organization):
    private_team = teams.team_create(owner=organization, name="Staff")
    job_created(organization, name="one")
    with CaptureQueriesContext(connection) as few:
        signed_in.get("/jobs/")
    for number in range(5):
        job_created(organization, name=f"more-{number}")
        job_created(
            organization,
            name=f"team-{number}",
            workforce=f"private:{private_team.name}",
            reward_per_task=None,
        )
    with CaptureQueriesContext(connection) as many:
        response = signed_in.get("/jobs/")

    assert len(rows_of(response)) == 11
    assert len(many) == len(few)


def test_no_jobs_yet(signed_in):
    response = signed_in.get("/jobs/")

    assert "No labeling jobs yet" in text_of(response)
    assert 'href="/jobs/new"' in response.content.decode()


# --- a job's page --------------------------------------------------------------------------------


def test_the_job_page_shows_progress_counters_spec_and_history(
    signed_in, organization, django_capture_on_commit_callbacks
):
    job = job_in_progress(organization, objects=3, workers_per_object=1)
    with django_capture_on_commit_callbacks(execute=True):
        label(job)
    jobs.job_record_outcome(job=job, failed=1)

    response = signed_in.get("/jobs/pets/")

    assert response.status_code == 200
    text = text_of(response)
    page = response.content.decode()
    assert "pets In Progress Cat or dog?" in text
    assert "1 / 3 1 failed" in text
    assert "Labeled 1 By people 1 By machine 0 Failed 1 Unlabeled 1" in text, (
        "the five label counters"
    )
    assert "Output location s3://groundwork-test/output/pets/" in text
    assert "Output manifest Written when the job is completed or stopped." in text
    assert "manifests/output/output.manifest" not in page
    for fact in (
        "Task type Image classification (one label)",
        "Labels cat dog",
        "Label attribute name animal",
        "Keywords images, animals",
        "Input manifest s3://groundwork-test/input/pets.manifest",
        "Workforce public",
        "Reward per task $0.050",
        "Workers per object 1",
        "Task time limit 300 seconds (5 minutes)",
        "Task availability lifetime 21,600 seconds (6 hours)",
        "Max concurrent tasks 1000",
        "Auto-approval delay 259,200 seconds (3 days)",
        "Stopping conditions None",
    ):
        assert fact in text, fact
    history = re.findall(
        r"<td data-label=\"Change\">(.*?)</td>\s*<td data-label=\"Reason\">(.*?)</td>", page
    )
    assert history == [
        ("— → Initializing", "Created by the requester."),
        ("Initializing → InProgress", "Input manifest read: 3 objects."),
    ]
    assert 'action="/jobs/pets/stop"' in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_a_completed_job_shows_its_output_manifest_and_no_stop_button(
    signed_in, organization, django_capture_on_commit_callbacks
):
    job = job_in_progress(organization, objects=2, workers_per_object=1)
    with django_capture_on_commit_callbacks(execute=True):
        label(job)
        label(job)
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED

    response = signed_in.get("/jobs/pets/")

    text = text_of(response)
    assert "pets Completed" in text
    assert (
        "Output manifest s3://groundwork-test/output/pets/manifests/output/output.manifest" in text
    )
    assert "2 / 2" in text
    assert "Labeled 2 By people 2 By machine 0 Failed 0 Unlabeled 0" in text
    assert "InProgress → Completed Every object is labeled" in text
    assert "/stop" not in response.content.decode()


def test_a_failed_job_shows_its_reason_and_the_manifest_error_report(signed_in, organization):
    put_manifest(
        "s3://groundwork-test/input/pets.manifest",
        [{"source-ref": "s3://groundwork-test/a.png"}, "not json"],
    )
    job = job_created(organization)
    ingest.manifest_ingest(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, bool(job.failure_report_uri)) == (Job.Status.FAILED, True)

    response = signed_in.get("/jobs/pets/")

    page = response.content.decode()
    assert f"The job failed: {job.failure_reason}" in text_of(response)
    assert '<a href="/api/v1/labeling-jobs/pets/manifest-errors">' in page
    assert "/stop" not in page


def test_a_failure_without_a_report_has_no_report_link(signed_in, organization):
    job = job_created(organization)
    jobs.job_fail(job=job, reason="The input manifest has no objects.")

    page = signed_in.get("/jobs/pets/").content.decode()

    assert "The input manifest has no objects." in page
    assert "manifest-errors" not in page


def test_the_job_name_is_found_whatever_its_case(signed_in, organization):
    job_created(organization)

    assert signed_in.get("/jobs/PETS/").status_code == 200
    assert signed_in.get("/jobs/nothing/").status_code == 404


# --- the stop button -----------------------------------------------------------------------------


def test_stop_stops_the_job_with_the_requesters_reason(
    signed_in, organization, requester, django_capture_on_commit_callbacks
):
    job = job_in_progress(organization, objects=2, workers_per_object=1)
    with django_capture_on_commit_callbacks(execute=True):
        label(job)

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post("/jobs/pets/stop", follow=True)

    assert response.redirect_chain == [("/jobs/pets/", 302)]
    assert messages_of(response) == [
        "The job is stopping: no new task is handed out, and the output of what was labeled "
        "is being written."
    ]
    job.refresh_from_db()
    assert job.status == Job.Status.STOPPED
    event = job.events.get(to_status=Job.Status.STOPPING)
    assert (event.from_status, event.actor, event.reason) == (
        "InProgress",
        requester,
        "Stopped by the requester.",
    )
    text = text_of(response)
    assert "Output manifest s3://groundwork-test/output/pets/manifests/output/output.manifest" in (
        text_of(signed_in.get("/jobs/pets/"))
    )
    assert "InProgress → Stopping Stopped by the requester." in text


def test_an_initializing_job_can_be_stopped_too(signed_in, organization):
    job_created(organization)

    page = signed_in.get("/jobs/pets/").content.decode()
    response = signed_in.post("/jobs/pets/stop")

    assert 'action="/jobs/pets/stop"' in page
    assert (response.status_code, response.url) == (302, "/jobs/pets/")
    assert Job.objects.get().status == Job.Status.STOPPING


def test_a_refused_stop_is_shown_as_a_message(signed_in, organization):
    job = job_created(organization)
    jobs.job_fail(job=job, reason="Broken.")

    response = signed_in.post("/jobs/pets/stop", follow=True)

    assert messages_of(response) == [
        "The job was not stopped: The job is Failed and cannot become Stopping."
    ]
    job.refresh_from_db()
    assert (job.status, job.events.count()) == (Job.Status.FAILED, 2)


def test_stop_takes_only_post(signed_in, organization):
    job_created(organization)

    assert signed_in.get("/jobs/pets/stop").status_code == 405
    assert Job.objects.get().status == Job.Status.INITIALIZING
