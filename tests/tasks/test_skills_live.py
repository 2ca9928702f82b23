"""Live consolidation weighted by worker skill: the one-coin posterior by hand, and a
Dawid-Skene job whose known-bad workers lose a 2-to-1 vote; auto jobs with few answers per
worker and multi-label jobs keep the majority vote."""

import pytest

from tasks import consolidation, services
from tasks.models import DataObject
from tests.factories import WorkerFactory, job_in_progress
from workforce.models import WorkerSkill

LABELS = ["a", "b", "c"]


def test_the_posterior_of_three_answers_by_hand():
    # a: 0.9 x (0.4 / 2) x (0.3 / 2) = 0.027; b: (0.1 / 2) x 0.6 x 0.7 = 0.021;
    # c: 0.05 x 0.2 x 0.15 = 0.0015; sum 0.0495
    posterior = consolidation.one_coin_posterior(
        answers=["a", "b", "b"], accuracies=[0.9, 0.6, 0.7], labels=LABELS
    )

    assert posterior == pytest.approx([0.027 / 0.0495, 0.021 / 0.0495, 0.0015 / 0.0495])
    assert consolidation.weighted_vote(
        answers=["a", "b", "b"], accuracies=[0.9, 0.6, 0.7], labels=LABELS
    ) == ("a", 0.55)


def test_one_answer_has_confidence_zero():
    assert consolidation.weighted_vote(answers=["c"], accuracies=[0.95], labels=LABELS) == (
        "c",
        0.0,
    )


@pytest.mark.parametrize(
    "given",
    [["a", "b", "b"], ["c", "a"], ["b", "c", "a"], ["c", "c", "a", "a", "b"], ["b"]],
)
def test_unknown_workers_give_the_majority_label(given):
    label, _ = consolidation.weighted_vote(
        answers=given, accuracies=[None] * len(given), labels=LABELS
    )

    assert label == consolidation.majority_vote(answers=given, labels=LABELS)[0]


def test_unknown_workers_weigh_as_the_prior():
    # b: 0.7 x 0.7 x 0.3 = 0.147; a: 0.3 x 0.3 x 0.7 = 0.063 -> 0.147 / 0.21 = 0.70
    assert consolidation.weighted_vote(
        answers=["a", "b", "b"], accuracies=[None, None, None], labels=["a", "b"]
    ) == ("b", 0.7)


def test_accuracies_are_clamped():
    # 0 and 1 become 0.01 and 0.99: a worker never right still leaves some doubt
    posterior = consolidation.one_coin_posterior(
        answers=["a", "b"], accuracies=[1.0, 0.0], labels=["a", "b"]
    )

    assert posterior == pytest.approx([0.99 * 0.99 / (0.99 * 0.99 + 0.01 * 0.01), 0.0001 / 0.9802])


def test_a_tie_goes_to_the_label_listed_first():
    # b and c: 0.8 x (0.2 / 2) = 0.08 each; a: 0.1 x 0.1 = 0.01 -> b, 0.08 / 0.17 = 0.47
    assert consolidation.weighted_vote(
        answers=["c", "b"], accuracies=[0.8, 0.8], labels=LABELS
    ) == ("b", 0.47)


def label_one_object(job, votes: list[tuple]) -> DataObject:
    """The workers answer the job's single object in turn; consolidation runs after the last."""
    for worker, label in votes:
        assignment, _ = services.assignment_claim(worker=worker, job=job)
        services.assignment_submit(
            assignment=assignment, answer={"crowd-image-classifier": {"label": label}}
        )
    services.data_object_consolidate(data_object_id=assignment.data_object_id)
    return DataObject.objects.get(pk=assignment.data_object_id)


def two_bad_and_one_good(organization, *, answers: int = 40) -> list[tuple]:
    """Three workers whose skill at the organisation rests on `answers` answers each."""
    bad_one, bad_two, good = WorkerFactory(), WorkerFactory(), WorkerFactory()
    for worker, accuracy in [(bad_one, 0.2), (bad_two, 0.2), (good, 0.9)]:
        WorkerSkill.objects.create(
            organization=organization, worker=worker, accuracy=accuracy, answers=answers,
            updated_at="2025-01-01T00:00:00Z",
        )  # fmt: skip
    return [(bad_one, "cat"), (bad_two, "cat"), (good, "dog")]


@pytest.mark.django_db
def test_a_dawid_skene_job_lets_a_known_good_worker_outvote_two_known_bad_ones(organization):
    job = job_in_progress(
        organization, objects=1, workers_per_object=3, consolidation="dawid_skene"
    )

    labeled = label_one_object(job, two_bad_and_one_good(organization))

    # cat: 0.2 x 0.2 x 0.1 = 0.004; dog: 0.8 x 0.8 x 0.9 = 0.576 -> dog, 0.576 / 0.58 = 0.99
    assert (labeled.status, labeled.label, labeled.confidence) == ("labeled", 1, 0.99)


@pytest.mark.django_db
def test_skills_at_another_organisation_do_not_count(organization):
    from tests.factories import OrganizationFactory

    job = job_in_progress(
        organization, objects=1, workers_per_object=3, consolidation="dawid_skene"
    )

    labeled = label_one_object(job, two_bad_and_one_good(OrganizationFactory()))

    # every worker unknown here: cat 0.7 x 0.7 x 0.3 = 0.147, dog 0.063 -> cat, 0.70
    assert (labeled.label, labeled.confidence) == (0, 0.7)


@pytest.mark.django_db
def test_an_auto_job_keeps_the_majority_vote_while_skills_rest_on_few_answers(organization):
    job = job_in_progress(organization, objects=1, workers_per_object=3)
    assert job.consolidation == "auto"

    # 15 answers each: under 8 per label of the job's 2 labels
    labeled = label_one_object(job, two_bad_and_one_good(organization, answers=15))

    assert (labeled.label, labeled.confidence) == (0, 0.67)


@pytest.mark.django_db
def test_a_majority_job_keeps_the_majority_vote(organization):
    job = job_in_progress(organization, objects=1, workers_per_object=3, consolidation="majority")

    labeled = label_one_object(job, two_bad_and_one_good(organization))

    assert (labeled.label, labeled.confidence) == (0, 0.67)


@pytest.mark.django_db
def test_an_auto_job_weights_by_skill_once_skills_rest_on_8_answers_per_label(organization):
    job = job_in_progress(organization, objects=1, workers_per_object=3)

    labeled = label_one_object(job, two_bad_and_one_good(organization, answers=16))

    assert (labeled.label, labeled.confidence) == (1, 0.99)
