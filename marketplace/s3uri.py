"""Parsing `s3://bucket/key` URIs, shared by job specs and the storage code."""

import re
from dataclasses import dataclass

from marketplace.errors import ApplicationError

_BUCKET = r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]"
_URI = re.compile(rf"^s3://(?P<bucket>{_BUCKET})/(?P<key>[^\x00-\x1f]+)$")
_PREFIX_URI = re.compile(rf"^s3://(?P<bucket>{_BUCKET})(?:/(?P<key>[^\x00-\x1f]*))?$")


@dataclass(frozen=True)
class S3Uri:
    bucket: str
    key: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def parse_uri(uri: str, *, field: str | None = None) -> S3Uri:
    """`s3://bucket/key` with a key; raises ApplicationError naming `field` otherwise."""
    match = _URI.match(uri or "")
    if match is None or match["key"].endswith("/"):
        raise ApplicationError(
            "invalid_s3_uri", f"'{uri}' is not an S3 object URI (s3://bucket/key).", field=field
        )
    return S3Uri(match["bucket"], match["key"])


def parse_prefix(uri: str, *, field: str | None = None) -> S3Uri:
    """`s3://bucket/prefix/`, returned with its key ending in '/' (or empty for the bucket)."""
    match = _PREFIX_URI.match(uri or "")
    if match is None:
        raise ApplicationError(
            "invalid_s3_uri", f"'{uri}' is not an S3 location (s3://bucket/prefix/).", field=field
        )
    key = match["key"] or ""
    if key and not key.endswith("/"):
        key += "/"
    return S3Uri(match["bucket"], key)
