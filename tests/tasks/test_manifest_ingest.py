import pytest

from marketplace.models import Job
from payments import selectors as ledger
from payments import services as payments
from payments.models import LedgerAccount, LedgerEntry
from tasks.manifests import ingest
from tasks.models import DataObject
from tests.factories import job_spec, put_manifest

pytestmark = pytest.mark.django_db

MANIFEST = "s3://groundwork-test/input/pets.manifest"


def create_job(organization, **overrides) -> Job:
    from marketplace.api.serializers import JobSpecInput
    from marketplace.services import jobs

    payload = JobSpecInput(data=job_spec(**overrides))
    payload.is_valid(raise_exception=True)
    return jobs.job_create(
        organization=organization,
        created_by=organization.memberships.get().user,
        spec=payload.validated_data,
    )


def test_objects_are_created_in_manifest_order_and_escrow_is_reserved(organization):
    payments.funding_record(owner=organization.ledger_owner, amount_mills=5_000, reference="f")
    put_manifest(
        MANIFEST,
        [
            {"source-ref": "s3://groundwork-test/a.png", "meta": {"k": 1}},
            "",
            {"source-ref": "s3://groundwork-test/b.png"},
        ],
    )
    job = create_job(organization, workers_per_object=2)

    ingest.manifest_ingest(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.IN_PROGRESS
    assert job.object_count == 2
    assert list(DataObject.objects.order_by("position").values_list("position", "source_ref")) == [
        (0, "s3://groundwork-test/a.png"),
        (1, "s3://groundwork-test/b.png"),
    ]
    assert DataObject.objects.get(position=0).input_line == (
        '{"source-ref": "s3://groundwork-test/a.png", "meta": {"k": 1}}'
    )
    # 2 objects x (2 workers x (50 reward + 10 fee) + 80 service fee) = 400
    assert ledger.balance_mills(kind="job_escrow", owner=f"job:{job.pk}") == 400
    assert ledger.balance_mills(kind="requester_available", owner=organization.ledger_owner) == (
        4_600
    )
    assert list(job.events.values_list("from_status", "to_status")) == [
        ("", "Initializing"),
        ("Initializing", "InProgress"),
    ]


def test_every_bad_line_is_reported_and_nothing_is_created(organization):
    payments.funding_record(owner=organization.ledger_owner, amount_mills=5_000, reference="f")
    put_manifest(
        MANIFEST,
        [
            {"source-ref": "s3://groundwork-test/a.png"},
            '{"source-ref": "s3://groundwork-test/b.png"',
            {"source": "inline text"},
            {"source-ref": "https://example.com/c.png"},
            "[1, 2]",
            {"source-ref": "s3://groundwork-test/d.png", "source": "both"},
            {"source-ref": "s3://groundwork-test/e.png"},
        ],
    )
    job = create_job(organization)

    ingest.manifest_ingest(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.failure_reason == (
        "The input manifest has 5 invalid lines: "
        "line 2: not valid JSON (Expecting ',' delimiter at column 44); "
        "line 3: image_classification needs 'source-ref' pointing to an image; "
        "line 4: 'https://example.com/c.png' is not an S3 object URI (s3://bucket/key); "
        "line 5: the line must be a JSON object; "
        "line 6: the line has both 'source-ref' and 'source'; give one."
    )
    assert DataObject.objects.count() == 0
    assert ledger.balance_mills(kind="job_escrow", owner=f"job:{job.pk}") == 0


def test_a_budget_the_balance_cannot_cover_fails_the_job(organization):
    payments.funding_record(owner=organization.ledger_owner, amount_mills=139, reference="f")
    put_manifest(MANIFEST, [{"source-ref": "s3://groundwork-test/a.png"}])
    job = create_job(organization, workers_per_object=1)  # needs 50 + 10 + 80 = 140

    ingest.manifest_ingest(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.failure_reason == ("The job needs 140 mills in escrow but the balance is 139 mills.")
    assert DataObject.objects.count() == 0
    assert LedgerEntry.objects.filter(account__kind=LedgerAccount.Kind.JOB_ESCROW).count() == 0


def test_a_missing_manifest_fails_the_job_with_its_uri(organization):
    job = create_job(organization, input_manifest_uri="s3://groundwork-test/nowhere.manifest")

    ingest.manifest_ingest(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.failure_reason.startswith(
        "The input manifest s3://groundwork-test/nowhere.manifest cannot be read:"
    )
    assert "NoSuchKey" in job.failure_reason


def test_an_empty_manifest_fails_the_job(organization):
    put_manifest(MANIFEST, ["", ""])
    job = create_job(organization)

    ingest.manifest_ingest(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "the manifest has no objects" in job.failure_reason


def test_ingesting_twice_changes_nothing(organization):
    payments.funding_record(owner=organization.ledger_owner, amount_mills=5_000, reference="f")
    put_manifest(MANIFEST, [{"source-ref": "s3://groundwork-test/a.png"}])
    job = create_job(organization)
    ingest.manifest_ingest(job_id=job.pk)

    ingest.manifest_ingest(job_id=job.pk)

    assert DataObject.objects.count() == 1
    assert LedgerEntry.objects.filter(account__kind="job_escrow").count() == 1
