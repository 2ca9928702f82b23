"""The gold tasks of a job spec: objects with a known label, the share of a worker's tasks
they take, and the accuracy a worker must keep."""

import pytest

from marketplace.api.serializers import JobSpecInput
from marketplace.errors import field_errors
from marketplace.models import Job
from tests.factories import job_spec

pytestmark = pytest.mark.django_db

GOLD = {
    "objects": [
        {"source-ref": "s3://groundwork-test/gold/cat.png", "label": "cat"},
        {"source-ref": "s3://groundwork-test/gold/dog.jpg", "label": "dog"},
    ],
    "share": "0.10",
    "min_answers": 4,
    "accuracy_threshold": "0.70",
}


def gold_with(**overrides) -> dict:
    return {**GOLD, **overrides}


def test_the_spec_stores_gold_tasks_and_returns_them(requester_client):
    response = requester_client.post("/api/v1/labeling-jobs", job_spec(gold=GOLD), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["gold"] == GOLD
    job = Job.objects.get()
    assert (job.gold_objects, job.gold_share, job.gold_min_answers) == (GOLD["objects"], 0.1, 4)
    assert job.gold_accuracy_threshold == 0.7


def test_text_gold_takes_inline_source_and_defaults_min_answers():
    payload = JobSpecInput(
        data=job_spec(
            task_type="text_classification",
            gold={"objects": [{"source": "A purring cat.", "label": "cat"}], "share": "0.50"},
        )
    )

    assert payload.is_valid(), payload.errors
    data = payload.validated_data
    assert data["gold_objects"] == [{"source": "A purring cat.", "label": "cat"}]
    assert (data["gold_share"], data["gold_min_answers"], data["gold_accuracy_threshold"]) == (
        0.5,
        5,
        None,
    )


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        (
            {
                "gold": gold_with(
                    objects=[GOLD["objects"][0], {"source-ref": "s3://groundwork-test/k.png"}]
                )
            },
            {"gold.objects[1].label": ["Must be one of the job's labels."]},
        ),
        (
            {
                "gold": gold_with(
                    objects=[{"source-ref": "s3://groundwork-test/k.png", "label": "horse"}]
                )
            },
            {"gold.objects[0].label": ["Must be one of the job's labels."]},
        ),
        (
            {"gold": gold_with(objects=[{"source-ref": "https://x/k.png", "label": "cat"}])},
            {
                "gold.objects[0].source-ref": [
                    "'https://x/k.png' is not an S3 object URI (s3://bucket/key)."
                ]
            },
        ),
        (
            {
                "gold": gold_with(
                    objects=[{"source-ref": "s3://groundwork-test/k.txt", "label": "cat"}]
                )
            },
            {"gold.objects[0].source-ref": ["Must be a .jpg, .jpeg, .png object."]},
        ),
        (
            {"gold": gold_with(objects=[{"source": "text", "label": "cat"}])},
            {
                "gold.objects[0].source": [
                    "image_classification needs 'source-ref' pointing to an image."
                ]
            },
        ),
        (
            {"gold": gold_with(objects=[])},
            {"gold.objects": ["Give a list of 1 to 1,000 objects."]},
        ),
        ({"gold": gold_with(share="0.60")}, {"gold.share": ["Must be from 0.01 to 0.50."]}),
        ({"gold": gold_with(share="0.00")}, {"gold.share": ["Must be from 0.01 to 0.50."]}),
        (
            {"gold": gold_with(share=0.1)},
            {"gold.share": ['Give a decimal string with at most 2 places, like "0.50".']},
        ),
        (
            {"gold": gold_with(accuracy_threshold="1.5")},
            {"gold.accuracy_threshold": ["Must be from 0.00 to 1.00."]},
        ),
        (
            {"gold": gold_with(min_answers=0)},
            {"gold.min_answers": ["Must be a whole number >= 1."]},
        ),
        (
            {"gold": GOLD, "task_type": "image_classification_multilabel"},
            {"gold": ["Gold tasks are for single-label classification jobs."]},
        ),
    ],
)
def test_bad_gold_is_refused_on_its_field(overrides, fields):
    payload = JobSpecInput(data=job_spec(**overrides))

    assert not payload.is_valid()
    assert field_errors(payload.errors) == fields
