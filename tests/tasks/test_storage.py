import time

import pytest
from botocore.exceptions import ClientError

from marketplace.errors import ApplicationError
from tasks import storage

URI = "s3://groundwork-test/out/file.txt"


def chunks_then_failure():
    yield b"half of a new "
    raise OSError("the disk went away")


@pytest.fixture
def local_storage(settings, tmp_path):
    settings.OBJECT_STORAGE = "local"
    settings.LOCAL_OBJECT_STORAGE_ROOT = tmp_path
    return tmp_path


def test_s3_write_is_all_or_nothing():
    storage.write(URI, [b"first\n", b"version\n"])

    with pytest.raises(OSError):
        storage.write(URI, chunks_then_failure())

    assert storage.read_bytes(URI) == b"first\nversion\n"


def test_s3_lines_are_streamed_without_line_endings():
    storage.write(URI, [b'{"a": 1}\r\n{"b": "\xc3\xa9"}\n', b"\nlast"])

    assert list(storage.iter_lines(URI)) == ['{"a": 1}', '{"b": "é"}', "", "last"]


def test_s3_missing_object_raises_a_storage_error():
    with pytest.raises(ClientError):
        list(storage.iter_lines("s3://groundwork-test/missing"))


def test_local_write_is_all_or_nothing_and_leaves_no_temporary_file(local_storage):
    storage.write(URI, [b"first"])

    with pytest.raises(OSError):
        storage.write(URI, chunks_then_failure())

    assert storage.read_bytes(URI) == b"first"
    assert [p.name for p in (local_storage / "groundwork-test" / "out").iterdir()] == ["file.txt"]


def test_local_paths_cannot_leave_the_storage_root(local_storage):
    with pytest.raises(ApplicationError):
        storage.read_bytes("s3://groundwork-test/../../etc/passwd")


@pytest.mark.django_db
def test_local_presigned_links_serve_one_object_until_they_expire(local_storage, client):
    storage.write(URI, [b"secret bytes"])
    url = storage.presigned_get_url(URI, expires_in=60)

    served = client.get(url)
    tampered = client.get(url[:-3] + ("abc" if not url.endswith("abc") else "xyz"))
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == b"secret bytes"
    assert tampered.status_code == 404

    expired = storage.presigned_get_url(URI, expires_in=1)
    time.sleep(2.1)
    assert client.get(expired).status_code == 404
