"""Input manifests: one JSON object a line with `source-ref` (an S3 URI) or `source` (text)."""

import json
from dataclasses import dataclass

from marketplace import s3uri
from marketplace.errors import ApplicationError
from marketplace.models import Job

MAX_LINE_CHARS = 100_000
MAX_SOURCE_CHARS = 20_000
IMAGE_TASK_TYPES = {Job.TaskType.IMAGE_CLASSIFICATION}


@dataclass(frozen=True)
class InputRecord:
    input_line: str
    source_ref: str
    source: str


class InvalidLine(ValueError):
    """A manifest line that cannot become a data object; the message says why."""


def parse_input_line(raw: str, *, task_type: str) -> InputRecord:
    if len(raw) > MAX_LINE_CHARS:
        raise InvalidLine(f"the line is longer than {MAX_LINE_CHARS:,} characters")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as error:
        raise InvalidLine(f"not valid JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(data, dict):
        raise InvalidLine("the line must be a JSON object")
    source_ref, source = data.get("source-ref"), data.get("source")
    if source_ref is not None and source is not None:
        raise InvalidLine("the line has both 'source-ref' and 'source'; give one")
    if source_ref is None and source is None:
        raise InvalidLine("the line needs 'source-ref' (an S3 URI) or 'source' (inline text)")
    if source_ref is not None:
        if not isinstance(source_ref, str):
            raise InvalidLine("'source-ref' must be a string")
        try:
            s3uri.parse_uri(source_ref)
        except ApplicationError as error:
            raise InvalidLine(error.message) from None
    if source is not None:
        if not isinstance(source, str):
            raise InvalidLine("'source' must be a string")
        if len(source) > MAX_SOURCE_CHARS:
            raise InvalidLine(f"'source' is longer than {MAX_SOURCE_CHARS:,} characters")
    if task_type in IMAGE_TASK_TYPES and source_ref is None:
        raise InvalidLine(f"{task_type} needs 'source-ref' pointing to an image")
    return InputRecord(input_line=raw, source_ref=source_ref or "", source=source or "")
