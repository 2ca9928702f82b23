"""The streaming multipart writer the output manifests use: parts go out as they are produced,
and a failed write leaves the previous object as it was and no upload open."""

import pytest
from botocore.exceptions import ClientError

from tasks import storage

BUCKET = "groundwork-test"
KEY = "output/pets/manifests/output/output.manifest"
URI = f"s3://{BUCKET}/{KEY}"
MIB = 1024 * 1024


def stream(total_mib: int, *, fail_after_mib: int | None = None):
    """`total_mib` MiB in chunks of 1 MiB (each chunk filled with its own number), failing
    after `fail_after_mib` MiB when given."""
    for number in range(total_mib):
        if number == fail_after_mib:
            raise OSError("the database connection went away")
        yield bytes([65 + number % 26]) * MIB


def open_uploads() -> list:
    return storage.client().list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])


def test_a_large_object_is_uploaded_in_parts_of_the_given_size():
    storage.write_streaming(URI, stream(13), content_type="application/jsonl")

    head = storage.client().head_object(Bucket=BUCKET, Key=KEY)
    assert head["ETag"].strip('"').endswith("-2")  # 8 MiB, then the last 5 MiB
    assert head["ContentType"] == "application/jsonl"
    assert head["ContentLength"] == 13 * MIB
    assert storage.read_bytes(URI) == b"".join(stream(13))
    assert open_uploads() == []


def test_parts_are_cut_at_the_part_size_whatever_the_chunk_sizes():
    chunks = [b"a" * (3 * MIB), b"b" * (9 * MIB), b"", b"c" * 7, b"d" * (5 * MIB)]

    storage.write_streaming(URI, iter(chunks), part_bytes=5 * MIB)

    head = storage.client().head_object(Bucket=BUCKET, Key=KEY, PartNumber=1)
    assert head["ContentLength"] == 5 * MIB
    assert head["PartsCount"] == 4  # 5 + 5 + 5 MiB, then 2 MiB and 7 bytes
    assert storage.read_bytes(URI) == b"".join(chunks)


@pytest.mark.parametrize("chunks", [[], [b""], [b"small ", b"object"]])
def test_an_object_smaller_than_a_part_is_one_put(chunks):
    storage.write_streaming(URI, iter(chunks))

    assert storage.read_bytes(URI) == b"".join(chunks)
    assert "-" not in storage.client().head_object(Bucket=BUCKET, Key=KEY)["ETag"]


def test_a_failure_mid_stream_aborts_and_keeps_the_previous_object():
    # Given a previous version of the object
    storage.write_streaming(URI, [b"previous version\n"])

    # When the stream fails after one part went out
    with pytest.raises(OSError, match="went away"):
        storage.write_streaming(URI, stream(20, fail_after_mib=10))

    # Then the object is unchanged and no multipart upload is left open
    assert storage.read_bytes(URI) == b"previous version\n"
    assert open_uploads() == []


def test_a_failed_part_upload_aborts_and_keeps_the_previous_object(monkeypatch):
    storage.write_streaming(URI, [b"previous version\n"])
    s3 = storage.client()
    upload_part = s3.upload_part
    calls = []

    def failing_second_part(**kwargs):
        calls.append(kwargs["PartNumber"])
        if kwargs["PartNumber"] == 2:
            raise ClientError({"Error": {"Code": "InternalError", "Message": "boom"}}, "UploadPart")
        return upload_part(**kwargs)

    monkeypatch.setattr(s3, "upload_part", failing_second_part)
    with pytest.raises(ClientError):
        storage.write_streaming(URI, stream(20))
    monkeypatch.undo()

    assert calls == [1, 2]
    assert storage.read_bytes(URI) == b"previous version\n"
    assert open_uploads() == []


def test_a_failed_completion_aborts_and_keeps_the_previous_object(monkeypatch):
    storage.write_streaming(URI, [b"previous version\n"])
    s3 = storage.client()

    def refuse(**kwargs):
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "later"}}, "Complete")

    monkeypatch.setattr(s3, "complete_multipart_upload", refuse)
    with pytest.raises(ClientError):
        storage.write_streaming(URI, stream(9))
    monkeypatch.undo()

    assert storage.read_bytes(URI) == b"previous version\n"
    assert open_uploads() == []


def test_an_abort_that_fails_too_is_noted_on_the_original_error(monkeypatch):
    s3 = storage.client()

    def refuse(**kwargs):
        raise ClientError({"Error": {"Code": "InternalError", "Message": "no"}}, "Abort")

    monkeypatch.setattr(s3, "abort_multipart_upload", refuse)
    with pytest.raises(OSError) as failed:
        storage.write_streaming(URI, stream(10, fail_after_mib=9))
    monkeypatch.undo()

    assert "Aborting multipart upload" in failed.value.__notes__[0]
    for upload in open_uploads():  # tidy up the upload the failed abort left open
        s3.abort_multipart_upload(Bucket=BUCKET, Key=upload["Key"], UploadId=upload["UploadId"])


def test_parts_below_the_s3_minimum_are_refused():
    with pytest.raises(ValueError):
        storage.write_streaming(URI, [b"x"], part_bytes=storage.MIN_PART_BYTES - 1)


def test_local_storage_writes_a_temporary_file_and_renames_it(settings, tmp_path):
    settings.OBJECT_STORAGE = "local"
    settings.LOCAL_OBJECT_STORAGE_ROOT = tmp_path
    storage.write_streaming(URI, [b"previous"])

    with pytest.raises(OSError):
        storage.write_streaming(URI, stream(3, fail_after_mib=2))

    assert storage.read_bytes(URI) == b"previous"
    folder = tmp_path / BUCKET / "output/pets/manifests/output"
    assert [path.name for path in folder.iterdir()] == ["output.manifest"]
    storage.write_streaming(URI, stream(2))
    assert storage.read_bytes(URI) == b"".join(stream(2))


def test_the_stream_is_closed_at_once_when_the_upload_fails(monkeypatch):
    # The manifest's stream holds a database cursor in a transaction: it must not outlive a
    # failed upload.
    closed = []

    def endless():
        try:
            while True:
                yield b"x" * MIB
        finally:
            closed.append(True)

    def refuse(**kwargs):
        raise ClientError({"Error": {"Code": "InternalError", "Message": "no"}}, "UploadPart")

    monkeypatch.setattr(storage.client(), "upload_part", refuse)
    with pytest.raises(ClientError):
        storage.write_streaming(URI, endless())
    monkeypatch.undo()

    assert closed == [True]
    assert open_uploads() == []
