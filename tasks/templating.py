"""The task page of a custom job: the requester's template rendered for one assignment.

What the page may read is decided here: `grant_read_access` presigns an S3 URI only while the
assignment's lease runs, only until it ends, and only in the buckets the job's data comes from
(the bucket of the object's `source-ref` and the bucket of the input manifest), never the input
manifest itself nor anything under the job's output prefix (other workers' answers). Anything
else renders as an empty string.

The page is served in a sandboxed frame (`tasks.views.custom_frame`) whose Content-Security-Policy
lets it load only the crowd elements script, inline code, and images and media from object
storage; it cannot call the API, submit a form anywhere, or be framed by another site.
"""

import ipaddress
import logging
import math
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from marketplace import s3uri, task_templates
from marketplace.errors import ApplicationError
from tasks import storage
from tasks.models import Assignment, DataObject

logger = logging.getLogger(__name__)

TEMPLATE_FAILED_MESSAGE = (
    "This task cannot be shown: the job's template has a problem. "
    "Release the task or try again later."
)
AWS_STORAGE_SOURCES = "https://*.amazonaws.com"


def task_input_for(data_object: DataObject) -> Any:
    """The task input: the pre-annotation hook's taskInput, or Ground Truth's default
    `{"taskObject": <source-ref or source>}`."""
    if data_object.task_input is not None:
        return data_object.task_input
    return {"taskObject": data_object.source_ref or data_object.source}


def lease_is_live(assignment: Assignment) -> bool:
    return (
        assignment.status == Assignment.Status.RESERVED and assignment.expires_at > timezone.now()
    )


def readable_location(*, assignment: Assignment, uri: str) -> s3uri.S3Uri | None:
    """The object `uri` names, if the assignment's worker may read it now; else None."""
    if not isinstance(uri, str) or not lease_is_live(assignment):
        return None
    try:
        location = s3uri.parse_uri(uri)
    except ApplicationError:
        return None
    job = assignment.job
    buckets = {
        parsed.bucket
        for parsed in (_parsed(assignment.data_object.source_ref), _parsed(job.input_manifest_uri))
        if parsed is not None
    }
    if location.bucket not in buckets or str(location) == job.input_manifest_uri:
        return None
    output = _parsed_prefix(job.output_prefix)
    if (
        output is not None
        and location.bucket == output.bucket
        and location.key.startswith(output.key)
    ):
        return None
    return location


def read_url(*, assignment: Assignment, uri: str) -> str:
    """A presigned GET URL for `uri`, valid until the lease ends; "" when it may not be read."""
    location = readable_location(assignment=assignment, uri=uri)
    if location is None:
        return ""
    seconds_left = (assignment.expires_at - timezone.now()).total_seconds()
    try:
        return storage.presigned_get_url(str(location), expires_in=math.ceil(seconds_left))
    except storage.StorageErrors:
        logger.exception("cannot presign %s for assignment %s", location, assignment.pk)
        return ""


def render_task_page(*, assignment: Assignment) -> str:
    """The job's template rendered for this assignment, or a plain message when it fails."""
    job = assignment.job
    try:
        return task_templates.render_task_template(
            job.ui_template,
            task_input=task_input_for(assignment.data_object),
            read_url=lambda uri: read_url(assignment=assignment, uri=uri),
        )
    except task_templates.TaskTemplateError as error:
        logger.warning("custom template of job %s failed: %s", job.pk, error)
        return f'<p class="groundwork-template-error" role="alert">{TEMPLATE_FAILED_MESSAGE}</p>'


def frame_content_security_policy(*, script_url: str, site_origin: str) -> str:
    """The policy of a task page: scripts inline and the crowd elements script only; images
    and media from object storage; no requests, no form targets, framed by this site only."""
    storage_sources = " ".join(["data:", "blob:", *_storage_sources(site_origin=site_origin)])
    return "; ".join(
        [
            "sandbox allow-scripts allow-forms",
            "default-src 'none'",
            f"script-src 'unsafe-inline' {script_url}",
            f"style-src 'unsafe-inline' {site_origin}",
            f"img-src {storage_sources}",
            f"media-src {storage_sources}",
            "connect-src 'none'",
            "form-action 'none'",
            "base-uri 'none'",
            "frame-ancestors 'self'",
        ]
    )


def _storage_sources(*, site_origin: str) -> list[str]:
    """Where presigned URLs point: this site for local storage, else the S3 endpoint (and its
    bucket subdomains, for virtual-hosted URLs)."""
    if settings.OBJECT_STORAGE == "local":
        return [site_origin]
    if not settings.S3_ENDPOINT_URL:
        return [AWS_STORAGE_SOURCES]
    parts = urlsplit(settings.S3_ENDPOINT_URL)
    sources = [f"{parts.scheme}://{parts.netloc}"]
    if parts.hostname and not _is_ip_address(parts.hostname):
        sources.append(f"{parts.scheme}://*.{parts.netloc}")
    return sources


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _parsed(uri: str) -> s3uri.S3Uri | None:
    try:
        return s3uri.parse_uri(uri) if uri else None
    except ApplicationError:
        return None


def _parsed_prefix(uri: str) -> s3uri.S3Uri | None:
    try:
        return s3uri.parse_prefix(uri)
    except ApplicationError:
        return None
