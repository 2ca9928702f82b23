"""Reading and writing `s3://bucket/key` objects.

With OBJECT_STORAGE=s3 the objects live in S3 (or any S3-compatible endpoint) and are read and
written with boto3. With OBJECT_STORAGE=local the same URIs map to files under
LOCAL_OBJECT_STORAGE_ROOT/<bucket>/<key>, so that `make run` works with nothing configured.

Writes are all-or-nothing: S3 completes a multipart upload only when every part arrived, and
local files are renamed into place; a failure mid-way leaves the previous object untouched.
"""

import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core import signing
from django.urls import reverse

from marketplace.errors import ApplicationError
from marketplace.s3uri import S3Uri, parse_uri

_SIGNING_SALT = "tasks.storage.object"
_SPOOL_BYTES = 8 * 1024 * 1024

StorageErrors = (BotoCoreError, ClientError, OSError)


@lru_cache(maxsize=4)
def _client(endpoint_url: str | None, region: str, access_key: str | None, secret: str | None):
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret,
        config=Config(signature_version="s3v4", retries={"mode": "standard", "max_attempts": 5}),
    )


def client():
    return _client(
        settings.S3_ENDPOINT_URL,
        settings.AWS_S3_REGION_NAME,
        settings.AWS_ACCESS_KEY_ID,
        settings.AWS_SECRET_ACCESS_KEY,
    )


def _is_local() -> bool:
    return settings.OBJECT_STORAGE == "local"


def _local_path(uri: S3Uri) -> Path:
    root = Path(settings.LOCAL_OBJECT_STORAGE_ROOT).resolve()
    path = (root / uri.bucket / uri.key).resolve()
    if root not in path.parents:
        raise ApplicationError("invalid_s3_uri", f"'{uri}' points outside the storage root.")
    return path


def iter_lines(uri: str) -> Iterator[str]:
    """The object's lines decoded as UTF-8, without line endings, read as a stream."""
    location = parse_uri(uri)
    if _is_local():
        with _local_path(location).open("rb") as handle:
            for raw in handle:
                yield raw.rstrip(b"\r\n").decode("utf-8")
        return
    body = client().get_object(Bucket=location.bucket, Key=location.key)["Body"]
    try:
        for raw in body.iter_lines(chunk_size=1024 * 1024, keepends=False):
            yield raw.decode("utf-8")
    finally:
        body.close()


def write(uri: str, chunks: Iterable[bytes], *, content_type: str = "application/octet-stream"):
    """Write the object from a stream of byte chunks, all or nothing."""
    location = parse_uri(uri)
    if _is_local():
        path = _local_path(location)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as spool:
        for chunk in chunks:
            spool.write(chunk)
        spool.seek(0)
        client().upload_fileobj(
            spool,
            location.bucket,
            location.key,
            ExtraArgs={"ContentType": content_type},
            Config=TransferConfig(
                multipart_threshold=_SPOOL_BYTES, multipart_chunksize=_SPOOL_BYTES
            ),
        )


def read_bytes(uri: str) -> bytes:
    location = parse_uri(uri)
    if _is_local():
        return _local_path(location).read_bytes()
    return client().get_object(Bucket=location.bucket, Key=location.key)["Body"].read()


def ensure_bucket(bucket: str) -> None:
    """Create the bucket when it is missing (used for the demo and the test endpoint)."""
    if _is_local():
        (Path(settings.LOCAL_OBJECT_STORAGE_ROOT) / bucket).mkdir(parents=True, exist_ok=True)
        return
    try:
        client().head_bucket(Bucket=bucket)
    except ClientError:
        client().create_bucket(Bucket=bucket)


def check() -> None:
    """Raise when the platform bucket cannot be reached (for /healthz)."""
    if _is_local():
        root = Path(settings.LOCAL_OBJECT_STORAGE_ROOT)
        root.mkdir(parents=True, exist_ok=True)
        if not os.access(root, os.W_OK):
            raise OSError(f"{root} is not writable")
        return
    client().head_bucket(Bucket=settings.S3_BUCKET)


def presigned_get_url(uri: str, *, expires_in: int) -> str:
    """A URL that serves this one object for `expires_in` seconds, and nothing else."""
    location = parse_uri(uri)
    expires_in = max(1, int(expires_in))
    if _is_local():
        token = signing.dumps(
            {"uri": str(location), "exp": int(time.time()) + expires_in}, salt=_SIGNING_SALT
        )
        return reverse("tasks:object-download", kwargs={"token": token})
    return client().generate_presigned_url(
        "get_object",
        Params={"Bucket": location.bucket, "Key": location.key},
        ExpiresIn=expires_in,
    )


def local_path_for_token(token: str) -> Path | None:
    """The file a local presigned URL points to, or None when the token is forged or expired."""
    try:
        payload = signing.loads(token, salt=_SIGNING_SALT)
    except signing.BadSignature:
        return None
    if payload.get("exp", 0) < time.time():
        return None
    return _local_path(parse_uri(payload["uri"]))
