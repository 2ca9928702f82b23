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
from concurrent.futures import ThreadPoolExecutor
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
from marketplace.s3uri import S3Uri, parse_prefix, parse_uri

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


MIN_PART_BYTES = 5 * 1024 * 1024  # S3's minimum for every part but the last
PART_BYTES = 8 * 1024 * 1024
_CHECKSUM = "CRC32"


def write_streaming(
    uri: str,
    chunks: Iterable[bytes],
    *,
    content_type: str = "application/octet-stream",
    part_bytes: int = PART_BYTES,
) -> None:
    """Write the object from a stream of byte chunks, all or nothing, holding about two parts.

    On S3 the bytes go out as they come, in parts of `part_bytes` (a multipart upload; an object
    smaller than one part is a single PUT); a part uploads on a background thread while the next
    one is produced. The object appears only when the upload completes; on any error, in the
    stream or in S3, the stream is closed and the upload aborted, so the previous object stays
    as it was and no part is left stored. Local storage writes a temporary file and renames it.
    """
    if part_bytes < MIN_PART_BYTES:
        raise ValueError(f"S3 parts are at least {MIN_PART_BYTES} bytes")
    location = parse_uri(uri)
    pending: list[bytes] = []
    size = 0
    upload: _MultipartUpload | None = None
    try:
        if _is_local():
            write(uri, chunks, content_type=content_type)
            return
        for chunk in chunks:
            pending.append(chunk)
            size += len(chunk)
            if size < part_bytes:
                continue
            upload = upload or _MultipartUpload(location, content_type=content_type)
            data = b"".join(pending)
            start = 0
            while len(data) - start >= part_bytes:
                upload.part_add(data[start : start + part_bytes])
                start += part_bytes
            pending, size = ([data[start:]] if start < len(data) else []), len(data) - start
        if upload is None:
            client().put_object(
                Bucket=location.bucket,
                Key=location.key,
                Body=b"".join(pending),
                ContentType=content_type,
            )
            return
        if size:
            upload.part_add(b"".join(pending))
        upload.complete()
    except BaseException as error:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()  # a generator's clean-up (an open cursor, a transaction) runs now
        if upload is not None:
            upload.abort(error)
        raise


class _MultipartUpload:
    """One S3 multipart upload whose parts go out in order on one background thread."""

    def __init__(self, location: S3Uri, *, content_type: str) -> None:

        self.s3 = client()
        self.location = location
        self.upload_id = self.s3.create_multipart_upload(
            Bucket=location.bucket,
            Key=location.key,
            ContentType=content_type,
            ChecksumAlgorithm=_CHECKSUM,
        )["UploadId"]
        self.uploader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="s3-parts")
        self.parts: list = []  # futures of the parts' {"PartNumber", "ETag", ...}

    def part_add(self, body: bytes) -> None:
        """Queue the next part, then wait for the one before it: two parts at most are held."""
        self.parts.append(self.uploader.submit(self._part_upload, len(self.parts) + 1, body))
        if len(self.parts) > 1:
            self.parts[-2].result()

    def _part_upload(self, number: int, body: bytes) -> dict:
        # Each part carries its CRC32, and completing lists them, as s3transfer does.
        response = self.s3.upload_part(
            Bucket=self.location.bucket,
            Key=self.location.key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=body,
            ChecksumAlgorithm=_CHECKSUM,
        )
        part = {"PartNumber": number, "ETag": response["ETag"]}
        if f"Checksum{_CHECKSUM}" in response:
            part[f"Checksum{_CHECKSUM}"] = response[f"Checksum{_CHECKSUM}"]
        return part

    def complete(self) -> None:
        parts = [future.result() for future in self.parts]
        self.uploader.shutdown()
        self.s3.complete_multipart_upload(
            Bucket=self.location.bucket,
            Key=self.location.key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": parts},
        )

    def abort(self, error: BaseException) -> None:
        """Abort once no part is uploading any more (a part that finished after the abort
        would be stored again)."""
        self.uploader.shutdown(wait=True, cancel_futures=True)
        try:
            self.s3.abort_multipart_upload(
                Bucket=self.location.bucket, Key=self.location.key, UploadId=self.upload_id
            )
        except StorageErrors as abort_error:
            # The original error is the one to raise. A bucket lifecycle rule
            # (AbortIncompleteMultipartUpload) removes the parts an abort could not.
            error.add_note(
                f"Aborting multipart upload {self.upload_id} of {self.location} failed: "
                f"{abort_error}"
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


# --- Listing a prefix and reading raw lines (manifest ingestion). ------------------------------

_READ_CHUNK_BYTES = 1024 * 1024


def iter_object_uris(prefix_uri: str, *, page_size: int = 1000) -> Iterator[str]:
    """The URIs of the objects under `s3://bucket/prefix/`, in key order, read page by page.

    S3 is listed with the list_objects_v2 paginator (`page_size` keys a request); local storage
    walks the folder. Folder placeholders (keys ending in '/') are left out.
    """

    location = parse_prefix(prefix_uri)
    if _is_local():
        yield from _local_object_uris(location)
        return
    paginator = client().get_paginator("list_objects_v2")
    pages = paginator.paginate(
        Bucket=location.bucket, Prefix=location.key, PaginationConfig={"PageSize": page_size}
    )
    for page in pages:
        for entry in page.get("Contents", ()):
            if not entry["Key"].endswith("/"):
                yield f"s3://{location.bucket}/{entry['Key']}"


def _local_object_uris(location: S3Uri) -> Iterator[str]:
    root = Path(settings.LOCAL_OBJECT_STORAGE_ROOT).resolve() / location.bucket
    folder = (root / location.key).resolve()
    if folder != root and root not in folder.parents:
        raise ApplicationError("invalid_s3_uri", f"'{location}' points outside the storage root.")
    if not folder.is_dir():
        return
    yield from _local_walk(folder, f"s3://{location.bucket}/{location.key}")


def _local_walk(folder: Path, uri_prefix: str) -> Iterator[str]:
    """Files under `folder` in S3 key order: a folder's entries sort by their key, so a
    sub-folder `a` sorts as `a/` (after `a-b`, before `a0`), as S3 sorts the keys under it."""
    with os.scandir(folder) as scan:
        entries = [(e.name + "/" if e.is_dir() else e.name, e) for e in scan]
    entries.sort(key=lambda item: item[0].encode("utf-8", "surrogateescape"))
    for name, entry in entries:
        if entry.is_dir():
            yield from _local_walk(Path(entry.path), uri_prefix + name)
        elif entry.is_file() and not entry.name.startswith("."):  # "." files: unfinished writes
            yield uri_prefix + name


def iter_chunks(uri: str, *, chunk_size: int = _READ_CHUNK_BYTES) -> Iterator[bytes]:
    """The object's bytes, read as a stream. The object is opened before this returns, so a
    missing object raises here rather than on the first read."""
    location = parse_uri(uri)
    if _is_local():
        return _read_in_chunks(_local_path(location).open("rb"), chunk_size)
    body = client().get_object(Bucket=location.bucket, Key=location.key)["Body"]
    return _read_in_chunks(body, chunk_size)


def _read_in_chunks(handle, chunk_size: int) -> Iterator[bytes]:
    try:
        while chunk := handle.read(chunk_size):
            yield chunk
    finally:
        handle.close()


def iter_byte_lines(uri: str, *, max_line_bytes: int | None = None) -> Iterator[bytes]:
    """The object's lines as bytes, split at b"\\n", without trailing b"\\r", read as a stream.

    With `max_line_bytes`, a longer line is cut to its first `max_line_bytes + 1` bytes (so the
    caller still sees that it is too long) and the rest of it is skipped: one huge line cannot
    take the memory.
    """
    limit = max_line_bytes + 1 if max_line_bytes is not None else None
    pending = b""
    for chunk in iter_chunks(uri):
        parts = chunk.split(b"\n")
        if len(parts) == 1:
            if limit is None or len(pending) < limit:
                pending = (pending + chunk)[:limit]
            continue
        first = pending + parts[0] if pending else parts[0]
        yield first[:limit].rstrip(b"\r")
        for line in parts[1:-1]:
            yield line[:limit].rstrip(b"\r")
        pending = parts[-1][:limit]
    if pending:
        yield pending.rstrip(b"\r")
