"""The job lifecycle: stop, stopping conditions, expiry, events; list filters; chaining."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from marketplace.errors import ApplicationError
from marketplace.models import Job
from marketplace.services import jobs
from tasks import services as queue
from tasks import storage
from tasks.models import Assignment
from tests.factories import WorkerFactory, job_in_progress, job_spec, put_manifest

pytestmark = pytest.mark.django_db

ANSWER = {"crowd-image-classifier": {"label": "dog"}}


def label(job: Job, worker=None) -> Assignment:
    assignment, _ = queue.assignment_claim(worker=worker or WorkerFactory(), job=job)
    return queue.assignment_submit(assignment=assignment, answer=ANSWER)


def output_lines(job: Job) -> list[dict]:
    return [json.loads(line) for line in storage.read_bytes(job.output_manifest_uri).splitlines()]


def test_stop_writes_what_was_labeled_and_returns_running_leases(
    organization, requester_client, django_capture_on_commit_callbacks
):
    job = job_in_progress(organization, objects=3)
    with django_capture_on_commit_callbacks(execute=True):
        label(job)
    running, _ = queue.assignment_claim(worker=WorkerFactory(), job=job)

    with django_capture_on_commit_callbacks(execute=True):
        response = requester_client.post("/api/v1/labeling-jobs/pets/stop")

    assert (response.status_code, response.json()["status"]) == (200, "Stopping")
    job.refresh_from_db()
    assert job.status == Job.Status.STOPPED
    assert [line.get("animal") for line in output_lines(job)] == [1, None, None]
    running.refresh_from_db()
    assert running.status == Assignment.Status.RETURNED
    assert list(job.events.values_list("to_status", "reason"))[-2:] == [
        ("Stopping", "Stopped by the requester."),
        ("Stopped", "The output manifest of the labeled objects is written."),
    ]
    fetched = requester_client.get("/api/v1/labeling-jobs/pets").json()
    assert fetched["output_manifest_uri"] == job.output_manifest_uri
    again = requester_client.post("/api/v1/labeling-jobs/pets/stop")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")


def test_a_stopped_job_gives_no_more_tasks_and_takes_no_answer(
    organization, django_capture_on_commit_callbacks
):
    job = job_in_progress(organization, objects=2)
    held, _ = queue.assignment_claim(worker=WorkerFactory(), job=job)
    jobs.job_stop(job=job, reason="Enough.")  # Stopping: its leases are not returned yet

    assert queue.assignment_claim(worker=WorkerFactory(), job=job) == (None, False)
    with pytest.raises(ApplicationError) as refused:
        queue.assignment_submit(assignment=held, answer=ANSWER)
    assert (refused.value.code, refused.value.status) == ("job_not_in_progress", 409)


@pytest.mark.parametrize(
    ("conditions", "reason"),
    [
        ({"max_human_labeled_objects": 2}, "2 objects were labeled by people (the limit)."),
        ({"max_percentage_labeled": 50}, "2 of 4 objects are labeled (the limit)."),
    ],
)
def test_a_stopping_condition_stops_the_job_by_itself(
    organization, django_capture_on_commit_callbacks, conditions, reason
):
    job = job_in_progress(organization, objects=4, stopping_conditions=conditions)

    with django_capture_on_commit_callbacks(execute=True):
        label(job)
    job.refresh_from_db()
    assert job.status == Job.Status.IN_PROGRESS
    with django_capture_on_commit_callbacks(execute=True):
        label(job)

    job.refresh_from_db()
    assert job.status == Job.Status.STOPPED
    assert job.events.get(to_status="Stopping").reason == f"Stopping condition: {reason}"


def test_jobs_expire_thirty_days_after_they_start(organization, django_capture_on_commit_callbacks):
    job = job_in_progress(organization, objects=1)
    assert job.expires_at == job.started_at + timedelta(days=30)
    Job.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    fresh = job_in_progress(organization, objects=1, name="fresh")

    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.jobs_expire() == 1

    job.refresh_from_db()
    fresh.refresh_from_db()
    assert (job.status, fresh.status) == (Job.Status.STOPPED, Job.Status.IN_PROGRESS)
    assert job.events.get(to_status="Stopping").reason == (
        "The job expired 30 days after it started."
    )


def test_a_failed_job_cannot_be_stopped(organization):
    job = job_in_progress(organization, objects=1)
    jobs.job_fail(job=job, reason="Broken.")

    with pytest.raises(ApplicationError) as refused:
        jobs.job_stop(job=job, reason="Too late.")
    assert refused.value.message == "The job is Failed and cannot become Stopping."


def test_jobs_are_filtered_by_status_name_and_creation_time(organization, requester_client):
    job_in_progress(organization, objects=1, name="cats-a")
    job_in_progress(organization, objects=1, name="dogs-b")
    broken = job_in_progress(organization, objects=1, name="cats-c")
    jobs.job_fail(job=broken, reason="Broken.")
    Job.objects.filter(name="cats-a").update(created_at=timezone.now() - timedelta(days=2))

    def names(query: str) -> list[str]:
        page = requester_client.get(f"/api/v1/labeling-jobs?{query}").json()
        return [job["name"] for job in page["results"]]

    yesterday = (timezone.now() - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert names("name_contains=CATS") == ["cats-c", "cats-a"]
    assert names("status=Failed") == ["cats-c"]
    assert names(f"created_before={yesterday}") == ["cats-a"]
    assert names(f"created_after={yesterday}&name_contains=b") == ["dogs-b"]
    bad = requester_client.get("/api/v1/labeling-jobs?status=Sleeping")
    assert (bad.status_code, list(bad.json()["fields"])) == (400, ["status"])


def test_a_new_job_continues_from_a_stopped_jobs_output(
    organization, requester_client, django_capture_on_commit_callbacks
):
    # Given a first job that labeled one of two objects and was stopped
    first = job_in_progress(organization, objects=2)
    with django_capture_on_commit_callbacks(execute=True):
        label(first)
        jobs.job_stop(job=first, reason="Enough.")
    first.refresh_from_db()

    # When a second job takes its output manifest as input, with another label attribute
    second = job_in_progress(
        organization,
        objects=2,
        name="pets-again",
        label_attribute_name="animal2",
        input_manifest_uri=first.output_manifest_uri,
        rewrite_manifest=False,
    )
    with django_capture_on_commit_callbacks(execute=True):
        label(second)
        label(second)

    # Then the earlier labels pass through untouched next to the new ones
    first_lines = output_lines(first)
    second.refresh_from_db()
    lines = output_lines(second)
    assert [{k: v for k, v in line.items() if not k.startswith("animal2")} for line in lines] == (
        first_lines
    )
    assert [line["animal2"] for line in lines] == [1, 1]


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        (
            {"input_s3_prefix": "s3://groundwork-test/images/"},
            {"input_s3_prefix": ["Give input_manifest_uri or this, not both."]},
        ),
        (
            {"stopping_conditions": {"max_percentage_labeled": 0, "max_human_labeled_objects": 0}},
            {
                "stopping_conditions.max_percentage_labeled": [
                    "Ensure this value is greater than or equal to 1."
                ],
                "stopping_conditions.max_human_labeled_objects": [
                    "Ensure this value is greater than or equal to 1."
                ],
            },
        ),
        ({"auto_labeling": True}, {"auto_labeling": ["Automated labeling is not available yet."]}),
        (
            {"consolidation": "custom"},
            {"post_annotation_hook": ["Custom consolidation needs a post-annotation hook."]},
        ),
    ],
)
def test_spec_rules_for_input_stopping_and_features_not_built(requester_client, overrides, fields):
    response = requester_client.post("/api/v1/labeling-jobs", job_spec(**overrides), format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == fields
    assert Job.objects.count() == 0


def test_the_four_classification_types_are_accepted(requester_client):
    for task_type in (
        "image_classification",
        "image_classification_multilabel",
        "text_classification",
        "text_classification_multilabel",
    ):
        spec = job_spec(name=task_type.replace("_", "-"), task_type=task_type)
        put_manifest(spec["input_manifest_uri"], [{"source": "text"}])
        response = requester_client.post("/api/v1/labeling-jobs", spec, format="json")
        assert (task_type, response.status_code) == (task_type, 201)


def test_a_stopped_job_is_continued_by_a_new_job_under_the_same_label(
    organization, django_capture_on_commit_callbacks
):
    # Given a job stopped after labeling one of three objects
    first = job_in_progress(organization, objects=3)
    with django_capture_on_commit_callbacks(execute=True):
        label(first)
        jobs.job_stop(job=first, reason="Paused.")
    first.refresh_from_db()
    first_lines = output_lines(first)

    # When a new job with the same label attribute continues from its output
    second = job_in_progress(
        organization,
        objects=3,
        name="pets-continued",
        input_manifest_uri=first.output_manifest_uri,
        rewrite_manifest=False,
    )
    assert second.object_count == 2
    with django_capture_on_commit_callbacks(execute=True):
        label(second)
        label(second)

    # Then the first label is kept as it was and the other two are labeled now
    second.refresh_from_db()
    assert second.status == Job.Status.COMPLETED
    lines = output_lines(second)
    assert lines[0] == first_lines[0]
    assert [line["animal-metadata"]["job-name"] for line in lines] == [
        "labeling-job/pets",
        "labeling-job/pets-continued",
        "labeling-job/pets-continued",
    ]
