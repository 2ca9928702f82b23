"""job_create: names unique per organisation, case-insensitive, also under concurrent requests."""

import pytest

from marketplace.api.serializers import JobSpecInput
from marketplace.errors import ApplicationError
from marketplace.models import Job, JobEvent
from marketplace.services import jobs as services
from tests.concurrency import run_concurrently
from tests.factories import OrganizationFactory, job_spec


def spec(**overrides) -> dict:
    payload = JobSpecInput(data=job_spec(**overrides))
    payload.is_valid(raise_exception=True)
    return payload.validated_data


@pytest.mark.django_db
def test_job_create_stores_the_spec_and_a_first_event(organization, requester):
    job = services.job_create(organization=organization, created_by=requester, spec=spec())

    job.refresh_from_db()
    assert (job.organization, job.created_by, job.name, job.status) == (
        organization,
        requester,
        "pets",
        Job.Status.INITIALIZING,
    )
    assert (job.labels, job.reward_per_task_mills, job.reward_per_task_usd) == (
        ["cat", "dog"],
        50,
        "0.050",
    )
    assert list(job.events.values_list("from_status", "to_status", "actor", "reason")) == [
        ("", "Initializing", requester.pk, "Created by the requester.")
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("duplicate", ["pets", "PETS", "Pets", "pEtS"])
def test_job_create_refuses_a_name_taken_in_the_organisation_in_any_case(
    organization, requester, duplicate, django_capture_on_commit_callbacks
):
    # Given a job named "pets"
    services.job_create(organization=organization, created_by=requester, spec=spec(name="pets"))

    # When another is created under the same name in another case
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with pytest.raises(ApplicationError) as refused:
            services.job_create(
                organization=organization, created_by=requester, spec=spec(name=duplicate)
            )

    # Then it is refused on the name, and no job, event or queued work is added
    assert (refused.value.code, refused.value.fields, refused.value.status) == (
        "name_taken",
        {"name": ["A labeling job with this name already exists."]},
        400,
    )
    assert list(Job.objects.values_list("name", flat=True)) == ["pets"]
    assert JobEvent.objects.count() == 1
    assert callbacks == []


@pytest.mark.django_db
def test_job_create_allows_the_same_name_in_another_organisation(organization, requester):
    other = OrganizationFactory()
    services.job_create(organization=organization, created_by=requester, spec=spec(name="pets"))

    services.job_create(
        organization=other, created_by=other.memberships.get().user, spec=spec(name="Pets")
    )

    assert sorted(Job.objects.values_list("organization", "name")) == [
        (organization.pk, "pets"),
        (other.pk, "Pets"),
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_with_one_name_make_one_job_and_refuse_the_rest():
    # Given a requester sending the same spec 8 times at once (a double-clicking client)
    organization = OrganizationFactory()
    requester = organization.memberships.get().user
    names = ["pets", "PETS", "Pets", "pEts"] * 2

    outcomes = run_concurrently(
        len(names),
        lambda index: services.job_create(
            organization=organization, created_by=requester, spec=spec(name=names[index])
        ),
    )

    # Then exactly one job exists, and every other request is the 400 name_taken,
    # not a database IntegrityError that the API would turn into a 500
    assert Job.objects.filter(organization=organization).count() == 1
    losers = [outcome.error for outcome in outcomes if not outcome.succeeded]
    assert [(type(error).__name__, getattr(error, "code", None)) for error in losers] == [
        ("ApplicationError", "name_taken")
    ] * (len(names) - 1)
