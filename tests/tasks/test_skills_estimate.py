"""Worker skill estimated by Dawid-Skene across an organisation's single-label jobs: a random
worker comes out clearly below two careful ones, a re-run replaces the rows, and the beat
re-estimates only organisations with answers since their last estimate."""

import random

import pytest

from tasks import services
from tests.factories import OrganizationFactory, WorkerFactory, job_in_progress
from workforce.models import WorkerSkill

pytestmark = pytest.mark.django_db

ELEMENT = "crowd-image-classifier"
OBJECTS = 24


def truth(position: int) -> str:
    return "cat" if position % 2 else "dog"


def answer_everything(job, choosers: dict) -> None:
    """Each worker claims and answers every object of the job in turn; `choosers[worker]`
    gives its label for an object position."""
    for _ in range(job.data_objects.count()):
        for worker, choose in choosers.items():
            assignment, created = services.assignment_claim(worker=worker, job=job)
            assert created
            services.assignment_submit(
                assignment=assignment,
                answer={ELEMENT: {"label": choose(assignment.data_object.position)}},
            )


def synthetic_job(organization, name: str = "pets"):
    """Two workers who always give the true label and one who picks at random."""
    job = job_in_progress(organization, objects=OBJECTS, name=name, workers_per_object=3)
    careful = [WorkerFactory(), WorkerFactory()]
    guesser = WorkerFactory()
    coin = random.Random(6)  # noqa: S311 - a reproducible random worker
    answer_everything(
        job,
        {
            careful[0]: truth,
            careful[1]: truth,
            guesser: lambda _position: coin.choice(["cat", "dog"]),
        },
    )
    return careful, guesser


def test_a_random_worker_comes_out_clearly_below_two_careful_ones(organization):
    careful, guesser = synthetic_job(organization)

    estimated = services.worker_skills_estimate(organization=organization)

    skills = {row.worker_id: row for row in WorkerSkill.objects.filter(organization=organization)}
    assert estimated == 3
    assert {skills[worker.pk].answers for worker in [*careful, guesser]} == {OBJECTS}
    assert min(skills[worker.pk].accuracy for worker in careful) > 0.9
    assert skills[guesser.pk].accuracy < 0.7


def test_running_the_estimate_again_replaces_the_rows(organization):
    synthetic_job(organization)
    services.worker_skills_estimate(organization=organization)
    first = list(
        WorkerSkill.objects.order_by("worker_id").values_list("pk", "worker_id", "accuracy")
    )

    services.worker_skills_estimate(organization=organization)

    assert (
        list(WorkerSkill.objects.order_by("worker_id").values_list("pk", "worker_id", "accuracy"))
        == first
    )
    assert WorkerSkill.objects.count() == 3


def test_gold_labels_anchor_the_estimate(organization):
    job = job_in_progress(organization, objects=4, workers_per_object=2)
    ana, bo = WorkerFactory(), WorkerFactory()
    answer_everything(job, {ana: truth, bo: lambda position: truth(position + 1)})
    gold = {obj.pk: truth(obj.position) for obj in job.data_objects.all()}

    services.worker_skills_estimate(organization=organization, gold=gold)

    skills = dict(WorkerSkill.objects.values_list("worker_id", "accuracy"))
    assert skills[ana.pk] > 0.6 > skills[bo.pk]


def test_the_beat_estimates_only_organisations_with_new_answers(organization):
    synthetic_job(organization)
    quiet = OrganizationFactory()
    synthetic_job(quiet, name="quiet")
    idle = OrganizationFactory()
    assert set(services.organizations_due_for_skills()) == {organization, quiet}
    assert services.worker_skills_estimate_due() == 2
    quiet_rows = list(WorkerSkill.objects.filter(organization=quiet).values_list("updated_at"))
    assert list(services.organizations_due_for_skills()) == []

    more = job_in_progress(organization, objects=1, name="more", workers_per_object=1)
    answer_everything(more, {WorkerFactory(): truth})

    assert list(services.organizations_due_for_skills()) == [organization]
    assert services.worker_skills_estimate_due() == 1
    assert WorkerSkill.objects.filter(organization=organization).count() == 4
    assert (
        list(WorkerSkill.objects.filter(organization=quiet).values_list("updated_at")) == quiet_rows
    )
    assert not WorkerSkill.objects.filter(organization=idle).exists()


def test_multilabel_and_hook_consolidated_jobs_are_left_out(organization):
    job = job_in_progress(
        organization,
        objects=1,
        workers_per_object=1,
        task_type="image_classification_multilabel",
    )
    assignment, _ = services.assignment_claim(worker=WorkerFactory(), job=job)
    services.assignment_submit(
        assignment=assignment, answer={"crowd-image-classifier-multi-select": {"labels": ["cat"]}}
    )

    assert list(services.organizations_due_for_skills()) == []
    assert services.worker_skills_estimate(organization=organization) == 0
