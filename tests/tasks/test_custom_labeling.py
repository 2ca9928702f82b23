"""A custom task for the worker holding its lease: its page, what it may read, its answer."""

import pytest
import requests
from django.test import Client
from django.utils import timezone

from marketplace.models import Job
from payments.services import ledger as payments
from tasks import services as queue
from tasks import storage, templating
from tasks.manifests import ingest
from tasks.models import Assignment, DataObject
from tests.factories import WorkerFactory, job_created, job_in_progress, put_manifest

pytestmark = pytest.mark.django_db

MANIFEST = "s3://groundwork-test/input/custom.manifest"
IMAGE = "s3://groundwork-test/images/0.png"
PNG = b"\x89PNG\r\n\x1a\n-image-0"
TEMPLATE = (
    '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>\n'
    "<crowd-form>\n"
    '  <img src="{{ task.input.taskObject | grant_read_access }}">\n'
    "  <p>{{ task.input.question | escape }}</p>\n"
    '  <input name="note">\n'
    "</crowd-form>"
)


def custom_job(organization, *, template: str = TEMPLATE, lines=None, **overrides) -> Job:
    """A running custom job (created as an image job, then given its template before its
    manifest is read)."""
    payments.funding_record(owner=organization.ledger_owner, amount_mills=100_000, reference="f")
    put_manifest(MANIFEST, lines or [{"source-ref": IMAGE}])
    job = job_created(
        organization, name="custom", input_manifest_uri=MANIFEST, workers_per_object=2, **overrides
    )
    Job.objects.filter(pk=job.pk).update(task_type=Job.TaskType.CUSTOM, ui_template=template)
    ingest.manifest_ingest(job_id=job.pk)
    job = Job.objects.get(pk=job.pk)
    assert job.status == Job.Status.IN_PROGRESS, job.failure_reason
    return job


def claim(job: Job, worker, *, task_input=None) -> Assignment:
    if task_input is not None:
        DataObject.objects.filter(job=job).update(task_input=task_input)
    assignment, _ = queue.assignment_claim(worker=worker, job=job)
    return Assignment.objects.select_related("job", "data_object").get(pk=assignment.pk)


def browser_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def frame_url(assignment: Assignment) -> str:
    return f"/work/assignments/{assignment.pk}/frame"


# --- grant_read_access ---------------------------------------------------------------------------


def test_grant_read_access_presigns_the_objects_own_data_until_the_lease_ends(organization, worker):
    storage.write(IMAGE, [PNG])
    job = custom_job(organization)
    assignment = claim(job, worker, task_input={"taskObject": IMAGE, "question": "Cat?"})

    page = templating.render_task_page(assignment=assignment)

    url = page.split('<img src="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert url.startswith(storage.client().meta.endpoint_url + "/groundwork-test/images/0.png?")
    expires = int(url.split("X-Amz-Expires=", 1)[1].split("&", 1)[0])
    assert job.task_time_limit_seconds - 5 <= expires <= job.task_time_limit_seconds
    assert requests.get(url, timeout=10).content == PNG
    assert "<p>Cat?</p>" in page


@pytest.mark.parametrize(
    ("uri", "readable"),
    [
        (IMAGE, True),
        ("s3://groundwork-test/other/reference.jpg", True),  # the manifest's bucket
        ("s3://someone-elses-bucket/secret.png", False),
        (MANIFEST, False),  # every task of the job
        ("s3://groundwork-test/output/custom/manifests/output/output.manifest", False),
        ("https://example.com/a.png", False),
        ("s3://groundwork-test/", False),
    ],
)
def test_grant_read_access_reads_only_the_jobs_data(organization, worker, uri, readable):
    job = custom_job(organization)
    assignment = claim(job, worker)

    url = templating.read_url(assignment=assignment, uri=uri)

    assert bool(url) is readable


def test_a_foreign_bucket_renders_empty_not_an_error(organization, worker):
    job = custom_job(organization)
    assignment = claim(job, worker, task_input={"taskObject": "s3://elsewhere/x.png"})

    assert templating.render_task_page(assignment=assignment).count('<img src="">') == 1


def test_nothing_is_granted_once_the_lease_ended(organization, worker):
    job = custom_job(organization)
    expired = claim(job, worker)
    Assignment.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    expired.refresh_from_db()
    submitted = claim(job, WorkerFactory())
    queue.assignment_submit(assignment=submitted, answer={"note": "done"})
    submitted.refresh_from_db()

    assert templating.read_url(assignment=expired, uri=IMAGE) == ""
    assert templating.read_url(assignment=submitted, uri=IMAGE) == ""
    assert '<img src="">' in templating.render_task_page(assignment=expired)


def test_a_template_failing_at_render_gives_a_plain_message(organization, worker):
    job = custom_job(organization, template="<p>{% for i in (1..20000) %}{{ i }}{% endfor %}</p>")
    assignment = claim(job, worker)

    page = templating.render_task_page(assignment=assignment)

    message = templating.TEMPLATE_FAILED_MESSAGE
    assert page == f'<p class="groundwork-template-error" role="alert">{message}</p>'


# --- The task page (the sandboxed frame) --------------------------------------------------------


def test_the_worker_holding_the_lease_gets_the_page_with_a_strict_policy(
    organization, worker, settings
):
    job = custom_job(organization)
    assignment = claim(job, worker, task_input={"taskObject": IMAGE, "question": "<b>Cat?</b>"})

    response = browser_for(worker.user).get(frame_url(assignment))

    assert response.status_code == 200
    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    assert policy == {
        "sandbox": "allow-scripts allow-forms",
        "default-src": "'none'",
        "script-src": "'unsafe-inline' http://testserver/static/tasks/crowd-elements.js",
        "style-src": "'unsafe-inline' http://testserver",
        "img-src": f"data: blob: {settings.S3_ENDPOINT_URL}",
        "media-src": f"data: blob: {settings.S3_ENDPOINT_URL}",
        "connect-src": "'none'",
        "form-action": "'none'",
        "base-uri": "'none'",
        "frame-ancestors": "'self'",
    }
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    assert '<script src="http://testserver/static/tasks/crowd-elements.js"></script>' in page
    assert "<p>&lt;b&gt;Cat?&lt;/b&gt;</p>" in page
    assert '<img src="http://127.0.0.1:' in page


def test_with_local_storage_images_come_from_this_site(organization, worker, settings):
    job = custom_job(organization)
    assignment = claim(job, worker)
    settings.OBJECT_STORAGE = "local"

    response = browser_for(worker.user).get(frame_url(assignment))

    assert "img-src data: blob: http://testserver;" in response["Content-Security-Policy"]
    assert '<img src="/objects/' in response.content.decode()


@pytest.mark.parametrize("who", ["other_worker", "requester", "anonymous"])
def test_no_one_else_gets_the_page(organization, worker, requester, who):
    job = custom_job(organization)
    assignment = claim(job, worker)
    client = {
        "other_worker": browser_for(WorkerFactory().user),
        "requester": browser_for(requester),
        "anonymous": Client(),
    }[who]

    response = client.get(frame_url(assignment))

    if who == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    else:
        assert response.status_code == 404
    assert "Content-Security-Policy" not in response


def test_the_page_is_gone_once_the_lease_ended_or_the_answer_was_given(organization, worker):
    job = custom_job(organization)
    assignment = claim(job, worker)
    client = browser_for(worker.user)
    Assignment.objects.filter(pk=assignment.pk).update(expires_at=timezone.now())

    assert client.get(frame_url(assignment)).status_code == 404

    second = claim(job, worker)
    queue.assignment_submit(assignment=second, answer={"note": "ok"})
    assert client.get(frame_url(second)).status_code == 404


def test_a_built_in_task_has_no_page(organization, worker):
    job = job_in_progress(organization, objects=1)
    assignment, _ = queue.assignment_claim(worker=worker, job=job)

    assert browser_for(worker.user).get(frame_url(assignment)).status_code == 404


def test_the_labeling_page_frames_the_task_in_a_sandbox(organization, worker):
    job = custom_job(organization)

    response = browser_for(worker.user).get(f"/work/jobs/{job.pk}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert '<iframe id="task-frame"' in page
    assert 'sandbox="allow-scripts allow-forms"' in page
    assert "allow-same-origin" not in page


# --- The API: what a claim gives, what an answer may be -----------------------------------------


def test_the_claim_gives_the_task_input_and_the_page_url(organization, worker, worker_client):
    job = custom_job(organization)
    DataObject.objects.filter(job=job).update(task_input={"taskObject": IMAGE, "n": [1, 2]})

    response = worker_client.post(f"/api/v1/worker/jobs/{job.pk}/assignments")

    assert response.status_code == 201
    body = response.json()
    assert body["task_input"] == {
        "taskInput": {"taskObject": IMAGE, "n": [1, 2]},
        "taskPageUrl": f"http://testserver/work/assignments/{body['id']}/frame",
    }


def test_the_default_task_input_is_the_source(organization, worker, worker_client):
    job = custom_job(organization, lines=[{"source": "Great film."}])

    body = worker_client.post(f"/api/v1/worker/jobs/{job.pk}/assignments").json()

    assert body["task_input"]["taskInput"] == {"taskObject": "Great film."}


def test_a_custom_answer_is_stored_as_given(organization, worker, worker_client):
    job = custom_job(organization)
    assignment = claim(job, worker)
    answer = {"note": "a <b>", "kind": {"cat": True, "dog": False}, "tags": ["x", "y"], "n": 2}

    response = worker_client.post(
        f"/api/v1/worker/assignments/{assignment.pk}/submit", answer, format="json"
    )

    assert response.status_code == 200
    assignment.refresh_from_db()
    assert (assignment.status, assignment.answer) == ("submitted", answer)


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        (["not", "an", "object"], "The answer must be a JSON object."),
        ("text", "The answer must be a JSON object."),
        ({"note": "x" * 100_000}, "The answer is longer than 100,000 characters as JSON."),
    ],
)
def test_a_custom_answer_must_be_a_json_object_of_bounded_size(
    organization, worker, worker_client, answer, detail
):
    job = custom_job(organization)
    assignment = claim(job, worker)

    response = worker_client.post(
        f"/api/v1/worker/assignments/{assignment.pk}/submit", answer, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_answer",
        "detail": detail,
        "fields": {"non_field_errors": [detail]},
    }
    assignment.refresh_from_db()
    assert (assignment.status, assignment.answer) == ("reserved", None)


# --- Built-in tasks whose task input a pre-annotation hook set ----------------------------------


@pytest.mark.parametrize(
    ("task_object", "expected"),
    [
        ("s3://groundwork-test/images/crop-0.png", "presigned"),
        ("s3://elsewhere/images/0.png", ""),
    ],
)
def test_a_hook_set_image_is_presigned_only_in_the_jobs_buckets(
    organization, worker, worker_client, task_object, expected
):
    job = job_in_progress(organization, objects=1)
    DataObject.objects.filter(job=job).update(task_input={"taskObject": task_object})
    assignment, _ = queue.assignment_claim(worker=worker, job=job)

    task_input = worker_client.get(f"/api/v1/worker/assignments/{assignment.pk}").json()[
        "task_input"
    ]

    if expected:
        assert task_input["taskObject"].startswith(
            f"{storage.client().meta.endpoint_url}/groundwork-test/images/crop-0.png?"
        )
    else:
        assert task_input == {"taskObject": ""}


def test_a_hook_set_text_is_the_text(organization, worker, worker_client):
    payments.funding_record(owner=organization.ledger_owner, amount_mills=10_000, reference="f")
    put_manifest(MANIFEST, [{"source": "original"}])
    job = job_created(
        organization, name="texts", task_type="text_classification", input_manifest_uri=MANIFEST
    )
    ingest.manifest_ingest(job_id=job.pk)
    DataObject.objects.filter(job=job).update(task_input={"taskObject": "from the hook"})
    assignment, _ = queue.assignment_claim(worker=worker, job=job)

    body = worker_client.get(f"/api/v1/worker/assignments/{assignment.pk}").json()

    assert body["task_input"] == {"taskObject": "from the hook"}
