import json

import pytest
from rest_framework.test import APIClient

from marketplace.models import Job
from payments import selectors as ledger
from payments.models import LedgerAccount, LedgerEntry
from payments.services import ledger as payments
from tasks import storage
from tasks.manifests import ingest
from tasks.models import DataObject
from tests.conftest import bearer_client
from tests.factories import OrganizationFactory, WorkerFactory, job_created, put_manifest

pytestmark = pytest.mark.django_db

MANIFEST = "s3://groundwork-test/input/pets.manifest"


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
    job = job_created(organization, workers_per_object=2)

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
    job = job_created(organization)

    ingest.manifest_ingest(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.failure_reason == (
        "The input manifest has 5 invalid lines: "
        "line 2: not valid JSON (Expecting ',' delimiter at column 44); "
        "line 3: image_classification needs 'source-ref' pointing to an image; "
        "line 4: 'https://example.com/c.png' is not an S3 object URI (s3://bucket/key); "
        "line 5: the line must be a JSON object; "
        "line 6: the line has both 'source-ref' and 'source'; give one. "
        "Every bad line is listed in "
        "s3://groundwork-test/output/pets/manifests/input-errors.jsonl."
    )
    assert DataObject.objects.count() == 0
    assert ledger.balance_mills(kind="job_escrow", owner=f"job:{job.pk}") == 0


def test_a_budget_the_balance_cannot_cover_fails_the_job(organization):
    payments.funding_record(owner=organization.ledger_owner, amount_mills=139, reference="f")
    put_manifest(MANIFEST, [{"source-ref": "s3://groundwork-test/a.png"}])
    job = job_created(organization, workers_per_object=1)  # needs 50 + 10 + 80 = 140

    ingest.manifest_ingest(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.failure_reason == ("The job needs 140 mills in escrow but the balance is 139 mills.")
    assert DataObject.objects.count() == 0
    assert LedgerEntry.objects.filter(account__kind=LedgerAccount.Kind.JOB_ESCROW).count() == 0


def test_a_missing_manifest_fails_the_job_with_its_uri(organization):
    job = job_created(organization, input_manifest_uri="s3://groundwork-test/nowhere.manifest")

    ingest.manifest_ingest(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.failure_reason.startswith(
        "The input manifest s3://groundwork-test/nowhere.manifest cannot be read:"
    )
    assert "NoSuchKey" in job.failure_reason


def test_an_empty_manifest_fails_the_job(organization):
    put_manifest(MANIFEST, ["", ""])
    job = job_created(organization)

    ingest.manifest_ingest(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.failure_reason == "The input manifest has no objects."
    assert job.failure_report_uri == ""


def test_ingesting_twice_changes_nothing(organization):
    payments.funding_record(owner=organization.ledger_owner, amount_mills=5_000, reference="f")
    put_manifest(MANIFEST, [{"source-ref": "s3://groundwork-test/a.png"}])
    job = job_created(organization)
    ingest.manifest_ingest(job_id=job.pk)

    ingest.manifest_ingest(job_id=job.pk)

    assert DataObject.objects.count() == 1
    assert LedgerEntry.objects.filter(account__kind="job_escrow").count() == 1


# --- The error report: every bad line, in the job's output folder. -----------------------------

REPORT = "s3://groundwork-test/output/pets/manifests/input-errors.jsonl"


def report_lines(uri: str = REPORT) -> list[dict]:
    return [json.loads(line) for line in storage.read_bytes(uri).decode().splitlines()]


def test_the_report_lists_every_bad_line_and_the_reason_only_the_first_five(organization):
    good = {"source-ref": "s3://groundwork-test/a.png"}
    lines = [good if n % 3 else {"source-ref": f"s3://groundwork-test/{n}.gif"} for n in range(20)]
    put_manifest(MANIFEST, lines)
    job = job_created(organization)

    ingest.manifest_ingest(job_id=job.pk)

    job.refresh_from_db()
    bad = [n + 1 for n in range(20) if n % 3 == 0]
    assert report_lines() == [
        {
            "line": number,
            "reason": f"'s3://groundwork-test/{number - 1}.gif' is not a supported image "
            "(.jpg, .jpeg, .png)",
        }
        for number in bad
    ]
    assert job.failure_report_uri == REPORT
    assert job.failure_reason.startswith("The input manifest has 7 invalid lines: line 1: ")
    assert job.failure_reason.endswith(
        "line 13: 's3://groundwork-test/12.gif' is not a supported image (.jpg, .jpeg, .png); "
        f"and 2 more. Every bad line is listed in {REPORT}."
    )
    assert DataObject.objects.count() == 0
    assert list(job.events.values_list("to_status", "reason")) == [
        ("Initializing", "Created by the requester."),
        ("Failed", job.failure_reason),
    ]


def test_lines_that_are_not_utf8_or_far_too_long_are_reported_by_number(organization):
    payments.funding_record(owner=organization.ledger_owner, amount_mills=5_000, reference="f")
    good = b'{"source-ref": "s3://groundwork-test/a.png"}'
    manifest = b"\n".join(
        [good, b'{"source-ref": "s3://groundwork-test/\xff.png"}', b"x" * 500_000, good, b"\r"]
    )
    storage.write(MANIFEST, [manifest])
    job = job_created(organization)

    ingest.manifest_ingest(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert report_lines() == [
        {"line": 2, "reason": "the line is not UTF-8 text (invalid byte at position 38)"},
        {"line": 3, "reason": "the line is longer than 100,000 characters"},
    ]
    assert DataObject.objects.count() == 0


def test_a_report_that_cannot_be_written_still_fails_the_job_with_its_first_lines(
    organization, monkeypatch
):
    put_manifest(MANIFEST, ["[]"])
    job = job_created(organization)

    def unwritable(uri, chunks, **kwargs):
        raise OSError("the bucket is read-only")

    monkeypatch.setattr(storage, "write", unwritable)
    ingest.manifest_ingest(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.failure_reason == (
        "The input manifest has 1 invalid line: line 1: the line must be a JSON object."
    )
    assert job.failure_report_uri == ""


@pytest.mark.parametrize("writer", ["copy", "bulk_create"])
def test_both_writers_store_the_same_objects(organization, monkeypatch, writer):
    if writer == "bulk_create":  # what SQLite uses
        monkeypatch.setattr(ingest, "_copy_available", lambda: False)
    payments.funding_record(owner=organization.ledger_owner, amount_mills=50_000, reference="f")
    lines = [
        {"source": 'tab\there, newline\nthere, back\\slash, quote" and ü', "n": 1},
        {"source-ref": "s3://groundwork-test/texts/a b.txt", "n": 2},
        {"source": "\\N is not null"},
    ]
    put_manifest(MANIFEST, lines)
    job = job_created(organization, task_type="text_classification")

    ingest.manifest_ingest(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.IN_PROGRESS, job.failure_reason
    rows = DataObject.objects.filter(job=job).order_by("position")
    assert [
        (o.position, o.input_line, o.source_ref, o.source, o.status, o.label, o.human_annotated)
        for o in rows
    ] == [
        (0, json.dumps(lines[0]), "", lines[0]["source"], "pending", None, True),
        (1, json.dumps(lines[1]), "s3://groundwork-test/texts/a b.txt", "", "pending", None, True),
        (2, json.dumps(lines[2]), "", "\\N is not null", "pending", None, True),
    ]


def test_a_manifest_in_local_storage_is_ingested_the_same_way(organization, settings, tmp_path):
    settings.OBJECT_STORAGE = "local"
    settings.LOCAL_OBJECT_STORAGE_ROOT = tmp_path
    payments.funding_record(owner=organization.ledger_owner, amount_mills=5_000, reference="f")
    storage.write(
        MANIFEST,
        [
            b'{"source-ref": "s3://groundwork-test/a.png"}\r\n\n{"source-ref": "s3://grou',
            b'ndwork-test/b.png"}',
        ],
    )
    job = job_created(organization)

    ingest.manifest_ingest(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.IN_PROGRESS, job.failure_reason
    assert list(DataObject.objects.order_by("position").values_list("source_ref", flat=True)) == [
        "s3://groundwork-test/a.png",
        "s3://groundwork-test/b.png",
    ]


# --- Chained input: an earlier job's output manifest. ------------------------------------------


def earlier_output_line(n: int, attribute: str = "species") -> dict:
    return {
        "source-ref": f"s3://groundwork-test/images/{n}.jpg",
        attribute: 0,
        f"{attribute}-metadata": {
            "class-name": "cat",
            "confidence": 0.0,
            "type": "groundtruth/image-classification",
            "job-name": "labeling-job/species",
            "human-annotated": "yes",
            "creation-date": "2026-11-01T10:00:00.000000",
        },
    }


def test_an_earlier_jobs_output_manifest_is_valid_input_and_passes_through(organization):
    payments.funding_record(owner=organization.ledger_owner, amount_mills=5_000, reference="f")
    put_manifest(MANIFEST, [earlier_output_line(0), earlier_output_line(1)])
    job = job_created(organization, label_attribute_name="breed")

    ingest.manifest_ingest(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.IN_PROGRESS, job.failure_reason
    assert [json.loads(o.input_line) for o in DataObject.objects.order_by("position")] == [
        earlier_output_line(0),
        earlier_output_line(1),
    ]


def test_a_job_continued_by_chaining_labels_only_what_is_not_labeled_yet(organization):
    # Given an earlier output where line 1 has a species label and line 2 has none
    payments.funding_record(owner=organization.ledger_owner, amount_mills=5_000, reference="f")
    unlabeled = {"source-ref": "s3://groundwork-test/images/1.jpg"}
    put_manifest(MANIFEST, [earlier_output_line(0), unlabeled])

    # When a job with the same label attribute reads it
    job = job_created(organization, label_attribute_name="species", workers_per_object=1)
    ingest.manifest_ingest(job_id=job.pk)

    # Then only the unlabeled object is to be labeled (and paid for)
    job.refresh_from_db()
    assert (job.status, job.object_count) == (Job.Status.IN_PROGRESS, 1)
    assert list(DataObject.objects.order_by("position").values_list("status", flat=True)) == [
        DataObject.Status.CARRIED,
        DataObject.Status.PENDING,
    ]
    assert ledger.balance_mills(kind="job_escrow", owner=f"job:{job.pk}") == 50 + 10 + 80


def test_a_continued_job_with_nothing_left_to_label_fails_with_a_reason(organization):
    put_manifest(MANIFEST, [earlier_output_line(0), earlier_output_line(1)])
    job = job_created(organization, label_attribute_name="species")

    ingest.manifest_ingest(job_id=job.pk)

    job.refresh_from_db()
    assert (job.status, job.failure_reason) == (
        Job.Status.FAILED,
        "Every object in the manifest already has a label named 'species': "
        "there is nothing left to label.",
    )
    assert DataObject.objects.count() == 0


# --- GET /api/v1/labeling-jobs/{name}/manifest-errors -----------------------------------------


@pytest.fixture
def failed_job(organization):
    put_manifest(MANIFEST, [{"source-ref": "s3://groundwork-test/a.png"}, "[]", "{"])
    job = job_created(organization)
    ingest.manifest_ingest(job_id=job.pk)
    return job


@pytest.mark.parametrize(
    ("role", "status"),
    [("owner", 200), ("other_requester", 404), ("worker", 403), ("anonymous", 401)],
)
def test_the_report_is_downloaded_by_the_jobs_organisation_only(failed_job, role, status):
    if role == "owner":
        client = bearer_client(failed_job.organization.memberships.get().user)
    elif role == "other_requester":
        client = bearer_client(OrganizationFactory().memberships.get().user)
    elif role == "worker":
        client = bearer_client(WorkerFactory().user)
    else:
        client = APIClient()
    before = list(Job.objects.values_list("pk", "status", "failure_report_uri"))

    response = client.get("/api/v1/labeling-jobs/PETS/manifest-errors")

    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"] == "application/jsonl"
        assert response["Content-Disposition"] == 'attachment; filename="pets-input-errors.jsonl"'
        assert b"".join(response.streaming_content) == (
            b'{"line": 2, "reason": "the line must be a JSON object"}\n'
            b'{"line": 3, "reason": "not valid JSON (Expecting property name enclosed in double '
            b'quotes at column 2)"}\n'
        )
    else:
        assert set(response.json()) == {"code", "detail", "fields"}
    assert list(Job.objects.values_list("pk", "status", "failure_report_uri")) == before


def test_a_client_may_ask_for_jsonl_explicitly(failed_job, requester_client):
    response = requester_client.get(
        "/api/v1/labeling-jobs/pets/manifest-errors", HTTP_ACCEPT="application/jsonl"
    )

    assert response.status_code == 200
    assert b"".join(response.streaming_content).count(b"\n") == 2


def test_a_job_without_a_report_has_nothing_to_download(organization, requester_client):
    payments.funding_record(owner=organization.ledger_owner, amount_mills=5_000, reference="f")
    put_manifest(MANIFEST, [{"source-ref": "s3://groundwork-test/a.png"}])
    job = job_created(organization)
    ingest.manifest_ingest(job_id=job.pk)

    response = requester_client.get("/api/v1/labeling-jobs/pets/manifest-errors")
    missing = requester_client.get("/api/v1/labeling-jobs/nope/manifest-errors")

    assert (response.status_code, missing.status_code) == (404, 404)
    assert response.json()["code"] == "not_found"
