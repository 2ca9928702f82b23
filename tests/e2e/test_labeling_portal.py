"""The worker portal in headless Chromium: the job board, the labeling page for image and text
classification (one label or several), declining, stopping, the countdown, and My work."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tasks import services, storage
from tasks.models import Assignment
from tests.e2e.conftest import DESKTOP
from tests.factories import WorkerFactory, job_in_progress, put_manifest
from workforce.models import Worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

DEMO_IMAGES = Path(__file__).resolve().parents[2] / "marketplace" / "demo" / "images"
PHONE = {"width": 390, "height": 844}
INSTRUCTIONS = {
    "short": "<p>Choose <b>cat</b> or <b>dog</b>.</p>",
    "full": "<p>Look at the whole photo. If both animals show, choose the larger one.</p>",
    "good_example": "<p>A photo of a sleeping dog: <b>dog</b>.</p>",
    "bad_example": "<p>A dog in a cat costume labeled <b>cat</b>: label the animal.</p>",
}
TEXTS = [
    "The city council voted on Tuesday to fund a new football stadium, after a long debate "
    "about taxes and the budget.",
    "Astronomers measured the spin of a distant black hole using X-ray telescopes.",
]


def images(count: int) -> None:
    for n, image in enumerate(sorted(DEMO_IMAGES.glob("*.png"))[:count]):
        storage.write(f"s3://groundwork-test/images/{n}.png", [image.read_bytes()])


def sign_in(page: Page, base_url: str, worker: Worker) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=login]", worker.user.email)
    page.fill("input[name=password]", "correct-horse-battery-staple")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_attached()


def start_working(page: Page, base_url: str, title: str) -> None:
    page.goto(f"{base_url}/work/")
    row = page.get_by_role("row").filter(has_text=title)
    row.get_by_role("link", name="Start working").click()
    expect(page.locator("#task")).to_be_visible()


def image_loaded(page: Page) -> None:
    page.wait_for_function(
        "() => { const i = document.getElementById('task-image'); "
        "return i.complete && i.naturalWidth > 0; }"
    )


def current(worker: Worker) -> Assignment:
    return Assignment.objects.select_related("data_object").get(
        worker=worker, status=Assignment.Status.RESERVED
    )


def test_image_task_answered_with_keys_then_the_next_image_shows(
    live_server, browser_page, organization, tmp_path
):
    # Given a running image job of three objects with instructions and examples, whose first
    # object another worker answered in 36 seconds, and a job nobody answered yet
    images(3)
    job = job_in_progress(organization, objects=3, instructions=INSTRUCTIONS)
    job_in_progress(organization, objects=1, name="birds", title="Which bird?")
    earlier, _ = services.assignment_claim(worker=WorkerFactory(), job=job)
    earlier = services.assignment_submit(
        assignment=earlier, answer={"crowd-image-classifier": {"label": "cat"}}
    )
    Assignment.objects.filter(pk=earlier.pk).update(
        accepted_at=earlier.submitted_at - timedelta(seconds=36)
    )
    worker = WorkerFactory()
    page = browser_page
    sign_in(page, live_server.url, worker)

    # When the worker opens the job board
    page.goto(f"{live_server.url}/work/")

    # Then each job shows its reward, time limit, tasks left and the estimated hourly rate
    row = page.get_by_role("row").filter(has_text="Cat or dog?")
    expect(row.locator("td[data-label=Reward]")).to_have_text("$0.050 / task")
    expect(row.locator("td[data-label='Time limit']")).to_have_text("5 min")
    expect(row.locator("td[data-label='Tasks left']")).to_have_text("2")
    expect(row.locator("td[data-label='Est. hourly']")).to_have_text("$5.00 / hour")
    other = page.get_by_role("row").filter(has_text="Which bird?")
    expect(other.locator("td[data-label='Est. hourly']")).to_have_text("—")
    page.screenshot(path=tmp_path / "job-board.png", full_page=True)
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=tmp_path / "job-board-phone.png", full_page=True)
    page.set_viewport_size(DESKTOP)

    # When they start working
    row.get_by_role("link", name="Start working").click()

    # Then the image, the labels with their keys, the instructions and the examples show,
    # the full instructions folded away
    image_loaded(page)
    expect(page.get_by_role("radio")).to_have_text(["1 cat", "2 dog"])
    expect(page.get_by_text("Choose cat or dog.")).to_be_visible()
    expect(page.get_by_role("region", name="Good example")).to_contain_text("a sleeping dog")
    expect(page.get_by_role("region", name="Bad example")).to_contain_text("cat costume")
    expect(page.get_by_text("If both animals show")).to_be_hidden()
    expect(page.locator("#timer")).to_have_text(re.compile(r"0[45]:\d\d"))
    expect(page.locator("#timer")).not_to_have_class(re.compile("urgent"))
    expect(page.get_by_role("button", name="Submit")).to_be_disabled()
    page.screenshot(path=tmp_path / "image-task.png", full_page=True)
    first = current(worker)
    first_src = page.locator("#task-image").get_attribute("src")

    # When they press 2 then Enter (each image shown is recorded with whether it was ready)
    page.evaluate(
        """() => {
          const image = document.getElementById('task-image');
          window.shown = [];
          new MutationObserver(() => window.shown.push(image.complete && image.naturalWidth > 0))
            .observe(image, { attributes: true, attributeFilter: ['src'] });
        }"""
    )
    page.keyboard.press("2")
    expect(page.get_by_role("radio", name="2 dog")).to_have_attribute("aria-checked", "true")
    expect(page.get_by_role("radio", name="1 cat")).to_have_attribute("aria-checked", "false")
    page.keyboard.press("Enter")

    # Then the next image shows, loaded before it replaced the first, with no label chosen
    page.wait_for_function(
        "src => document.getElementById('task-image').src !== src", arg=first_src
    )
    assert page.evaluate("window.shown") == [True]
    expect(page.get_by_role("radio", checked=True)).to_have_count(0)
    second = current(worker)
    assert (first.data_object.position, second.data_object.position) == (1, 2)
    first.refresh_from_db()
    assert (first.status, first.answer) == (
        Assignment.Status.SUBMITTED,
        {"crowd-image-classifier": {"label": "dog"}},
    )

    # And on a phone the task, the labels and the submit button fit the width
    page.set_viewport_size(PHONE)
    expect(page.get_by_role("button", name="Submit")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=tmp_path / "image-task-phone.png", full_page=True)

    # When they click a label and the submit button, there is nothing left for them
    page.get_by_role("radio", name="1 cat").click()
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("No more tasks in this job for you.")).to_be_visible()
    assert Assignment.objects.filter(job=job, status=Assignment.Status.SUBMITTED).count() == 3


def test_text_task_with_several_labels_toggled_by_keys(
    live_server, browser_page, organization, tmp_path
):
    # Given a running text job with several labels per answer
    put_manifest("s3://groundwork-test/input/news.manifest", [{"source": t} for t in TEXTS])
    job = job_in_progress(
        organization,
        name="news",
        title="Topics of a news item",
        task_type="text_classification_multilabel",
        input_manifest_uri="s3://groundwork-test/input/news.manifest",
        rewrite_manifest=False,
        label_categories={
            "document-version": "2018-11-28",
            "labels": [{"label": "politics"}, {"label": "sports"}, {"label": "science"}],
        },
        instructions={"short": "<p>Choose every topic the text is about.</p>", "full": ""},
    )
    worker = WorkerFactory()
    page = browser_page
    sign_in(page, live_server.url, worker)

    # When they start working
    start_working(page, live_server.url, "Topics of a news item")

    # Then the text shows in a reading panel and the labels are checkboxes
    expect(page.locator("#task-text")).to_have_text(TEXTS[0])
    expect(page.locator("#task-image")).to_have_count(0)
    expect(page.get_by_role("checkbox")).to_have_text(["1 politics", "2 sports", "3 science"])
    expect(page.get_by_text("Choose all labels that apply")).to_be_visible()

    # When they toggle 1, 2, 3 and 3 again by keys
    for key in "1233":
        page.keyboard.press(key)

    # Then politics and sports are on, and Enter without a label does nothing
    expect(page.get_by_role("checkbox", checked=True)).to_have_text(["1 politics", "2 sports"])
    page.screenshot(path=tmp_path / "text-multilabel-task.png", full_page=True)
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=tmp_path / "text-multilabel-phone.png", full_page=True)
    page.set_viewport_size(DESKTOP)
    first = current(worker)

    # When they press Enter
    page.keyboard.press("Enter")

    # Then the answer is stored in Ground Truth's shape and the next text shows
    expect(page.locator("#task-text")).to_have_text(TEXTS[1])
    expect(page.get_by_role("checkbox", checked=True)).to_have_count(0)
    expect(page.get_by_role("button", name="Submit")).to_be_disabled()
    page.keyboard.press("Enter")
    assert current(worker).data_object.position == 1
    first.refresh_from_db()
    assert (first.status, first.answer) == (
        Assignment.Status.SUBMITTED,
        {"crowd-classifier-multi-select": {"labels": ["politics", "sports"]}},
    )
    assert job.task_type == "text_classification_multilabel"


def test_decline_moves_on_and_stop_gives_the_task_back(live_server, browser_page, organization):
    # Given a running job of two images and a worker on its labeling page
    images(2)
    job = job_in_progress(organization, objects=2)
    worker = WorkerFactory()
    page = browser_page
    sign_in(page, live_server.url, worker)
    start_working(page, live_server.url, "Cat or dog?")
    image_loaded(page)
    declined = current(worker)
    assert declined.data_object.position == 0

    # When they decline the first task
    page.get_by_role("button", name="Decline").click()

    # Then the second one shows, and the first is declined
    page.wait_for_function(
        "n => document.getElementById('task-image').src.includes(n)", arg="1.png"
    )
    image_loaded(page)
    declined.refresh_from_db()
    assert declined.status == Assignment.Status.DECLINED
    kept = current(worker)
    assert kept.data_object.position == 1

    # When they stop and resume later
    page.get_by_role("button", name="Stop and resume later").click()

    # Then they are back on the job board, and the lease went back to the queue
    expect(page).to_have_url(f"{live_server.url}/work/")
    kept.refresh_from_db()
    assert kept.status == Assignment.Status.RETURNED

    # When they resume, they get the second object again, never the declined one
    start_working(page, live_server.url, "Cat or dog?")
    image_loaded(page)
    assert current(worker).data_object.position == 1
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.get_by_text("No more tasks in this job for you.")).to_be_visible()
    assert list(
        Assignment.objects.filter(worker=worker, data_object__position=0).values_list(
            "status", flat=True
        )
    ) == [Assignment.Status.DECLINED]
    assert services.assignment_claim(worker=worker, job=job) == (None, False)


def test_the_countdown_warns_in_the_last_minute_and_says_when_time_ran_out(
    live_server, browser_page, organization, tmp_path
):
    # Given a job whose tasks have 30 seconds, and a worker on its labeling page
    images(1)
    job = job_in_progress(organization, objects=1, task_time_limit_seconds=30)
    worker = WorkerFactory()
    page = browser_page
    sign_in(page, live_server.url, worker)
    start_working(page, live_server.url, "Cat or dog?")

    # Then the countdown shows the last minute as a warning
    expect(page.locator("#timer")).to_have_text(re.compile(r"00:[23]\d"))
    expect(page.locator("#timer")).to_have_class(re.compile(r"\burgent\b"))
    expect(page.locator("#timer-caption")).to_have_text("Less than a minute left")
    page.screenshot(path=tmp_path / "countdown-warning.png")

    # When the lease is about to end
    lease = current(worker)
    Assignment.objects.filter(pk=lease.pk).update(expires_at=timezone.now() + timedelta(seconds=4))
    page.reload()
    expect(page.locator("#task")).to_be_visible()

    # Then at zero the page says the time ran out, and offers another task
    expect(page.get_by_role("heading", name="Time ran out for this task")).to_be_visible(
        timeout=15_000
    )
    expect(page.locator("#task")).to_be_hidden()
    page.screenshot(path=tmp_path / "time-ran-out.png", full_page=True)
    page.get_by_role("button", name="Take another task").click()
    expect(page.locator("#task")).to_be_visible()
    image_loaded(page)
    fresh = current(worker)
    assert fresh.pk != lease.pk
    assert fresh.expires_at - fresh.accepted_at == timedelta(seconds=30)
    assert job.task_time_limit_seconds == 30


def test_my_work_shows_the_reason_for_a_rejection(
    live_server, browser_page, organization, tmp_path
):
    # Given a worker whose two answers were approved (with a bonus) and rejected
    images(2)
    job = job_in_progress(organization, objects=2)
    worker = WorkerFactory()
    cat = {"crowd-image-classifier": {"label": "cat"}}
    done = []
    for _ in range(2):
        assignment, _ = services.assignment_claim(worker=worker, job=job)
        done.append(services.assignment_submit(assignment=assignment, answer=cat))
    services.assignment_approve(assignment=done[0])
    services.assignment_reject(assignment=done[1], reason="That is a dog, not a cat.")
    services.assignment_bonus(
        assignment=done[0], amount_mills=250, reason="Fast and careful.", unique_request_token="b"
    )
    page = browser_page
    sign_in(page, live_server.url, worker)

    # When they follow "My work" in the navigation
    page.goto(f"{live_server.url}/work/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My work").click()

    # Then both answers show with their review, and the rejection with its reason
    expect(page).to_have_url(f"{live_server.url}/work/history")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    rejected = rows.filter(has_text="Rejected")
    expect(rejected).to_contain_text("Reason for the rejection: That is a dog, not a cat.")
    expect(rejected.locator("td[data-label=Reward]")).to_have_text("$0.050 not paid")
    approved = rows.filter(has_text="Approved")
    expect(approved).to_have_count(1)
    expect(approved).to_contain_text("Bonus of $0.250: Fast and careful.")
    page.screenshot(path=tmp_path / "my-work.png", full_page=True)
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=tmp_path / "my-work-phone.png", full_page=True)
