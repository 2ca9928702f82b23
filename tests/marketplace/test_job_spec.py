"""The job spec (Ground Truth's CreateLabelingJob) as JobSpecInput validates it."""

import pytest

from marketplace.api.serializers import JobSpecInput
from marketplace.errors import field_errors
from tests.factories import job_spec

PATTERN_MESSAGE = "Use letters, digits and hyphens, starting and ending with a letter or digit."


def validate(**overrides) -> JobSpecInput:
    payload = JobSpecInput(data=job_spec(**overrides))
    payload.is_valid()
    return payload


def without(*names: str, **overrides) -> dict:
    spec = job_spec(**overrides)
    for name in names:
        del spec[name]
    return spec


def errors(payload: JobSpecInput) -> dict[str, list[str]]:
    return field_errors(payload.errors)


# --- name ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a", "A", "7", "pets", "Pets-2024", "a-b", "a--b", "a" * 63])
def test_valid_names(name):
    payload = validate(name=name)

    assert errors(payload) == {}
    assert payload.validated_data["name"] == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("-pets", PATTERN_MESSAGE),
        ("pets-", PATTERN_MESSAGE),
        ("pets_2024", PATTERN_MESSAGE),
        ("pets 2024", PATTERN_MESSAGE),
        ("pets!", PATTERN_MESSAGE),
        ("pëts", PATTERN_MESSAGE),
        ("pets.v2", PATTERN_MESSAGE),
        ("", "This field may not be blank."),
        ("a" * 64, "Ensure this field has no more than 63 characters."),
    ],
)
def test_invalid_names(name, message):
    assert errors(validate(name=name)) == {"name": [message]}


# --- label attribute name ------------------------------------------------------------------------


def test_label_attribute_name_defaults_to_the_job_name():
    payload = JobSpecInput(data=without("label_attribute_name", name="pets"))

    assert payload.is_valid(), payload.errors
    assert payload.validated_data["label_attribute_name"] == "pets"


@pytest.mark.parametrize(
    "attribute", ["animal-metadata", "metadata-metadata", "source", "source-ref"]
)
def test_label_attribute_name_refuses_metadata_suffix_and_source(attribute):
    assert errors(validate(label_attribute_name=attribute)) == {
        "label_attribute_name": ["Must not end in '-metadata' nor be 'source' or 'source-ref'."]
    }


@pytest.mark.parametrize("attribute", ["metadata", "animal-meta", "sources", "a" * 127])
def test_label_attribute_name_allows_near_misses(attribute):
    payload = validate(label_attribute_name=attribute)

    assert errors(payload) == {}
    assert payload.validated_data["label_attribute_name"] == attribute


@pytest.mark.parametrize("attribute", ["mask-ref", "a-ref"])
def test_label_attribute_name_ending_in_ref_is_for_segmentation_only(attribute):
    assert errors(validate(label_attribute_name=attribute)) == {
        "label_attribute_name": [
            "Must not end in '-ref': that suffix is for semantic segmentation jobs."
        ]
    }


@pytest.mark.parametrize("task_type", ["bounding_box", "semantic_segmentation"])
def test_ground_truth_task_types_not_run_yet_are_named_as_such(task_type):
    assert errors(validate(task_type=task_type)) == {
        "task_type": [
            f"{task_type} jobs are not available yet; available: image_classification, "
            "image_classification_multilabel, text_classification, "
            "text_classification_multilabel, custom."
        ]
    }


def test_an_unknown_task_type_is_not_a_valid_choice():
    assert errors(validate(task_type="dance")) == {"task_type": ['"dance" is not a valid choice.']}


def test_label_attribute_name_longer_than_127_is_refused():
    assert errors(validate(label_attribute_name="a" * 128)) == {
        "label_attribute_name": ["Ensure this field has no more than 127 characters."]
    }


@pytest.mark.parametrize("name", ["pets-metadata", "source"])
def test_a_defaulted_label_attribute_name_obeys_the_same_rules(name):
    # A job named "pets-metadata" or "source" with no label_attribute_name would write its labels
    # under a reserved output manifest key ("<attr>-metadata" clashes, "source" overwrites the
    # input), so the default must be refused as an explicit value is.
    payload = JobSpecInput(data=without("label_attribute_name", name=name))

    assert payload.is_valid() is False, payload.validated_data
    assert set(errors(payload)) & {"name", "label_attribute_name"}


# --- time limits and defaults --------------------------------------------------------------------


def test_defaults():
    spec = without(
        "label_attribute_name",
        "workers_per_object",
        "keywords",
        "instructions",
        "workforce",
    )
    payload = JobSpecInput(data=spec)

    assert payload.is_valid(), payload.errors
    assert payload.validated_data == {
        "name": "pets",
        "label_attribute_name": "pets",
        "task_type": "image_classification",
        "input_manifest_uri": "s3://groundwork-test/input/pets.manifest",
        "output_path": "s3://groundwork-test/output/",
        "labels": ["cat", "dog"],
        "title": "Cat or dog?",
        "description": "Pick the animal in the photo.",
        "keywords": [],
        "short_instructions": "",
        "full_instructions": "",
        "good_example": "",
        "bad_example": "",
        "workforce": "public",
        "workforce_target": "",
        "workers_per_object": 3,
        "task_time_limit_seconds": 300,
        "task_availability_lifetime_seconds": 21_600,
        "max_concurrent_task_count": 1_000,
        "reward_per_task_mills": 50,
        "vendor_price_per_object_mills": None,
        "qualification_requirements": [],
        "auto_approval_delay_seconds": 259_200,
        "input_s3_prefix": "",
        "max_human_labeled_objects": None,
        "max_percentage_labeled": None,
        "consolidation": "auto",
        "max_workers_per_object": None,
        "target_confidence": None,
        "pre_annotation_hook": "",
        "post_annotation_hook": "",
        "ui_template": "",
        "gold_objects": [],
        "gold_share": None,
        "gold_min_answers": 5,
        "gold_accuracy_threshold": None,
    }


@pytest.mark.parametrize(
    ("time_limit", "availability"),
    [(3_600, 600), (601, 600), (28_800, None)],  # None: the public default of 21,600 seconds
)
def test_time_limit_longer_than_availability_is_refused(time_limit, availability):
    overrides = {"task_time_limit_seconds": time_limit}
    if availability is not None:
        overrides["task_availability_lifetime_seconds"] = availability

    assert errors(validate(**overrides)) == {
        "task_time_limit_seconds": ["Must not exceed the task availability lifetime."]
    }


def test_time_limit_equal_to_availability_is_allowed():
    payload = validate(task_time_limit_seconds=600, task_availability_lifetime_seconds=600)

    assert errors(payload) == {}
    assert payload.validated_data["task_time_limit_seconds"] == 600
    assert payload.validated_data["task_availability_lifetime_seconds"] == 600


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("workers_per_object", 0, "Ensure this value is greater than or equal to 1."),
        ("workers_per_object", 10, "Ensure this value is less than or equal to 9."),
        ("task_time_limit_seconds", 29, "Ensure this value is greater than or equal to 30."),
        ("task_time_limit_seconds", 28_801, "Ensure this value is less than or equal to 28800."),
        (
            "task_availability_lifetime_seconds",
            59,
            "Ensure this value is greater than or equal to 60.",
        ),
        (
            "task_availability_lifetime_seconds",
            2_592_001,
            "Ensure this value is less than or equal to 2592000.",
        ),
        ("max_concurrent_task_count", 0, "Ensure this value is greater than or equal to 1."),
        ("max_concurrent_task_count", 5_001, "Ensure this value is less than or equal to 5000."),
        ("auto_approval_delay_seconds", -1, "Ensure this value is greater than or equal to 0."),
        (
            "auto_approval_delay_seconds",
            2_592_001,
            "Ensure this value is less than or equal to 2592000.",
        ),
        ("title", "t" * 129, "Ensure this field has no more than 128 characters."),
        ("description", "d" * 256, "Ensure this field has no more than 255 characters."),
        ("keywords", [], "Ensure this field has at least 1 elements."),
        (
            "keywords",
            ["a", "b", "c", "d", "e", "f"],
            "Ensure this field has no more than 5 elements.",
        ),
        ("workforce", "crowd", "Use 'public', 'private:<team name>' or 'vendor:<vendor>'."),
        ("task_type", "video_tracking", '"video_tracking" is not a valid choice.'),
    ],
)
def test_range_and_choice_rules(field, value, message):
    assert errors(validate(**{field: value})) == {field: [message]}


# --- reward --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("reward", "mills"), [("0.001", 1), ("0.012", 12), ("1", 1_000)])
def test_reward_is_stored_in_mills(reward, mills):
    assert validate(reward_per_task=reward).validated_data["reward_per_task_mills"] == mills


@pytest.mark.parametrize(
    ("reward", "message"),
    [
        ("0.0001", "Amounts are in tenths of a cent at most (three decimal places)."),
        ("0.0125", "Amounts are in tenths of a cent at most (three decimal places)."),
        ("0", "Must be at least $0.001."),
        ("0.000", "Must be at least $0.001."),
        ("10000.001", "Must be at most $10000.000."),
        (0.05, 'Give the amount as a decimal string, for example "0.012".'),
        ("-0.05", "The amount must be a positive decimal."),
        ("five cents", "'five cents' is not a decimal amount."),
    ],
)
def test_invalid_rewards(reward, message):
    assert errors(validate(reward_per_task=reward)) == {"reward_per_task": [message]}


# --- S3 locations --------------------------------------------------------------------------------


def test_output_path_is_normalised_to_end_in_a_slash():
    payload = validate(output_path="s3://groundwork-test/output")

    assert payload.validated_data["output_path"] == "s3://groundwork-test/output/"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("output_path", "http://x", "'http://x' is not an S3 location (s3://bucket/prefix/)."),
        ("output_path", "s3://A/", "'s3://A/' is not an S3 location (s3://bucket/prefix/)."),
        (
            "input_manifest_uri",
            "s3://groundwork-test/input/",
            "'s3://groundwork-test/input/' is not an S3 object URI (s3://bucket/key).",
        ),
        (
            "input_manifest_uri",
            "https://example.com/x.manifest",
            "'https://example.com/x.manifest' is not an S3 object URI (s3://bucket/key).",
        ),
    ],
)
def test_invalid_s3_locations(field, value, message):
    assert errors(validate(**{field: value})) == {field: [message]}


# --- label categories ----------------------------------------------------------------------------


def test_label_categories_become_the_list_of_labels():
    payload = validate(
        label_categories={
            "document-version": "2018-11-28",
            "labels": [{"label": "cat"}, {"label": "dog"}, {"label": "bird"}],
        }
    )

    assert payload.validated_data["labels"] == ["cat", "dog", "bird"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"labels": [{"label": "cat"}]},
            "Classification needs at least 2 labels.",
        ),
        (
            {"labels": [{"label": "cat"}, {"label": "cat"}]},
            "'cat' is listed twice.",
        ),
        (
            {"labels": [{"label": "cat"}, {"label": " "}]},
            "labels[1] needs a 'label' string.",
        ),
        (
            {"labels": [{"label": "cat"}, {"label": "x" * 257}]},
            "labels[1] is longer than 256 characters.",
        ),
        (
            {"document-version": "2019-01-01", "labels": [{"label": "a"}, {"label": "b"}]},
            "'document-version' must be 2018-11-28.",
        ),
        (
            ["cat", "dog"],
            'Give the label category document: {"document-version": "2018-11-28", '
            '"labels": [{"label": "..."}, ...]}.',
        ),
    ],
)
def test_invalid_label_categories(document, message):
    assert errors(validate(label_categories=document)) == {"label_categories": [message]}


# --- instructions --------------------------------------------------------------------------------


def test_instructions_html_is_sanitised():
    payload = validate(
        instructions={
            "short": "<p>Pick <b>one</b>.</p><script>alert('x')</script>",
            "full": '<a href="javascript:alert(1)" onclick="steal()">help</a><img src=x onerror=y>',
        }
    )

    assert payload.validated_data["short_instructions"] == "<p>Pick <b>one</b>.</p>"
    assert payload.validated_data["full_instructions"] == (
        '<a rel="noopener noreferrer">help</a><img src="x">'
    )


def test_good_and_bad_examples_are_kept_sanitised():
    payload = validate(
        instructions={
            "short": "Pick one.",
            "good_example": '<p>A <b>cat</b> on a sofa: "cat".</p><style>body{}</style>',
            "bad_example": "<p onmouseover=x()>A dog labeled cat.</p>",
        }
    )

    data = payload.validated_data
    assert data["good_example"] == '<p>A <b>cat</b> on a sofa: "cat".</p>'
    assert data["bad_example"] == "<p>A dog labeled cat.</p>"
    assert data["full_instructions"] == ""


def test_a_bad_keyword_is_named_by_its_index():
    assert errors(validate(keywords=["fine", "x" * 31])) == {
        "keywords[1]": ["Ensure this field has no more than 30 characters."]
    }
