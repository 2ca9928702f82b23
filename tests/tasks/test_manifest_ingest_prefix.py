"""A job given an S3 prefix instead of a manifest: the manifest is built from the listing."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from marketplace.api.serializers import JobSpecInput
from marketplace.errors import ApplicationError
from marketplace.models import Job
from marketplace.services import jobs
from payments.services import ledger as payments
from tasks import storage
from tasks.manifests import ingest
from tasks.models import DataObject
from tests.factories import job_spec

pytestmark = pytest.mark.django_db

BUILT = "s3://groundwork-test/output/pets/manifests/input/built.manifest"


def create_prefix_job(organization, prefix: str, **overrides) -> Job:
    payload = JobSpecInput(data=job_spec(**overrides))
    payload.is_valid(raise_exception=True)
    spec = {**payload.validated_data, "input_manifest_uri": "", "input_s3_prefix": prefix}
    return jobs.job_create(
        organization=organization,
        created_by=organization.memberships.get().user,
        spec=spec,
    )


def put_objects(keys: list[str]) -> None:
    s3 = storage.client()
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda key: s3.put_object(Bucket="groundwork-test", Key=key, Body=b""), keys))


def built_lines() -> list[dict]:
    return [json.loads(line) for line in storage.read_bytes(BUILT).decode().splitlines()]


@pytest.fixture
def funded(organization):
    payments.funding_record(owner=organization.ledger_owner, amount_mills=10_000_000, reference="f")
    return organization


@pytest.fixture
def list_requests():
    """How many ListObjectsV2 requests storage sends."""
    calls = []
    events = storage.client().meta.events

    def count(**kwargs):
        calls.append(kwargs)

    events.register("before-call.s3.ListObjectsV2", count)
    yield calls
    events.unregister("before-call.s3.ListObjectsV2", count)


def test_every_supported_image_under_the_prefix_becomes_an_object_in_key_order(
    funded, list_requests
):
    images = [f"photos/{n:04d}.jpg" for n in range(1_003)]
    others = [
        "photos/b/0.JPEG",
        "photos/b/1.Png",
        "photos/notes.txt",
        "photos/anim.gif",
        "photos/jpg",
        "photos/sub/",  # a folder placeholder
        "photos-old/x.jpg",  # beside the prefix, not under it
        "elsewhere/y.png",
    ]
    put_objects(images + others)
    job = create_prefix_job(funded, "s3://groundwork-test/photos")

    ingest.manifest_ingest(job_id=job.pk)

    job.refresh_from_db()
    supported = [*images, "photos/b/0.JPEG", "photos/b/1.Png"]
    expected = sorted(f"s3://groundwork-test/{key}" for key in supported)
    assert job.status == Job.Status.IN_PROGRESS, job.failure_reason
    assert job.input_manifest_uri == BUILT
    assert built_lines() == [{"source-ref": uri} for uri in expected]
    assert (
        list(
            DataObject.objects.filter(job=job)
            .order_by("position")
            .values_list("source_ref", flat=True)
        )
        == expected
    )
    assert job.object_count == 1_005
    assert len(list_requests) == 2  # 1,009 keys under the prefix: two pages of 1,000


def test_a_text_job_takes_the_text_objects_of_the_prefix(funded):
    put_objects(["reviews/1.txt", "reviews/2.TXT", "reviews/3.jpg", "reviews/4.txt.gz"])
    job = create_prefix_job(
        funded, "s3://groundwork-test/reviews/", task_type="text_classification"
    )

    ingest.manifest_ingest(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.IN_PROGRESS, job.failure_reason
    assert built_lines() == [
        {"source-ref": "s3://groundwork-test/reviews/1.txt"},
        {"source-ref": "s3://groundwork-test/reviews/2.TXT"},
    ]
    assert DataObject.objects.filter(job=job).count() == 2


def test_a_prefix_without_a_supported_object_fails_the_job_and_writes_nothing(funded):
    put_objects(["photos/a.gif", "photos/b.txt"])
    job = create_prefix_job(funded, "s3://groundwork-test/photos/")

    ingest.manifest_ingest(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.failure_reason == (
        "The input prefix s3://groundwork-test/photos/ holds no object with a supported "
        "extension (.jpg, .jpeg, .png) for image_classification."
    )
    assert job.input_manifest_uri == ""
    assert list(storage.iter_object_uris("s3://groundwork-test/output/")) == []
    assert DataObject.objects.count() == 0


def test_a_prefix_that_cannot_be_listed_fails_the_job_with_the_reason(funded):
    job = create_prefix_job(funded, "s3://no-such-bucket/photos/")

    ingest.manifest_ingest(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.failure_reason.startswith(
        "The input prefix s3://no-such-bucket/photos/ cannot be listed:"
    )
    assert "NoSuchBucket" in job.failure_reason


def test_running_the_task_again_builds_nothing_new(funded, list_requests):
    put_objects(["photos/a.jpg"])
    job = create_prefix_job(funded, "s3://groundwork-test/photos/")
    ingest.manifest_ingest(job_id=job.pk)

    ingest.manifest_ingest(job_id=job.pk)

    assert len(list_requests) == 1
    assert DataObject.objects.filter(job=job).count() == 1


def test_local_storage_lists_the_folder_in_s3_key_order(funded, settings, tmp_path):
    settings.OBJECT_STORAGE = "local"
    settings.LOCAL_OBJECT_STORAGE_ROOT = tmp_path
    keys = ["a/x.jpg", "a-b.jpg", "a0.jpg", "a/y/z.png", "B.JPG", "c.gif", ".a.jpg.tmp1234"]
    for key in keys:
        storage.write(f"s3://groundwork-test/in/{key}", [b""])
    (tmp_path / "groundwork-test" / "in" / ".partial.jpg").write_bytes(b"")
    job = create_prefix_job(funded, "s3://groundwork-test/in/")

    ingest.manifest_ingest(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.IN_PROGRESS, job.failure_reason
    assert [line["source-ref"] for line in built_lines()] == [
        "s3://groundwork-test/in/B.JPG",
        "s3://groundwork-test/in/a-b.jpg",
        "s3://groundwork-test/in/a/x.jpg",
        "s3://groundwork-test/in/a/y/z.png",
        "s3://groundwork-test/in/a0.jpg",
    ]


def test_local_storage_refuses_a_prefix_outside_its_root(settings, tmp_path):
    settings.OBJECT_STORAGE = "local"
    settings.LOCAL_OBJECT_STORAGE_ROOT = tmp_path / "root"

    with pytest.raises(ApplicationError, match="outside the storage root"):
        list(storage.iter_object_uris("s3://groundwork-test/../../"))
