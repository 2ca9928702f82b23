"""Dynamic overlap: one more worker at a time while an object's answers agree with less than
the job's target confidence, up to max_workers_per_object."""

from datetime import timedelta

import pytest
from django.utils import timezone

from marketplace.api.serializers import JobSpecInput
from marketplace.errors import field_errors
from marketplace.models import Job
from marketplace.services import jobs
from tasks import services
from tasks.models import Assignment, DataObject
from tests.factories import WorkerFactory, job_in_progress, job_spec

pytestmark = pytest.mark.django_db

OVERLAP = {"max_workers_per_object": 4, "target_confidence": "0.80"}


def overlap_job(organization, objects: int = 1) -> Job:
    return job_in_progress(
        organization, objects=objects, workers_per_object=2, dynamic_overlap=OVERLAP
    )


@pytest.fixture
def answer(django_capture_on_commit_callbacks):
    """A new worker claims and answers; what the submit queues (consolidation) runs at once."""

    def give(job: Job, label: str) -> Assignment:
        assignment, created = services.assignment_claim(worker=WorkerFactory(), job=job)
        assert created, "the object should still have a free place"
        with django_capture_on_commit_callbacks(execute=True):
            return services.assignment_submit(
                assignment=assignment, answer={"crowd-image-classifier": {"label": label}}
            )

    return give


def the_object(job: Job) -> DataObject:
    return DataObject.objects.get(job=job)


def test_the_spec_stores_dynamic_overlap_and_returns_it(requester_client):
    response = requester_client.post(
        "/api/v1/labeling-jobs",
        job_spec(workers_per_object=2, dynamic_overlap=OVERLAP),
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["dynamic_overlap"] == OVERLAP
    job = Job.objects.get()
    assert (job.max_workers_per_object, job.target_confidence) == (4, 0.8)


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        (
            {"workers_per_object": 4},
            {"dynamic_overlap.max_workers_per_object": ["Must be more than workers_per_object."]},
        ),
        (
            {"task_type": "image_classification_multilabel"},
            {
                "dynamic_overlap": [
                    "Dynamic overlap is for single-label classification jobs consolidated "
                    "without a hook."
                ]
            },
        ),
        (
            {"dynamic_overlap": {"max_workers_per_object": 10, "target_confidence": "1.5"}},
            {
                "dynamic_overlap.max_workers_per_object": [
                    "Ensure this value is less than or equal to 9."
                ],
                "dynamic_overlap.target_confidence": [
                    "Ensure this value is less than or equal to 1.00."
                ],
            },
        ),
    ],
)
def test_bad_dynamic_overlap_is_refused_on_its_field(overrides, fields):
    payload = JobSpecInput(data=job_spec(**{"dynamic_overlap": OVERLAP, **overrides}))

    assert not payload.is_valid()
    assert field_errors(payload.errors) == fields


def test_disagreement_asks_one_more_worker_at_a_time_up_to_the_maximum(organization, answer):
    job = overlap_job(organization)

    answer(job, "cat")
    answer(job, "dog")  # 0.50 < 0.80: a third worker is asked
    assert (the_object(job).status, the_object(job).extra_workers) == ("pending", 1)
    answer(job, "cat")  # 0.67 < 0.80: a fourth
    assert (the_object(job).status, the_object(job).extra_workers) == ("pending", 2)
    answer(job, "cat")  # 0.75, but four is the most: labeled

    labeled = the_object(job)
    assert (labeled.status, labeled.label, labeled.confidence) == ("labeled", 0, 0.75)
    assert services.assignment_claim(worker=WorkerFactory(), job=job) == (None, False)
    job.refresh_from_db()
    assert (job.status, job.human_labeled_count) == (Job.Status.COMPLETED, 1)


def test_agreement_at_the_target_labels_with_the_answers_asked_for(organization, answer):
    job = overlap_job(organization)

    answer(job, "dog")
    answer(job, "dog")

    labeled = the_object(job)
    assert (labeled.status, labeled.label, labeled.confidence, labeled.extra_workers) == (
        "labeled",
        1,
        1.0,
        0,
    )
    assert Assignment.objects.count() == 2


def test_at_the_end_of_its_lifetime_an_object_is_labeled_with_what_it_has(
    organization, answer, django_capture_on_commit_callbacks
):
    job = overlap_job(organization)
    answer(job, "cat")
    answer(job, "dog")
    lifetime = timedelta(seconds=job.task_availability_lifetime_seconds + 1)
    DataObject.objects.filter(job=job).update(in_flight_since=timezone.now() - lifetime)

    with django_capture_on_commit_callbacks(execute=True):
        services.data_objects_expire()

    labeled = the_object(job)
    assert (labeled.status, labeled.label, labeled.confidence) == ("labeled", 0, 0.5)


def test_the_budget_reserved_covers_the_most_workers_per_object(organization):
    job = overlap_job(organization, objects=3)
    plain = job_in_progress(organization, objects=3, workers_per_object=2, name="plain")

    assert jobs.job_cost_per_object_mills(job=job) == 2 * jobs.job_cost_per_object_mills(job=plain)
