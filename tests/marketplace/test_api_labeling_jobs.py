"""/api/v1/labeling-jobs: roles, the one error shape, scoping by organisation, pagination."""

import pytest

from marketplace.api.serializers import JobSpecInput
from marketplace.models import Job, JobEvent
from marketplace.services import jobs as services
from payments.services import ledger as payments
from tests.conftest import bearer_client
from tests.factories import OrganizationFactory, UserFactory, job_spec

pytestmark = pytest.mark.django_db

JOBS = "/api/v1/labeling-jobs"
NOT_AUTHENTICATED = {
    "code": "not_authenticated",
    "detail": "Authentication credentials were not provided.",
    "fields": {},
}
PERMISSION_DENIED = {
    "code": "permission_denied",
    "detail": "You do not have permission to perform this action.",
    "fields": {},
}
NOT_FOUND = {"code": "not_found", "detail": "Not found.", "fields": {}}


def create_job(organization, user, **overrides) -> Job:
    """A job made as the API makes it: the spec validated by JobSpecInput, then job_create."""
    payload = JobSpecInput(data=job_spec(**overrides))
    payload.is_valid(raise_exception=True)
    return services.job_create(
        organization=organization, created_by=user, spec=payload.validated_data
    )


def jobs_state() -> tuple:
    return (
        sorted(Job.objects.values_list("organization_id", "name")),
        JobEvent.objects.count(),
    )


def client_for(role: str, request):
    if role == "anonymous":
        return request.getfixturevalue("api_client")
    if role == "user without a role":
        return bearer_client(UserFactory())
    if role == "worker":
        return request.getfixturevalue("worker_client")
    if role == "requester of another organisation":
        return bearer_client(OrganizationFactory().memberships.get().user)
    return request.getfixturevalue("requester_client")


# --- create --------------------------------------------------------------------------------------


def test_requester_creates_a_job(organization, requester, requester_client):
    # When a requester posts a minimal valid spec
    spec = job_spec()
    for name in ("label_attribute_name", "workers_per_object", "keywords", "instructions"):
        del spec[name]
    response = requester_client.post(JOBS, spec, format="json")

    # Then the job is created with the defaults, Initializing until its manifest is read
    assert response.status_code == 201, response.json()
    body = response.json()
    job = Job.objects.get()
    assert (job.organization, job.created_by, job.name) == (organization, requester, "pets")
    assert body["id"] == job.pk
    del body["id"], body["created_at"]
    assert body == {
        "name": "pets",
        "status": "Initializing",
        "failure_reason": "",
        "task_type": "image_classification",
        "label_attribute_name": "pets",
        "input_manifest_uri": "s3://groundwork-test/input/pets.manifest",
        "output_path": "s3://groundwork-test/output/",
        "output_manifest_uri": None,
        "label_categories": {
            "document-version": "2018-11-28",
            "labels": [{"label": "cat"}, {"label": "dog"}],
        },
        "title": "Cat or dog?",
        "description": "Pick the animal in the photo.",
        "keywords": [],
        "instructions": {"short": "", "full": "", "good_example": "", "bad_example": ""},
        "workforce": "public",
        "workers_per_object": 3,
        "task_time_limit_seconds": 300,
        "task_availability_lifetime_seconds": 21_600,
        "max_concurrent_task_count": 1_000,
        "reward_per_task": "0.050",
        "vendor_price_per_object": None,
        "qualification_requirements": [],
        "auto_approval_delay_seconds": 259_200,
        "input_s3_prefix": "",
        "stopping_conditions": {},
        "dynamic_overlap": None,
        "consolidation": "auto",
        "auto_labeling": False,
        "pre_annotation_hook": "",
        "post_annotation_hook": "",
        "ui_template": "",
        "failure_report_uri": "",
        "expires_at": None,
        "gold": None,
        "label_counters": {
            "total_labeled": 0,
            "human_labeled": 0,
            "machine_labeled": 0,
            "failed_non_retryable_error": 0,
            "unlabeled": 0,
        },
        "started_at": None,
        "ended_at": None,
    }
    assert list(JobEvent.objects.values_list("job", "from_status", "to_status", "actor")) == [
        (job.pk, "", "Initializing", requester.pk)
    ]


def test_creating_a_job_queues_the_manifest_read_on_commit(
    requester_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = requester_client.post(JOBS, job_spec(), format="json")

    assert response.status_code == 201
    assert len(callbacks) == 1


def test_a_spec_with_several_bad_fields_names_each_one_and_creates_nothing(
    requester_client, django_capture_on_commit_callbacks
):
    # Given a spec with five bad fields
    spec = job_spec(
        name="bad name!",
        workers_per_object=10,
        reward_per_task="0.0001",
        label_categories={"document-version": "2018-11-28", "labels": [{"label": "cat"}]},
        output_path="http://x",
    )

    # When it is posted
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = requester_client.post(JOBS, spec, format="json")

    # Then one 400 names every bad field and why, and nothing is created or queued
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "detail": "The request is not valid.",
        "fields": {
            "name": [
                "Use letters, digits and hyphens, starting and ending with a letter or digit."
            ],
            "workers_per_object": ["Ensure this value is less than or equal to 9."],
            "reward_per_task": ["Amounts are in tenths of a cent at most (three decimal places)."],
            "label_categories": ["Classification needs at least 2 labels."],
            "output_path": ["'http://x' is not an S3 location (s3://bucket/prefix/)."],
        },
    }
    assert jobs_state() == ([], 0)
    assert callbacks == []


def test_nested_errors_are_named_by_their_dotted_path(requester_client):
    response = requester_client.post(
        JOBS, job_spec(instructions={"short": "x" * 20_001}), format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "detail": "The request is not valid.",
        "fields": {"instructions.short": ["Ensure this field has no more than 20000 characters."]},
    }
    assert jobs_state() == ([], 0)


def test_an_empty_body_names_every_required_field(requester_client):
    response = requester_client.post(JOBS, {}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == {
        **{
            name: ["This field is required."]
            for name in [
                "name",
                "task_type",
                "output_path",
                "label_categories",
                "title",
                "description",
            ]
        },
        "reward_per_task": ["Required for public jobs."],
        "input_manifest_uri": ["Give input_manifest_uri or input_s3_prefix."],
    }
    assert jobs_state() == ([], 0)


def test_a_reward_too_large_to_store_is_a_400_not_a_crash(requester_client):
    # 10^17 USD is 10^20 mills, beyond the BigIntegerField (2^63 - 1); the spec must say so
    # with a 400 naming the field instead of failing in the database.
    response = requester_client.post(
        JOBS, job_spec(reward_per_task="100000000000000000"), format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["reward_per_task"]
    assert jobs_state() == ([], 0)


def test_a_duplicate_name_in_any_case_is_refused_by_the_service(organization, requester_client):
    # Given a job named "pets"
    assert requester_client.post(JOBS, job_spec(name="pets"), format="json").status_code == 201
    before = jobs_state()

    # When another is posted as "PETS"
    response = requester_client.post(JOBS, job_spec(name="PETS"), format="json")

    # Then it is refused on the name field and nothing more is created
    assert response.status_code == 400
    assert response.json() == {
        "code": "name_taken",
        "detail": "A labeling job with this name already exists.",
        "fields": {"name": ["A labeling job with this name already exists."]},
    }
    assert jobs_state() == before


def test_the_same_name_in_another_organisation_is_fine(requester_client):
    other = OrganizationFactory()
    create_job(other, other.memberships.get().user, name="pets")

    response = requester_client.post(JOBS, job_spec(name="pets"), format="json")

    assert response.status_code == 201
    assert Job.objects.filter(name="pets").count() == 2


@pytest.mark.parametrize(
    ("role", "status", "body"),
    [
        ("anonymous", 401, NOT_AUTHENTICATED),
        ("user without a role", 403, PERMISSION_DENIED),
        ("worker", 403, PERMISSION_DENIED),
    ],
)
def test_only_requesters_may_create_jobs(
    request, role, status, body, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client_for(role, request).post(JOBS, job_spec(), format="json")

    assert response.status_code == status
    assert response.json() == body
    assert jobs_state() == ([], 0)
    assert callbacks == []


# --- read ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status", "names"),
    [
        ("anonymous", 401, None),
        ("user without a role", 403, None),
        ("worker", 403, None),
        ("requester of another organisation", 200, []),
        ("requester", 200, ["pets"]),
    ],
)
def test_job_list_by_role(request, organization, requester, role, status, names):
    # Given a job of the organisation
    create_job(organization, requester, name="pets")

    response = client_for(role, request).get(JOBS)

    assert response.status_code == status
    if names is None:
        assert response.json() == (NOT_AUTHENTICATED if status == 401 else PERMISSION_DENIED)
    else:
        assert [job["name"] for job in response.json()["results"]] == names


@pytest.mark.parametrize(
    ("role", "status", "body"),
    [
        ("anonymous", 401, NOT_AUTHENTICATED),
        ("user without a role", 403, PERMISSION_DENIED),
        ("worker", 403, PERMISSION_DENIED),
        # Another organisation's job is a 404, as if it did not exist
        ("requester of another organisation", 404, NOT_FOUND),
    ],
)
def test_job_detail_is_only_for_its_organisation(
    request, organization, requester, role, status, body
):
    create_job(organization, requester, name="pets")

    response = client_for(role, request).get(f"{JOBS}/pets")

    assert response.status_code == status
    assert response.json() == body


def test_job_detail_finds_the_name_in_any_case(organization, requester, requester_client):
    job = create_job(organization, requester, name="Pets")

    response = requester_client.get(f"{JOBS}/pETS")

    assert response.status_code == 200
    assert (response.json()["id"], response.json()["name"]) == (job.pk, "Pets")


def test_an_unknown_job_is_404(requester_client):
    response = requester_client.get(f"{JOBS}/nothing-here")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_job_list_is_paginated(organization, requester, requester_client):
    # Given three jobs, made in this order
    for name in ("first", "second", "third"):
        create_job(organization, requester, name=name)

    # When the list is read two at a time
    page_one = requester_client.get(f"{JOBS}?page_size=2")
    page_two = requester_client.get(page_one.json()["next"])

    # Then the newest come first, with links between the pages
    assert page_one.status_code == 200
    body = page_one.json()
    assert (body["count"], body["previous"]) == (3, None)
    assert body["next"] == "http://testserver/api/v1/labeling-jobs?page=2&page_size=2"
    assert [job["name"] for job in body["results"]] == ["third", "second"]
    body = page_two.json()
    assert (body["count"], body["next"]) == (3, None)
    assert body["previous"] == "http://testserver/api/v1/labeling-jobs?page_size=2"
    assert [job["name"] for job in body["results"]] == ["first"]


def test_job_list_filters_by_status(organization, requester, requester_client):
    create_job(organization, requester, name="pets")

    initializing = requester_client.get(f"{JOBS}?status=Initializing").json()
    in_progress = requester_client.get(f"{JOBS}?status=InProgress").json()

    assert [job["name"] for job in initializing["results"]] == ["pets"]
    assert in_progress["count"] == 0


def test_job_list_queries_do_not_grow_with_the_number_of_jobs(
    organization, requester, requester_client, django_assert_max_num_queries
):
    for number in range(5):
        create_job(organization, requester, name=f"job-{number}")

    # key lookup, last_used_at, membership, count, page
    with django_assert_max_num_queries(5):
        response = requester_client.get(JOBS)

    assert response.json()["count"] == 5


# --- balance -------------------------------------------------------------------------------------


def test_balance_shows_the_organisations_available_funds(organization, requester_client):
    payments.funding_record(owner=organization.ledger_owner, amount_mills=1_234, reference="a")
    other = OrganizationFactory()
    payments.funding_record(owner=other.ledger_owner, amount_mills=99, reference="b")

    response = requester_client.get("/api/v1/balance")

    assert response.status_code == 200
    assert response.json() == {"available": "1.234", "available_mills": 1_234}


@pytest.mark.parametrize(
    ("role", "status", "body"),
    [
        ("anonymous", 401, NOT_AUTHENTICATED),
        ("worker", 403, PERMISSION_DENIED),
        ("requester of another organisation", 200, {"available": "0.000", "available_mills": 0}),
    ],
)
def test_balance_by_role(request, organization, role, status, body):
    payments.funding_record(owner=organization.ledger_owner, amount_mills=1_234, reference="a")

    response = client_for(role, request).get("/api/v1/balance")

    assert response.status_code == status
    assert response.json() == body
