"""Gold tasks: objects with a known label served to workers at the job's gold share, scored on
submit, and a requester's accuracy threshold that blocks a worker from its jobs."""

import json

import pytest

from marketplace.models import Job
from payments import selectors as ledger
from tasks import services
from tasks.models import Assignment, DataObject
from tasks.services import gold
from tests.factories import WorkerFactory, job_in_progress
from workforce.models import WorkerBlock, WorkerSkill

pytestmark = pytest.mark.django_db

GOLD_OBJECTS = [
    {"source-ref": "s3://groundwork-test/gold/cat.png", "label": "cat"},
    {"source-ref": "s3://groundwork-test/gold/dog.png", "label": "dog"},
]


class _Fixed:
    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


@pytest.fixture
def always_gold(monkeypatch):
    monkeypatch.setattr(gold, "chance", _Fixed(0.0))


@pytest.fixture
def never_gold(monkeypatch):
    monkeypatch.setattr(gold, "chance", _Fixed(0.999))


def gold_job(organization, *, objects: int = 2, gold_objects=GOLD_OBJECTS, **gold_fields) -> Job:
    return job_in_progress(
        organization,
        objects=objects,
        gold={"objects": gold_objects, "share": "0.50", **gold_fields},
    )


def answer_of(label: str) -> dict:
    return {"crowd-image-classifier": {"label": label}}


def claim_and_answer(job, worker, label, capture) -> Assignment:
    assignment, created = services.assignment_claim(worker=worker, job=job)
    assert created
    with capture(execute=True):
        return services.assignment_submit(assignment=assignment, answer=answer_of(label))


def test_gold_objects_are_created_at_the_start_apart_from_the_manifest(organization):
    job = gold_job(organization)

    golds = list(DataObject.objects.filter(job=job, is_gold=True).order_by("position"))
    assert [(g.position, g.source_ref, g.label, g.status) for g in golds] == [
        (gold.GOLD_POSITION_BASE, "s3://groundwork-test/gold/cat.png", 0, "pending"),
        (gold.GOLD_POSITION_BASE + 1, "s3://groundwork-test/gold/dog.png", 1, "pending"),
    ]
    assert [json.loads(g.input_line) for g in golds] == GOLD_OBJECTS
    assert all(g.in_flight_since is None for g in golds)
    assert job.object_count == 2
    assert job.label_counters["unlabeled"] == 2
    assert (
        DataObject.objects.filter(job=job, is_gold=False, in_flight_since__isnull=False).count()
        == 2
    )
    assert gold.gold_objects_create(job=job) == 0


def test_gold_is_served_first_then_the_manifest_once_the_worker_had_every_gold_object(
    organization, always_gold, django_capture_on_commit_callbacks
):
    job = gold_job(organization)
    worker = WorkerFactory()

    first = claim_and_answer(job, worker, "cat", django_capture_on_commit_callbacks)
    second = claim_and_answer(job, worker, "cat", django_capture_on_commit_callbacks)
    third, created = services.assignment_claim(worker=worker, job=job)

    assert (first.is_gold, second.is_gold, first.slot, second.slot) == (True, True, 0, 0)
    assert {first.data_object_id, second.data_object_id} == set(
        DataObject.objects.filter(job=job, is_gold=True).values_list("pk", flat=True)
    )
    assert created and not third.is_gold
    assert third.data_object.position == 0
    assert DataObject.objects.filter(job=job, is_gold=True, status="pending").count() == 2


def test_at_share_zero_gold_is_never_served(organization, never_gold):
    job = gold_job(organization)

    assignment, _ = services.assignment_claim(worker=WorkerFactory(), job=job)

    assert not assignment.is_gold
    assert assignment.data_object.position == 0


def test_any_number_of_workers_answer_one_gold_object(
    organization, always_gold, django_capture_on_commit_callbacks
):
    job = gold_job(organization, gold_objects=GOLD_OBJECTS[:1])

    given = [
        claim_and_answer(job, WorkerFactory(), "cat", django_capture_on_commit_callbacks)
        for _ in range(5)
    ]

    assert {a.data_object_id for a in given} == {DataObject.objects.get(job=job, is_gold=True).pk}
    assert [(a.is_gold, a.slot, a.status) for a in given] == [(True, 0, "submitted")] * 5
    assert DataObject.objects.get(job=job, is_gold=True).status == "pending"


def test_a_gold_answer_is_scored_and_counted_in_the_worker_record(
    organization, always_gold, django_capture_on_commit_callbacks
):
    job = gold_job(organization)
    worker = WorkerFactory()

    answers = [
        claim_and_answer(job, worker, "cat", django_capture_on_commit_callbacks) for _ in range(2)
    ]

    right = {a.data_object.label == 0 for a in answers}
    assert right == {True, False}
    assert sorted(a.gold_correct for a in answers) == [False, True]
    worker.refresh_from_db()
    assert (worker.gold_answered_count, worker.gold_correct_count) == (2, 1)
    assert not WorkerBlock.objects.exists()


def test_the_threshold_blocks_the_worker_after_the_minimum_of_gold_answers(
    organization, always_gold, django_capture_on_commit_callbacks
):
    golds = [{"source-ref": f"s3://groundwork-test/gold/{n}.png", "label": "dog"} for n in range(3)]
    job = gold_job(organization, gold_objects=golds, min_answers=2, accuracy_threshold="0.70")
    worker = WorkerFactory()

    claim_and_answer(job, worker, "cat", django_capture_on_commit_callbacks)
    assert not WorkerBlock.objects.exists()
    assignment, _ = services.assignment_claim(worker=worker, job=job)
    with django_capture_on_commit_callbacks(execute=True):
        submitted, following = services.assignment_submit_and_claim_next(
            assignment=assignment, answer=answer_of("cat")
        )

    block = WorkerBlock.objects.get()
    assert (block.organization, block.worker, block.created_by) == (
        organization,
        worker,
        job.created_by,
    )
    assert (
        block.reason == "Gold accuracy 0% below the 70% this requester requires (2 gold answers)."
    )
    assert submitted.gold_correct is False
    assert following is None


def test_gold_stays_out_of_consolidation_and_the_output_manifest(
    organization, always_gold, django_capture_on_commit_callbacks
):
    from tasks import storage

    job = gold_job(organization)
    for _ in range(2):
        worker = WorkerFactory()
        claim_and_answer(job, worker, "cat", django_capture_on_commit_callbacks)
        claim_and_answer(job, worker, "dog", django_capture_on_commit_callbacks)
        claim_and_answer(job, worker, "dog", django_capture_on_commit_callbacks)

    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED
    assert job.label_counters["human_labeled"] == 2
    lines = storage.read_bytes(job.output_manifest_uri).decode().splitlines()
    assert [json.loads(line)["source-ref"] for line in lines] == [
        "s3://groundwork-test/images/0.png",
        "s3://groundwork-test/images/1.png",
    ]
    assert DataObject.objects.filter(job=job, is_gold=True, status="pending").count() == 2
    assert Assignment.objects.filter(job=job, is_gold=True).count() == 4


def test_gold_objects_do_not_count_as_tasks_available(organization, never_gold):
    from tasks import selectors

    job = gold_job(organization)

    board = selectors.job_board_for(worker=WorkerFactory())
    assert [(j.pk, j.tasks_available) for j in board] == [(job.pk, 2)]


def test_the_escrow_reserves_the_gold_answers_the_share_allows(organization):
    job = gold_job(organization, objects=3)

    # 3 answers at 50 + 10 fee + 80 service fee each; at a share of 0.50, 3 gold answers more.
    assert ledger.balance_mills(kind="job_escrow", owner=job.ledger_escrow_owner) == (
        3 * (60 + 80) + 3 * 60
    )


def test_a_small_share_rounds_the_gold_allowance_up(organization):
    job = job_in_progress(organization, objects=3, gold={"objects": GOLD_OBJECTS, "share": "0.20"})

    # 3 answers × 0.20 / 0.80 = 0.75 gold answers: 1.
    assert ledger.balance_mills(kind="job_escrow", owner=job.ledger_escrow_owner) == 3 * 140 + 60


def test_an_approved_gold_answer_is_paid_as_an_answer_without_a_service_fee(
    organization, requester, always_gold, django_capture_on_commit_callbacks
):
    job = gold_job(organization)
    worker = WorkerFactory()
    submitted = claim_and_answer(job, worker, "cat", django_capture_on_commit_callbacks)
    escrow = ledger.balance_mills(kind="job_escrow", owner=job.ledger_escrow_owner)

    with django_capture_on_commit_callbacks(execute=True):
        services.assignment_approve(assignment=submitted)

    assert ledger.balance_mills(kind="job_escrow", owner=job.ledger_escrow_owner) == escrow - 60
    assert ledger.balance_mills(kind="worker_pending", owner=worker.ledger_owner) == 50


def test_gold_answers_anchor_the_skill_estimate(
    organization, always_gold, django_capture_on_commit_callbacks
):
    # Two workers answer only the gold objects: one always right, one always wrong. Without
    # the known labels the two would be indistinguishable (each agrees with nobody).
    job = gold_job(organization)
    right, wrong = WorkerFactory(), WorkerFactory()
    for worker, labels in (
        (right, {"cat": "cat", "dog": "dog"}),
        (wrong, {"cat": "dog", "dog": "cat"}),
    ):
        for _ in GOLD_OBJECTS:
            assignment, created = services.assignment_claim(worker=worker, job=job)
            assert created and assignment.is_gold
            known = job.labels[assignment.data_object.label]
            with django_capture_on_commit_callbacks(execute=True):
                services.assignment_submit(assignment=assignment, answer=answer_of(labels[known]))

    services.worker_skills_estimate(organization=organization)

    skills = dict(
        WorkerSkill.objects.filter(organization=organization).values_list("worker_id", "accuracy")
    )
    assert skills[right.pk] > 0.9
    assert skills[wrong.pk] < 0.1
