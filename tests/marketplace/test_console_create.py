"""/jobs/new: a job spec typed into a form, validated by the API's JobSpecInput, created by
jobs.job_create; every error shown beside its field, and what was typed kept."""

import html
import re
from unittest import mock

import pytest

from marketplace.api.serializers import JobSpecInput
from marketplace.console import JobSpecForm
from marketplace.models import Job, JobEvent, VendorOffer
from marketplace.services import jobs
from tests.conftest import bearer_client
from tests.factories import job_spec
from workforce.models import Vendor
from workforce.services import teams

pytestmark = pytest.mark.django_db

NEW = "/jobs/new"
# The form as a requester fills it in: the same job as tests.factories.job_spec().
VALID = {
    "name": "pets",
    "task_type": "image_classification",
    "input_manifest_uri": "s3://groundwork-test/input/pets.manifest",
    "input_s3_prefix": "",
    "output_path": "s3://groundwork-test/output/",
    "labels": "cat\r\ndog\r\n",
    "label_attribute_name": "animal",
    "title": "Cat or dog?",
    "description": "Pick the animal in the photo.",
    "keywords": "images, animals",
    "short_instructions": "<p>Choose <b>cat</b> or <b>dog</b>.</p>",
    "full_instructions": "",
    "workforce": "public",
    "workers_per_object": "1",
    "task_time_limit_seconds": "300",
    "task_availability_lifetime_seconds": "",
    "reward_per_task": "0.050",
    "vendor_price_per_object": "",
    "max_concurrent_task_count": "1000",
    "auto_approval_delay_seconds": "259200",
    "max_human_labeled_objects": "",
    "max_percentage_labeled": "",
}
# Several fields wrong at once; each is refused by JobSpecInput's own field rules.
BAD = {
    **VALID,
    "name": "bad name!",
    "labels": "cat\n",
    "keywords": "images, " + "k" * 31,
    "workers_per_object": "ten",
    "reward_per_task": "0.0001",
    "max_percentage_labeled": "150",
    "short_instructions": "<p>Keep <b>this</b></p>",
}
BAD_ERRORS = {
    "name": ["Use letters, digits and hyphens, starting and ending with a letter or digit."],
    "labels": ["Classification needs at least 2 labels."],
    "keywords": [f"“{'k' * 31}”: Ensure this field has no more than 30 characters."],
    "workers_per_object": ["A valid integer is required."],
    "reward_per_task": ["Amounts are in tenths of a cent at most (three decimal places)."],
    "max_percentage_labeled": ["Ensure this value is less than or equal to 100."],
}


@pytest.fixture
def signed_in(client, requester):
    client.force_login(requester)
    return client


def field_block(page: str, name: str) -> str:
    """The HTML of one field of the form: its label, widget, errors and help."""
    found = re.search(rf'<div class="field[^"]*">\s*<label for="id_{name}">.*?</div>', page, re.S)
    assert found, name
    return found.group(0)


def errors_in(block: str) -> list[str]:
    found = re.search(r'<ul class="errorlist"[^>]*>(.*?)</ul>', block, re.S)
    return (
        [html.unescape(e) for e in re.findall(r"<li>(.*?)</li>", found.group(1))] if found else []
    )


def test_the_form_offers_the_task_types_and_every_workforce(signed_in, organization):
    teams.team_create(owner=organization, name="Staff")
    Vendor.objects.create(name="North Labeling", slug="north")

    response = signed_in.get(NEW)

    assert response.status_code == 200
    page = response.content.decode()
    workforce = field_block(page, "workforce")
    assert re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', workforce) == [
        ("public", "Public crowd"),
        ("private:Staff", "Private team: Staff"),
        ("vendor:north", "Vendor: North Labeling"),
    ]
    task_types = field_block(page, "task_type")
    assert re.findall(r'<option value="([^"]*)"', task_types) == list(Job.TaskType.values)
    assert 'value="3"' in field_block(page, "workers_per_object")  # the spec's default
    assert "(optional)" in field_block(page, "label_attribute_name")
    assert "(optional)" not in field_block(page, "name")


def test_a_valid_form_creates_exactly_one_job_through_the_service(
    signed_in, organization, requester
):
    with mock.patch("marketplace.console.jobs.job_create", wraps=jobs.job_create) as create:
        response = signed_in.post(NEW, VALID, follow=True)

    expected = JobSpecInput(data=job_spec())
    assert expected.is_valid(), expected.errors
    create.assert_called_once_with(
        organization=organization, created_by=requester, spec=expected.validated_data
    )
    job = Job.objects.get()
    assert (job.organization, job.name, job.status) == (organization, "pets", "Initializing")
    assert (job.labels, job.keywords, job.reward_per_task_mills) == (
        ["cat", "dog"],
        ["images", "animals"],
        50,
    )
    assert response.redirect_chain == [("/jobs/pets/", 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "Job “pets” created. Its input is being read; the job starts once every object is listed."
    ]


def test_the_page_creates_the_same_job_as_the_api(signed_in, organization, requester):
    signed_in.post(NEW, {**VALID, "name": "from-page"})
    bearer_client(requester).post("/api/v1/labeling-jobs", job_spec(name="from-api"), format="json")

    ignored = {"id", "name", "created_at"}
    page_job, api_job = (
        {k: v for k, v in Job.objects.filter(name=name).values().get().items() if k not in ignored}
        for name in ("from-page", "from-api")
    )
    assert page_job == api_job


def test_several_bad_fields_create_nothing_and_each_error_is_shown_beside_its_field(
    signed_in,
):
    with mock.patch("marketplace.console.jobs.job_create", wraps=jobs.job_create) as create:
        response = signed_in.post(NEW, BAD)

    assert response.status_code == 400
    create.assert_not_called()
    assert (Job.objects.count(), JobEvent.objects.count()) == (0, 0)
    page = response.content.decode()
    for name, errors in BAD_ERRORS.items():
        block = field_block(page, name)
        assert 'class="field has-error"' in block, name
        assert errors_in(block) == errors, name
    assert {name for name in JobSpecForm.base_fields if errors_in(field_block(page, name))} == set(
        BAD_ERRORS
    )
    assert "Check the fields marked below." in page


def test_what_was_typed_is_kept(signed_in):
    page = signed_in.post(NEW, BAD).content.decode()

    assert 'value="bad name!"' in field_block(page, "name")
    assert 'id="id_labels">\ncat\n</textarea>' in field_block(page, "labels")
    assert f'value="images, {"k" * 31}"' in field_block(page, "keywords")
    assert 'value="ten"' in field_block(page, "workers_per_object")
    assert 'value="0.0001"' in field_block(page, "reward_per_task")
    assert 'value="150"' in field_block(page, "max_percentage_labeled")
    assert "&lt;p&gt;Keep &lt;b&gt;this&lt;/b&gt;&lt;/p&gt;</textarea>" in field_block(
        page, "short_instructions"
    )
    assert re.search(
        r'<option value="image_classification" selected>', field_block(page, "task_type")
    )


def test_the_page_shows_the_errors_the_api_gives_for_the_same_spec(signed_in, requester):
    """Same validation: every error the API names (dotted for nested fields) is on the page."""
    api_spec = job_spec(
        name="bad name!",
        label_categories={"document-version": "2018-11-28", "labels": [{"label": "cat"}]},
        keywords=["images", "k" * 31],
        workers_per_object="ten",
        reward_per_task="0.0001",
        stopping_conditions={"max_percentage_labeled": "150"},
        instructions={"short": "<p>Keep <b>this</b></p>", "full": ""},
    )
    api = bearer_client(requester).post("/api/v1/labeling-jobs", api_spec, format="json").json()

    page = signed_in.post(NEW, BAD).content.decode()

    assert set(api["fields"]) == {
        "name",
        "label_categories",
        "keywords[1]",
        "workers_per_object",
        "reward_per_task",
        "stopping_conditions.max_percentage_labeled",
    }
    for key, reasons in api["fields"].items():
        base = re.sub(r"\[\d+\]", "", key)
        field = JobSpecForm.FIELD_FOR_ERROR.get(base, base)
        shown = errors_in(field_block(page, field))
        assert [reason.split("”: ")[-1] for reason in shown] == reasons, key


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        (
            {"input_manifest_uri": ""},
            "input_manifest_uri",
            "Give input_manifest_uri or input_s3_prefix.",
        ),
        (
            {"input_s3_prefix": "s3://groundwork-test/images/"},
            "input_s3_prefix",
            "Give input_manifest_uri or this, not both.",
        ),
        ({"reward_per_task": ""}, "reward_per_task", "Required for public jobs."),
        (
            {"workforce": "vendor:north", "reward_per_task": ""},
            "vendor_price_per_object",
            "Required for vendor jobs.",
        ),
        (
            {"workforce": "vendor:north", "vendor_price_per_object": "0.500"},
            "reward_per_task",
            "Only public jobs take this.",
        ),
        (
            {"task_time_limit_seconds": "7200", "task_availability_lifetime_seconds": "3600"},
            "task_time_limit_seconds",
            "Must not exceed the task availability lifetime.",
        ),
        (
            {"name": "results-metadata", "label_attribute_name": ""},
            "label_attribute_name",
            "Must not end in '-metadata' nor be 'source' or 'source-ref'.",
        ),
        ({"output_path": "https://example.com/out/"}, "output_path", None),
        ({"labels": "cat\ncat"}, "labels", "'cat' is listed twice."),
        (
            {"keywords": "a, b, c, d, e, f"},
            "keywords",
            "Ensure this field has no more than 5 elements.",
        ),
        ({"title": ""}, "title", "This field is required."),
        ({"max_human_labeled_objects": "0"}, "max_human_labeled_objects", None),
    ],
)
def test_cross_field_and_nested_errors_land_on_their_field(signed_in, changes, field, error):
    response = signed_in.post(NEW, {**VALID, **changes})

    assert response.status_code == 400
    assert Job.objects.count() == 0
    shown = errors_in(field_block(response.content.decode(), field))
    assert len(shown) == 1, shown
    if error is not None:
        assert shown == [error]


def test_every_bad_keyword_is_named(signed_in):
    long_one, long_two = "x" * 31, "y" * 32

    response = signed_in.post(NEW, {**VALID, "keywords": f"{long_one}, fine, {long_two}"})

    assert errors_in(field_block(response.content.decode(), "keywords")) == [
        f"“{long_one}”: Ensure this field has no more than 30 characters.",
        f"“{long_two}”: Ensure this field has no more than 30 characters.",
    ]


def test_a_name_already_used_is_refused_by_the_service_on_the_name_field(signed_in):
    signed_in.post(NEW, VALID)

    response = signed_in.post(NEW, {**VALID, "name": "PETS", "title": "Again"})

    assert response.status_code == 400
    assert list(Job.objects.values_list("name", flat=True)) == ["pets"]
    page = response.content.decode()
    assert errors_in(field_block(page, "name")) == ["A labeling job with this name already exists."]
    assert 'value="PETS"' in field_block(page, "name")


def test_an_unknown_team_is_refused_on_the_workforce_field_and_kept_selected(signed_in):
    response = signed_in.post(NEW, {**VALID, "workforce": "private:Ghosts", "reward_per_task": ""})

    assert response.status_code == 400
    assert Job.objects.count() == 0
    block = field_block(response.content.decode(), "workforce")
    assert errors_in(block) == ["You have no team named 'Ghosts'."]
    assert '<option value="private:Ghosts" selected>private:Ghosts</option>' in block


def test_a_private_team_job_and_a_vendor_job(signed_in, organization):
    staff = teams.team_create(owner=organization, name="Staff")
    vendor = Vendor.objects.create(name="North Labeling", slug="north")

    private = signed_in.post(
        NEW, {**VALID, "name": "team-job", "workforce": "private:Staff", "reward_per_task": ""}
    )
    offered = signed_in.post(
        NEW,
        {
            **VALID,
            "name": "vendor-job",
            "workforce": "vendor:north",
            "reward_per_task": "",
            "vendor_price_per_object": "0.250",
        },
    )

    assert (private.status_code, private.url) == (302, "/jobs/team-job/")
    assert (offered.status_code, offered.url) == (302, "/jobs/vendor-job/")
    team_job = Job.objects.get(name="team-job")
    assert (team_job.workforce, team_job.team, team_job.reward_per_task_mills) == (
        "private",
        staff,
        0,
    )
    vendor_job = Job.objects.get(name="vendor-job")
    assert (vendor_job.vendor, vendor_job.vendor_price_per_object_mills) == (vendor, 250)
    assert list(VendorOffer.objects.values_list("job__name", "status")) == [
        ("vendor-job", "pending")
    ]


def test_instructions_are_sanitised_and_stopping_conditions_kept(signed_in):
    signed_in.post(
        NEW,
        {
            **VALID,
            "short_instructions": '<p onclick="x()">Hi<script>alert(1)</script></p>',
            "full_instructions": "<b>Full</b>",
            "max_human_labeled_objects": "10",
            "max_percentage_labeled": "50",
            "task_availability_lifetime_seconds": "3600",
        },
    )

    job = Job.objects.get()
    assert (job.short_instructions, job.full_instructions) == ("<p>Hi</p>", "<b>Full</b>")
    assert (job.max_human_labeled_objects, job.max_percentage_labeled) == (10, 50)
    assert job.task_availability_lifetime_seconds == 3600


def test_a_custom_job_with_examples_and_a_hook_from_the_form(signed_in):
    signed_in.post(
        NEW,
        {
            **VALID,
            "task_type": "custom",
            "labels": "caption",
            "ui_template": "<crowd-form><input name='caption'></crowd-form>",
            "post_annotation_hook": "tasks.builtin_hooks.post_annotation",
            "good_example": "<p>“Black leather boot”</p>",
            "bad_example": "<p onclick='x()'>“Nice”</p>",
        },
    )

    job = Job.objects.get()
    assert (job.task_type, job.consolidation) == ("custom", "custom")
    assert job.post_annotation_hook == "tasks.builtin_hooks.post_annotation"
    assert (job.good_example, job.bad_example) == (
        "<p>“Black leather boot”</p>",
        "<p>“Nice”</p>",
    )


def test_a_template_error_is_shown_beside_the_template(signed_in):
    response = signed_in.post(
        NEW, {**VALID, "task_type": "custom", "labels": "caption", "ui_template": "{% if %}"}
    )

    assert response.status_code == 400
    assert not Job.objects.exists()
    form = response.context["form"]
    assert list(form.errors) == ["ui_template"]
    assert form.errors["ui_template"][0].startswith("line 1: ")
