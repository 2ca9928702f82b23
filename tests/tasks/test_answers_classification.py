"""Answers in Ground Truth's crowd element shapes for the four classification task types, and
how several workers' answers become one label (majority vote)."""

import pytest

from marketplace.errors import ApplicationError
from marketplace.models import Job
from tasks import answers, consolidation, services
from tasks.models import Assignment
from tests.factories import WorkerFactory, job_in_progress
from tests.tasks.test_output_manifest import classification_job

LABELS = ["cat", "dog", "fish"]
SINGLE = [
    ("image_classification", "crowd-image-classifier"),
    ("text_classification", "crowd-classifier"),
]
MULTI = [
    ("image_classification_multilabel", "crowd-image-classifier-multi-select"),
    ("text_classification_multilabel", "crowd-classifier-multi-select"),
]


def job_of(task_type: str) -> Job:
    return Job(task_type=task_type, labels=LABELS)


@pytest.mark.parametrize(("task_type", "element"), SINGLE)
def test_a_single_label_answer_names_one_job_label(task_type, element):
    job = job_of(task_type)

    assert answers.answer_validate(job=job, answer={element: {"label": "dog"}}) == {
        element: {"label": "dog"}
    }
    assert answers.answer_label(job=job, answer={element: {"label": "dog"}}) == "dog"


@pytest.mark.parametrize(("task_type", "element"), MULTI)
def test_a_multi_label_answer_names_job_labels_in_the_workers_order(task_type, element):
    job = job_of(task_type)
    answer = {element: {"labels": ["fish", "cat"]}}

    assert answers.answer_validate(job=job, answer=answer) == answer
    assert answers.answer_labels(job=job, answer=answer) == ["fish", "cat"]


@pytest.mark.parametrize(
    ("task_type", "answer", "field", "reason"),
    [
        (
            "image_classification",
            {"crowd-classifier": {"label": "cat"}},
            "non_field_errors",
            'The answer must be {"crowd-image-classifier": {"label": ...}}.',
        ),
        (
            "text_classification",
            {"crowd-classifier": {"label": "cat"}, "extra": 1},
            "non_field_errors",
            'The answer must be {"crowd-classifier": {"label": ...}}.',
        ),
        (
            "text_classification",
            {"crowd-classifier": {"label": 1}},
            "crowd-classifier.label",
            "Give the chosen label as a string.",
        ),
        (
            "text_classification",
            {"crowd-classifier": {"labels": ["cat"]}},
            "crowd-classifier.label",
            "Give the chosen label as a string.",
        ),
        (
            "image_classification",
            {"crowd-image-classifier": {"label": "horse"}},
            "crowd-image-classifier.label",
            "'horse' is not one of the job's labels.",
        ),
        (
            "image_classification_multilabel",
            {"crowd-image-classifier": {"label": "cat"}},
            "non_field_errors",
            'The answer must be {"crowd-image-classifier-multi-select": {"labels": ...}}.',
        ),
        (
            "image_classification_multilabel",
            {"crowd-image-classifier-multi-select": {"labels": []}},
            "crowd-image-classifier-multi-select.labels",
            "Choose at least one label.",
        ),
        (
            "image_classification_multilabel",
            {"crowd-image-classifier-multi-select": {"labels": "cat"}},
            "crowd-image-classifier-multi-select.labels",
            "Give the chosen labels as a list of strings.",
        ),
        (
            "text_classification_multilabel",
            {"crowd-classifier-multi-select": {"label": "cat"}},
            "crowd-classifier-multi-select.labels",
            "Give the chosen labels as a list of strings.",
        ),
        (
            "text_classification_multilabel",
            {"crowd-classifier-multi-select": {"labels": ["cat", None]}},
            "crowd-classifier-multi-select.labels",
            "Give the chosen labels as a list of strings.",
        ),
        (
            "text_classification_multilabel",
            {"crowd-classifier-multi-select": {"labels": ["cat", "horse", "cow"]}},
            "crowd-classifier-multi-select.labels",
            "'horse', 'cow' are not among the job's labels.",
        ),
        (
            "text_classification_multilabel",
            {"crowd-classifier-multi-select": {"labels": ["dog", "cat", "dog"]}},
            "crowd-classifier-multi-select.labels",
            "'dog' chosen more than once.",
        ),
    ],
)
def test_an_answer_that_does_not_fit_names_the_field(task_type, answer, field, reason):
    with pytest.raises(ApplicationError) as refused:
        answers.answer_validate(job=job_of(task_type), answer=answer)

    assert (refused.value.code, refused.value.status) == ("invalid_answer", 400)
    assert refused.value.fields == {field: [reason]}


@pytest.mark.django_db
@pytest.mark.parametrize(("task_type", "element"), MULTI)
def test_a_bad_multi_label_submit_is_a_400_and_changes_nothing(
    organization, worker, worker_client, django_capture_on_commit_callbacks, task_type, element
):
    job = classification_job(organization, task_type)
    assignment, _ = services.assignment_claim(worker=worker, job=job)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = worker_client.post(
            f"/api/v1/worker/assignments/{assignment.pk}/submit",
            {element: {"labels": ["cat", "horse"]}},
            format="json",
        )

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_answer",
        "detail": "'horse' is not one of the job's labels.",
        "fields": {f"{element}.labels": ["'horse' is not one of the job's labels."]},
    }
    assignment.refresh_from_db()
    assert (assignment.status, assignment.answer) == (Assignment.Status.RESERVED, None)
    assert callbacks == []


@pytest.mark.parametrize(
    ("given", "selected"),
    [
        ([["dog", "cat"]], [(0, 0.0), (1, 0.0)]),  # one worker: everything chosen, 0.00
        ([["cat"], ["cat", "dog"]], [(0, 1.0), (1, 0.5)]),  # half the workers: a tie selects
        ([["cat"], ["dog"], ["fish"]], []),  # no label reaches half: nothing selected
        ([["dog"], ["dog", "fish"], ["fish", "dog"]], [(1, 1.0), (2, 0.67)]),
        ([["fish"], ["cat"], ["fish", "cat"], ["dog"]], [(0, 0.5), (2, 0.5)]),
    ],
)
def test_multi_label_majority_decides_each_label_on_its_own(given, selected):
    assert consolidation.multilabel_majority_vote(answers=given, labels=LABELS) == selected


def test_single_label_majority_breaks_ties_by_category_order():
    assert consolidation.majority_vote(answers=["fish", "dog"], labels=LABELS) == ("dog", 0.5)
    assert consolidation.majority_vote(answers=["fish"], labels=LABELS) == ("fish", 0.0)


@pytest.mark.parametrize(
    "vote", [consolidation.majority_vote, consolidation.multilabel_majority_vote]
)
def test_a_vote_needs_an_answer(vote):
    with pytest.raises(ValueError):
        vote(answers=[], labels=LABELS)


@pytest.mark.django_db
def test_multi_label_consolidation_stores_the_selected_indices_and_their_confidences(
    organization, django_capture_on_commit_callbacks
):
    job = job_in_progress(
        organization,
        objects=1,
        workers_per_object=3,
        task_type="image_classification_multilabel",
        label_categories={
            "document-version": "2018-11-28",
            "labels": [{"label": label} for label in LABELS],
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        for chosen in (["fish", "dog"], ["dog"], ["cat", "fish"]):
            assignment, _ = services.assignment_claim(worker=WorkerFactory(), job=job)
            services.assignment_submit(
                assignment=assignment,
                answer={"crowd-image-classifier-multi-select": {"labels": chosen}},
            )

    data_object = job.data_objects.get()
    assert (data_object.status, data_object.label, data_object.label_confidences) == (
        "labeled",
        [1, 2],
        [0.67, 0.67],
    )
    assert data_object.confidence is None
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED
