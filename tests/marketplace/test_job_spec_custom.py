"""The spec's custom task type, Liquid template, annotation hooks and custom consolidation."""

import pytest

from marketplace.models import Job
from tests.factories import job_spec

pytestmark = pytest.mark.django_db

TEMPLATE = """<crowd-form>
  <img src="{{ task.input.taskObject | grant_read_access }}">
  <input name="caption">
</crowd-form>"""
HOOK = "https://hooks.example.com/consolidate"


def custom_spec(**overrides) -> dict:
    fields = {
        "task_type": "custom",
        "ui_template": TEMPLATE,
        "label_categories": {"document-version": "2018-11-28", "labels": [{"label": "caption"}]},
    }
    return job_spec(**{**fields, **overrides})


def post(client, spec: dict):
    return client.post("/api/v1/labeling-jobs", spec, format="json")


def test_a_custom_job_is_created_with_its_template_and_one_label(requester_client):
    response = post(requester_client, custom_spec())

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["task_type"] == "custom"
    assert body["ui_template"] == TEMPLATE
    assert body["consolidation"] == "auto"
    assert body["label_categories"]["labels"] == [{"label": "caption"}]
    job = Job.objects.get()
    assert job.has_raw_labels


def test_hooks_are_stored_and_a_post_hook_makes_consolidation_custom(requester_client):
    response = post(
        requester_client,
        custom_spec(
            pre_annotation_hook="tasks.builtin_hooks.pre_annotation",
            post_annotation_hook=HOOK,
        ),
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["pre_annotation_hook"] == "tasks.builtin_hooks.pre_annotation"
    assert body["post_annotation_hook"] == HOOK
    assert body["consolidation"] == "custom"


def test_a_classification_job_may_be_consolidated_by_a_hook(requester_client):
    response = post(requester_client, job_spec(post_annotation_hook=HOOK, consolidation="custom"))

    assert response.status_code == 201, response.json()
    assert Job.objects.get().has_raw_labels


@pytest.mark.parametrize(
    ("spec", "fields"),
    [
        (
            custom_spec(ui_template=None),
            {"ui_template": ["Custom jobs need the Liquid template workers see."]},
        ),
        (
            custom_spec(ui_template="   "),
            {"ui_template": ["Custom jobs need the Liquid template workers see."]},
        ),
        (job_spec(ui_template=TEMPLATE), {"ui_template": ["Only custom jobs take a template."]}),
        (
            job_spec(post_annotation_hook=HOOK, consolidation="majority"),
            {
                "consolidation": [
                    "A post-annotation hook consolidates the answers: use custom, or leave it out."
                ]
            },
        ),
        (
            custom_spec(consolidation="dawid_skene"),
            {
                "consolidation": [
                    "Custom tasks are consolidated by a post-annotation hook (custom) or passed "
                    "through with every answer (auto)."
                ]
            },
        ),
        (
            job_spec(label_categories={"labels": [{"label": "cat"}]}),
            {"label_categories": ["Classification needs at least 2 labels."]},
        ),
        (
            custom_spec(label_categories={"labels": []}),
            {"label_categories": ["Give at least 1 label."]},
        ),
    ],
)
def test_custom_rules_name_the_field(requester_client, spec, fields):
    response = post(requester_client, spec)

    assert response.status_code == 400
    assert response.json()["fields"] == fields
    assert Job.objects.count() == 0


def test_a_template_that_does_not_parse_is_refused_with_its_line(requester_client):
    response = post(requester_client, custom_spec(ui_template="<p>\n{% if %}</p>"))

    assert response.status_code == 400
    [reason] = response.json()["fields"]["ui_template"]
    assert "line 2" in reason


@pytest.mark.parametrize(
    "hook",
    [
        "http://hooks.example.com/pre",  # plain HTTP
        "ftp://hooks.example.com/pre",
        "https://user:secret@hooks.example.com/pre",
        "os.system",  # a dotted path that is not allowed
        "not a hook",
    ],
)
def test_bad_hooks_are_refused_and_every_bad_field_is_named(requester_client, hook):
    response = post(
        requester_client,
        custom_spec(pre_annotation_hook=hook, post_annotation_hook=hook, workers_per_object=0),
    )

    assert response.status_code == 400
    fields = response.json()["fields"]
    assert set(fields) == {"pre_annotation_hook", "post_annotation_hook", "workers_per_object"}
    assert Job.objects.count() == 0
