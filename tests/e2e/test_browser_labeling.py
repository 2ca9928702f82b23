"""A worker labels a job in headless Chromium: board → Start working → keys → submit → next."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from marketplace.models import Job
from tasks import storage
from tasks.models import Assignment
from tests.factories import WorkerFactory, job_in_progress

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

DEMO_IMAGES = Path(__file__).resolve().parents[2] / "marketplace" / "demo" / "images"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_worker_labels_a_job_in_the_browser(live_server, browser_page, organization):
    # Given a running job over two real images, and a worker with an account
    job = job_in_progress(organization, objects=2)
    for n, image in enumerate(sorted(DEMO_IMAGES.glob("*.png"))[:2]):
        storage.write(f"s3://groundwork-test/images/{n}.png", [image.read_bytes()])
    worker = WorkerFactory()
    page = browser_page

    # When they sign in and open the job board
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", worker.user.email)
    page.fill("input[name=password]", "correct-horse-battery-staple")
    page.get_by_role("button", name="Sign In").click()
    page.goto(f"{live_server.url}/work/")
    expect(page.get_by_text("Cat or dog?")).to_be_visible()

    # And start working: the image, the labels with their keys and the instructions show
    page.get_by_role("link", name="Start working").click()
    image = page.locator("#task-image")
    expect(image).to_be_visible()
    page.wait_for_function("document.getElementById('task-image').naturalWidth > 0")
    expect(page.locator(".label")).to_have_text(["1 cat", "2 dog"])
    expect(page.get_by_text("Choose cat or dog.")).to_be_visible()
    expect(page.locator("#timer")).to_have_text(re.compile(r"0[45]:\d\d"))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "labeling.png", full_page=True)
    first_src = image.get_attribute("src")

    # Then key 2 chooses "dog", Enter submits, and the next task loads
    page.keyboard.press("2")
    expect(page.locator(".label[aria-checked=true]")).to_have_text("2 dog")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "src => document.getElementById('task-image').src !== src", arg=first_src
    )
    page.keyboard.press("1")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("No more tasks in this job for you.")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "labeling-done.png", full_page=True)

    answers = list(
        Assignment.objects.filter(worker=worker)
        .order_by("data_object__position")
        .values_list("status", "answer")
    )
    assert answers == [
        ("submitted", {"crowd-image-classifier": {"label": "dog"}}),
        ("submitted", {"crowd-image-classifier": {"label": "cat"}}),
    ]
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED
    assert storage.read_bytes(job.output_manifest_uri).count(b"\n") == 2
