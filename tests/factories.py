"""Factories that build valid objects through the services, as a user would get them."""

import json

import factory

from marketplace.services import jobs
from tasks import storage
from workforce.models import Organization, User, Worker
from workforce.services import accounts


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = "correct-horse-battery-staple"  # noqa: S105

    @classmethod
    def _create(cls, model_class, email, password, **kwargs):
        return accounts.user_create(email=email, password=password, email_verified=True)


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Requester {n}")
    owner = factory.SubFactory(UserFactory)

    @classmethod
    def _create(cls, model_class, name, owner, **kwargs):
        return accounts.organization_create(name=name, owner=owner)


class WorkerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Worker

    user = factory.SubFactory(UserFactory)
    display_name = factory.Sequence(lambda n: f"Worker {n}")

    @classmethod
    def _create(cls, model_class, user, display_name, **kwargs):
        return accounts.worker_register(user=user, display_name=display_name, accept_terms=True)


def put_manifest(uri: str, lines: list) -> str:
    """Write an input manifest: dicts become JSON lines, strings are written as they are."""
    text = "".join((json.dumps(line) if isinstance(line, dict) else line) + "\n" for line in lines)
    storage.write(uri, [text.encode()])
    return uri


def job_spec(**overrides) -> dict:
    """A valid job spec as a requester sends it to POST /api/v1/labeling-jobs; an override of
    None leaves that key out."""
    spec = {
        "name": "pets",
        "label_attribute_name": "animal",
        "task_type": "image_classification",
        "input_manifest_uri": "s3://groundwork-test/input/pets.manifest",
        "output_path": "s3://groundwork-test/output/",
        "label_categories": {
            "document-version": "2018-11-28",
            "labels": [{"label": "cat"}, {"label": "dog"}],
        },
        "title": "Cat or dog?",
        "description": "Pick the animal in the photo.",
        "keywords": ["images", "animals"],
        "instructions": {"short": "<p>Choose <b>cat</b> or <b>dog</b>.</p>", "full": ""},
        "workforce": "public",
        "workers_per_object": 1,
        "reward_per_task": "0.050",
    }
    spec.update(overrides)
    return {key: value for key, value in spec.items() if value is not None}


def job_created(organization, **overrides):
    """A job as POST /api/v1/labeling-jobs creates it: Initializing, its manifest not read."""
    from marketplace.api.serializers import JobSpecInput

    payload = JobSpecInput(data=job_spec(**overrides))
    payload.is_valid(raise_exception=True)
    return jobs.job_create(
        organization=organization,
        created_by=organization.memberships.get().user,
        spec=payload.validated_data,
    )


def job_in_progress(
    organization,
    *,
    objects: int = 3,
    funds_mills: int = 1_000_000,
    rewrite_manifest: bool = True,
    **overrides,
):
    """A funded public job whose manifest of `objects` images has been read: InProgress.
    With rewrite_manifest=False the job reads the input manifest already at its URI."""
    from marketplace.models import Job
    from payments.services import ledger as payments
    from tasks.manifests import ingest

    spec = job_spec(**overrides)
    if rewrite_manifest:
        put_manifest(
            spec["input_manifest_uri"],
            [{"source-ref": f"s3://groundwork-test/images/{n}.png"} for n in range(objects)],
        )
    payments.funding_record(
        owner=organization.ledger_owner,
        amount_mills=funds_mills,
        reference=f"fund-{organization.pk}-{spec['name']}",
    )
    job = job_created(organization, **overrides)
    ingest.manifest_ingest(job_id=job.pk)
    job = Job.objects.get(pk=job.pk)
    assert job.status == Job.Status.IN_PROGRESS, job.failure_reason
    return job
