"""Input manifests: one JSON object a line with `source-ref` (an S3 URI) or `source` (text).

Image jobs need a `source-ref` to a .jpg, .jpeg or .png object; text jobs take inline `source`
text or a `source-ref` to a .txt object; custom jobs take either, to any object (their template
decides what to show). Every other key passes through untouched, so a line of
an earlier job's output manifest (with its `<attr>` and `<attr>-metadata` keys) is valid input
for a chained job, unless it already carries the new job's label attribute.
"""

import json
from dataclasses import dataclass

from marketplace import s3uri
from marketplace.errors import ApplicationError
from marketplace.models import Job

MAX_LINE_CHARS = 100_000
MAX_LINE_BYTES = MAX_LINE_CHARS * 4  # a longer line cannot be ≤ MAX_LINE_CHARS in UTF-8
MAX_SOURCE_CHARS = 20_000
MAX_SOURCE_REF_CHARS = 1_024  # DataObject.source_ref
MAX_QUOTED_CHARS = 100  # how much of a bad value a reason repeats

IMAGE_TASK_TYPES = frozenset(
    {Job.TaskType.IMAGE_CLASSIFICATION, Job.TaskType.IMAGE_CLASSIFICATION_MULTILABEL}
)
TEXT_TASK_TYPES = frozenset(
    {Job.TaskType.TEXT_CLASSIFICATION, Job.TaskType.TEXT_CLASSIFICATION_MULTILABEL}
)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
TEXT_EXTENSIONS = (".txt",)
_BLANK = b" \t\r"  # JSON whitespace (b"\n" never reaches here)


@dataclass(frozen=True)
class InputRecord:
    input_line: str
    source_ref: str
    source: str
    carried: bool = False  # already labeled under the job's label attribute


class InvalidLine(ValueError):
    """A manifest line that cannot become a data object; the message says why."""


def supported_extensions(task_type: str) -> tuple[str, ...]:
    """The object extensions a `source-ref` of this task type may have (lower case); empty
    for custom jobs, which take any object."""
    if task_type == Job.TaskType.CUSTOM:
        return ()
    return TEXT_EXTENSIONS if task_type in TEXT_TASK_TYPES else IMAGE_EXTENSIONS


def has_supported_extension(uri: str, *, task_type: str) -> bool:
    extensions = supported_extensions(task_type)
    return uri.lower().endswith(extensions) if extensions else not uri.endswith("/")


def is_blank(raw: bytes) -> bool:
    """A line of JSON whitespace only: skipped, it is no object and no error."""
    return not raw.strip(_BLANK)


def decode_line(raw: bytes) -> str:
    """The line as text; InvalidLine when it is not UTF-8 or obviously too long."""
    if len(raw) > MAX_LINE_BYTES:
        raise InvalidLine(f"the line is longer than {MAX_LINE_CHARS:,} characters")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidLine(
            f"the line is not UTF-8 text (invalid byte at position {error.start + 1})"
        ) from None


def parse_input_line(raw: str, *, task_type: str, label_attribute_name: str = "") -> InputRecord:
    """Validate one manifest line for a job of `task_type`; InvalidLine says what is wrong.

    With `label_attribute_name`, a line that already holds that label (`<attr>`, as the output
    of an earlier job under the same name does) is `carried`: a job continued by chaining keeps
    that label and labels only the other lines.
    """
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
        _check_source_ref(source_ref, task_type=task_type)
    else:
        _check_source(source, task_type=task_type)
    carried = bool(label_attribute_name) and label_attribute_name in data
    if label_attribute_name and not carried and f"{label_attribute_name}-metadata" in data:
        raise InvalidLine(
            f"the line has '{label_attribute_name}-metadata' but no '{label_attribute_name}'"
        )
    return InputRecord(
        input_line=raw, source_ref=source_ref or "", source=source or "", carried=carried
    )


def _check_source_ref(source_ref: object, *, task_type: str) -> None:
    if not isinstance(source_ref, str):
        raise InvalidLine("'source-ref' must be a string")
    if len(source_ref) > MAX_SOURCE_REF_CHARS:
        raise InvalidLine(f"'source-ref' is longer than {MAX_SOURCE_REF_CHARS:,} characters")
    try:
        s3uri.parse_uri(source_ref)
    except ApplicationError:
        raise InvalidLine(
            f"{_quote(source_ref)} is not an S3 object URI (s3://bucket/key)"
        ) from None
    _check_storable("source-ref", source_ref)
    if not has_supported_extension(source_ref, task_type=task_type):
        if task_type in TEXT_TASK_TYPES:
            raise InvalidLine(f"{_quote(source_ref)} is not a text object (.txt)")
        raise InvalidLine(f"{_quote(source_ref)} is not a supported image (.jpg, .jpeg, .png)")


def _check_source(source: object, *, task_type: str) -> None:
    if task_type in IMAGE_TASK_TYPES:
        raise InvalidLine(f"{task_type} needs 'source-ref' pointing to an image")
    if not isinstance(source, str):
        raise InvalidLine("'source' must be a string")
    if not source.strip():
        raise InvalidLine("'source' is empty")
    if len(source) > MAX_SOURCE_CHARS:
        raise InvalidLine(f"'source' is longer than {MAX_SOURCE_CHARS:,} characters")
    _check_storable("source", source)


def _check_storable(key: str, value: str) -> None:
    """PostgreSQL text holds neither NUL nor the lone surrogates that JSON escapes can spell."""
    if value.isascii():
        if "\x00" in value:
            raise InvalidLine(f"'{key}' contains a NUL character")
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidLine(f"'{key}' contains an unpaired surrogate (\\ud800-\\udfff)") from None
    if "\x00" in value:
        raise InvalidLine(f"'{key}' contains a NUL character")


def _quote(value: str) -> str:
    """The value in quotes for a reason, shortened when long."""
    if len(value) > MAX_QUOTED_CHARS:
        value = value[: MAX_QUOTED_CHARS - 1] + "…"
    return f"'{value}'"
