"""A worker answers a custom task in headless Chromium: the requester's template in a sandboxed
frame, its form submitted to the labeling page, the answer stored as the form held it."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from marketplace.models import Job
from payments.services import ledger as payments
from tasks import storage
from tasks.manifests import ingest
from tasks.models import Assignment
from tests.factories import WorkerFactory, job_created, put_manifest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

DEMO_IMAGES = Path(__file__).resolve().parents[2] / "marketplace" / "demo" / "images"
MANIFEST = "s3://groundwork-test/input/pets-custom.manifest"
IMAGE = "s3://groundwork-test/images/0.png"
TEMPLATE = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form>
  <crowd-instructions link-text="How to answer">
    <p>Look at the photo, then answer every question.</p>
  </crowd-instructions>
  <img id="photo" src="{{ task.input.taskObject | grant_read_access }}" style="max-width: 100%">
  <p id="question">{{ task.input.question | escape }}</p>
  <fieldset>
    <legend>Animal</legend>
    <label><input type="radio" name="animal" value="cat" required> Cat</label>
    <label><input type="radio" name="animal" value="dog"> Dog</label>
  </fieldset>
  <label><input type="checkbox" name="blurry" value="yes"> The photo is blurry</label>
  <crowd-radio-group>
    <crowd-radio-button name="indoors" value="indoors">Indoors</crowd-radio-button>
    <crowd-radio-button name="outdoors" value="outdoors">Outdoors</crowd-radio-button>
  </crowd-radio-group>
  <p><label>Comment <input type="text" name="comment"></label></p>
  <p>API call from the template: <span id="fetch-result">pending</span></p>
</crowd-form>
<script>
  fetch("/api/v1/worker/jobs", { credentials: "include" }).then(
    function () { document.getElementById("fetch-result").textContent = "reached"; },
    function () { document.getElementById("fetch-result").textContent = "blocked"; }
  );
</script>
"""


def custom_job(organization) -> Job:
    storage.write(IMAGE, [sorted(DEMO_IMAGES.glob("*.png"))[0].read_bytes()])
    put_manifest(MANIFEST, [{"source-ref": IMAGE}])
    payments.funding_record(owner=organization.ledger_owner, amount_mills=100_000, reference="f")
    job = job_created(
        organization,
        name="pets-custom",
        title="Describe the pet",
        input_manifest_uri=MANIFEST,
        workers_per_object=2,
    )
    Job.objects.filter(pk=job.pk).update(task_type=Job.TaskType.CUSTOM, ui_template=TEMPLATE)
    ingest.manifest_ingest(job_id=job.pk)
    job.data_objects.update(task_input={"taskObject": IMAGE, "question": "Which <pet> is it?"})
    return Job.objects.get(pk=job.pk)


def test_worker_answers_a_custom_task_in_the_browser(
    live_server, browser_page, organization, tmp_path
):
    # Given a running custom job over one real image, and a worker with an account
    job = custom_job(organization)
    assert job.status == Job.Status.IN_PROGRESS, job.failure_reason
    worker = WorkerFactory()
    page = browser_page
    console = []
    page.on("console", lambda message: console.append(message.text))

    # When they sign in and start working on the job
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", worker.user.email)
    page.fill("input[name=password]", "correct-horse-battery-staple")
    page.get_by_role("button", name="Sign In").click()
    page.goto(f"{live_server.url}/work/")
    page.get_by_text("Describe the pet").locator("xpath=ancestor::*[.//a][1]").get_by_role(
        "link", name="Start working"
    ).click()

    # Then the template shows in the frame: the image read through a presigned URL, the
    # question escaped, and the template's own request to the API refused by the policy
    frame = page.frame_locator("#task-frame")
    expect(frame.locator("#question")).to_have_text("Which <pet> is it?")
    expect(frame.locator("#fetch-result")).to_have_text("blocked")
    page.wait_for_function(
        "() => document.getElementById('task-frame').getBoundingClientRect().height > 300"
    )
    frame_handle = page.locator("#task-frame").element_handle().content_frame()
    frame_handle.wait_for_function("document.getElementById('photo').naturalWidth > 0")
    expect(frame.get_by_text("How to answer")).to_be_visible()
    expect(frame.get_by_text("Look at the photo")).to_be_hidden()

    # When they fill the form inside the frame and submit it
    frame.get_by_label("Dog").check()
    frame.get_by_label("The photo is blurry").check()
    frame.get_by_label("Outdoors").check()
    frame.get_by_label("Comment").fill('Sleepy, "fluffy" & small')
    page.screenshot(path=tmp_path / "custom-task.png", full_page=True)
    frame.get_by_role("button", name="Submit").click()

    # Then the answer is stored as the form held it, and there is no next task for them
    expect(page.get_by_text("No more tasks in this job for you.")).to_be_visible()
    page.screenshot(path=tmp_path / "custom-task-done.png", full_page=True)
    assignment = Assignment.objects.get(worker=worker)
    assert assignment.status == Assignment.Status.SUBMITTED
    assert assignment.answer == {
        "animal": {"cat": False, "dog": True},
        "blurry": {"yes": True},
        "indoors": {"indoors": False},
        "outdoors": {"outdoors": True},
        "comment": 'Sleepy, "fluffy" & small',
    }
    refused = [line for line in console if "violates the following Content Security Policy" in line]
    assert any("/api/v1/worker/jobs" in line and "connect-src 'none'" in line for line in refused)
    assert any("assets.crowd.aws" in line and "script-src" in line for line in refused)
