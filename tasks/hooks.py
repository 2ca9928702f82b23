"""Calling a job's annotation hooks, as Ground Truth calls its pre-annotation and
annotation-consolidation Lambda functions, with the same event and response shapes.

A hook is an HTTPS URL or the dotted path of a Python function listed in
settings.HOOK_ALLOWED_CALLABLES (see marketplace.hook_targets).

An HTTPS hook receives the event as a JSON POST body with the headers
`Content-Type: application/json`, `User-Agent: Groundwork-Hooks/1` and
`Groundwork-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`, where the HMAC is computed with
the organisation's hook secret (as UTF-8 bytes) over `f"{t}.".encode() + body`. A receiver
checks it before trusting the body, and refuses a timestamp more than 5 minutes away:

    fields = dict(part.split("=", 1) for part in header.split(","))
    signed = f"{fields['t']}.".encode() + raw_body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(fields["t"])) <= 300
    valid = hmac.compare_digest(expected, fields["v1"]) and fresh

(`hook_signature_verify` below does exactly this.) The hook answers 2xx with a JSON body of at
most 10 MB within settings.HOOK_TIMEOUT_SECONDS; redirects are not followed. Timeouts, failed
connections, 429 and 5xx answers may succeed when tried again; other failures will not. The
host must resolve to public addresses only (unless settings.HOOKS_ALLOW_PRIVATE_NETWORKS), and
the connection goes to the address that was checked, so a second DNS answer cannot redirect it.
A hook may be called more than once for the same object (a retried call, a resumed job), as
Lambda functions are: it should give the same answer each time.
"""

import copy
import hashlib
import hmac
import ipaddress
import json
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import urllib3
from django.conf import settings
from django.utils.module_loading import import_string
from urllib3 import exceptions as http_errors

from marketplace import hook_targets, s3uri
from marketplace.errors import ApplicationError
from marketplace.models import Job
from tasks import storage
from tasks.manifests import input as manifest_input
from tasks.manifests import output as manifest_output
from tasks.models import Assignment, DataObject
from workforce.services import accounts

EVENT_VERSION = "2018-10-16"
USER_AGENT = "Groundwork-Hooks/1"
SIGNATURE_HEADER = "Groundwork-Signature"
SIGNATURE_TOLERANCE_SECONDS = 300
MAX_RESPONSE_BYTES = 10 * 1024 * 1024
MAX_TASK_INPUT_CHARS = 100_000
MAX_LABEL_CHARS = 1_000_000
_READ_CHUNK_BYTES = 64 * 1024
_QUOTED_TARGET_CHARS = 200
_QUOTED_BODY_CHARS = 200
_POOL_TTL_SECONDS = 60.0  # how long a checked address is used before the host is resolved again


class HookError(Exception):
    """A hook call that failed; `message` says what went wrong in a requester's words, and
    `retryable` whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


def hook_failure_reason(*, kind: str, target: str, subject: str, error: HookError) -> str:
    """`The pre-annotation hook https://… failed for object 17 (manifest line 18): HTTP 500.`"""
    return f"The {kind} hook {hook_display(target)} failed for {subject}: {error.message}"


def hook_display(target: str) -> str:
    if len(target) <= _QUOTED_TARGET_CHARS:
        return target
    return target[: _QUOTED_TARGET_CHARS - 1] + "…"


def hook_call(*, job: Job, target: str, event: dict) -> Any:
    """Send the event to the hook and return its JSON answer; HookError when it fails."""
    if hook_targets.hook_target_is_url(target):
        return _url_call(job=job, target=target, event=event)
    return _python_call(target=target, event=event)


# --- Signatures -------------------------------------------------------------------------------


def hook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The `Groundwork-Signature` header of a request with this body sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def hook_signature_verify(
    *,
    secret: str,
    header: str,
    body: bytes,
    now: float | None = None,
    tolerance_seconds: int = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver checks: the HMAC matches and the timestamp is within the tolerance."""
    try:
        fields = dict(part.strip().split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
        given = fields["v1"]
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        return False
    signed = f"{timestamp}.".encode() + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), given.encode())


# --- HTTPS hooks ------------------------------------------------------------------------------


def _url_call(*, job: Job, target: str, event: dict) -> Any:
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    secret = accounts.organization_hook_secret(organization=job.organization)
    parts = urlsplit(target)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    default_port = port == (443 if parts.scheme == "https" else 80)
    host_header = f"[{host}]" if ":" in host else host
    headers = {
        "Host": host_header if default_port else f"{host_header}:{port}",
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: hook_signature(secret=secret, timestamp=int(time.time()), body=body),
    }
    timeout = settings.HOOK_TIMEOUT_SECONDS
    deadline = time.monotonic() + timeout
    pools = _pools_for(scheme=parts.scheme, host=host, port=port)
    path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
    for index, pool in enumerate(pools):
        try:
            response = pool.urlopen(
                "POST",
                path,
                body=body,
                headers=headers,
                redirect=False,
                retries=False,
                assert_same_host=False,
                timeout=urllib3.Timeout(connect=timeout, read=timeout),
                preload_content=False,
            )
            break
        except http_errors.NewConnectionError as error:
            if index + 1 < len(pools):  # nothing was sent: try the host's next address
                continue
            raise _transport_error(error, host=host, port=port, timeout=timeout) from None
        except http_errors.HTTPError as error:
            raise _transport_error(error, host=host, port=port, timeout=timeout) from None
    try:
        status = response.status
        if not 200 <= status < 300:
            raise _status_error(response)
        raw = _read_limited(response, deadline=deadline, timeout=timeout)
    except http_errors.HTTPError as error:
        response.close()
        raise _transport_error(error, host=host, port=port, timeout=timeout) from None
    except BaseException:
        response.close()
        raise
    response.release_conn()
    return _json_parse(raw, what="the response")


def _status_error(response) -> HookError:
    status = response.status
    if 300 <= status < 400:
        location = response.headers.get("Location", "")
        where = f" to {hook_display(location)}" if location else ""
        return HookError(
            f"HTTP {status}: the hook redirected{where}; give the final URL as the hook, "
            "redirects are not followed.",
            retryable=False,
        )
    excerpt = b""
    content_type = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if content_type in ("text/plain", "application/json"):  # a reason meant to be read
        try:
            excerpt = response.read(_QUOTED_BODY_CHARS * 4, decode_content=True)
        except http_errors.HTTPError:
            excerpt = b""
    text = " ".join(excerpt.decode("utf-8", errors="replace").split())[:_QUOTED_BODY_CHARS]
    said = f" ({text})" if text else ""
    retryable = status == 429 or status >= 500
    return HookError(f"HTTP {status}{said}.", retryable=retryable)


def _read_limited(response, *, deadline: float, timeout: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.stream(_READ_CHUNK_BYTES, decode_content=True):
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise HookError(
                f"the response is larger than {MAX_RESPONSE_BYTES // (1024 * 1024)} MB.",
                retryable=False,
            )
        if time.monotonic() > deadline:
            raise HookError(f"no complete answer within {_seconds(timeout)}.", retryable=True)
        chunks.append(chunk)
    return b"".join(chunks)


def _transport_error(error: Exception, *, host: str, port: int, timeout: int) -> HookError:
    if isinstance(error, http_errors.NewConnectionError):
        return HookError(
            f"could not connect to {host}:{port} ({_os_reason(error)}).", retryable=True
        )
    if isinstance(error, http_errors.SSLError):
        return HookError(
            f"the TLS connection to {host} failed ({_os_reason(error)}); the hook needs a "
            "certificate valid for its host name.",
            retryable=False,
        )
    if isinstance(error, http_errors.TimeoutError):
        return HookError(f"no answer within {_seconds(timeout)}.", retryable=True)
    if isinstance(error, http_errors.DecodeError):
        return HookError("the response body could not be decoded.", retryable=False)
    return HookError(
        f"the connection to {host} broke before the answer ({_os_reason(error)}).",
        retryable=True,
    )


def _seconds(count: int) -> str:
    return f"{count} second" if count == 1 else f"{count} seconds"


def _os_reason(error: BaseException) -> str:
    """The innermost operating-system or TLS reason of a transport error, in plain words."""
    seen: set[int] = set()
    current: BaseException | None = error
    reason = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            reason = current.strerror
        elif isinstance(current, OSError) and current.args and isinstance(current.args[0], str):
            reason = current.args[0]
        current = current.__cause__ or current.__context__
    if not reason:
        reason = str(error).rsplit(": ", 1)[-1]
    return reason[:1].lower() + reason[1:]


_pools: dict[tuple, tuple[float, list[urllib3.HTTPConnectionPool]]] = {}
_pools_lock = threading.Lock()


def _pools_for(*, scheme: str, host: str, port: int) -> list[urllib3.HTTPConnectionPool]:
    """Connection pools to the checked addresses of host:port, in the resolver's order; each
    connects to its address, and TLS is verified against the host name. They are reused for a
    while; after that the host is resolved and checked again."""
    allow_private = settings.HOOKS_ALLOW_PRIVATE_NETWORKS
    key = (scheme, host, port, allow_private)
    now = time.monotonic()
    with _pools_lock:
        cached = _pools.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
    pools: list[urllib3.HTTPConnectionPool] = []
    for address in _addresses_checked(host=host, port=port, allow_private=allow_private):
        if scheme == "https":
            pools.append(
                urllib3.HTTPSConnectionPool(
                    address,
                    port,
                    maxsize=settings.HOOK_CONCURRENCY,
                    cert_reqs="CERT_REQUIRED",
                    server_hostname=host,
                    assert_hostname=host,
                )
            )
        else:
            pools.append(
                urllib3.HTTPConnectionPool(address, port, maxsize=settings.HOOK_CONCURRENCY)
            )
    with _pools_lock:
        _pools[key] = (now + _POOL_TTL_SECONDS, pools)
    return pools


def _addresses_checked(*, host: str, port: int, allow_private: bool) -> list[str]:
    """The addresses to connect to; HookError when the host does not resolve, or resolves to
    an address that is not public (when private networks are not allowed)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise HookError(f"the host {host} cannot be resolved ({reason}).", retryable=True) from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise HookError(f"the host {host} has no address.", retryable=True)
    if not allow_private:
        for address in addresses:
            if not _is_public(address):
                raise HookError(
                    f"{host} resolves to {address}, which is not a public address; hooks are "
                    "called on public addresses only.",
                    retryable=False,
                )
    return addresses


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


# --- Python hooks -----------------------------------------------------------------------------


def _python_call(*, target: str, event: dict) -> Any:
    if target not in settings.HOOK_ALLOWED_CALLABLES:
        raise HookError(
            f"{target} is no longer in this server's allowed list of Python hooks.",
            retryable=False,
        )
    try:
        function = import_string(target)
    except ImportError as error:
        raise HookError(f"{target} cannot be imported ({error}).", retryable=False) from None
    try:
        result = function(copy.deepcopy(event))
    except HookError:
        raise
    except Exception as error:  # noqa: BLE001 - reported to the requester as the hook's failure
        raise HookError(
            f"it raised {type(error).__name__}: {error}".rstrip(": ") + ".", retryable=False
        ) from None
    try:
        encoded = json.dumps(result, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise HookError(
            f"it returned a value that is not JSON ({error}).", retryable=False
        ) from None
    return json.loads(encoded)


# --- JSON -------------------------------------------------------------------------------------


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _json_parse(raw: bytes, *, what: str) -> Any:
    try:
        return json.loads(raw, parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise HookError(f"{what} is not UTF-8 text.", retryable=False) from None
    except ValueError as error:
        raise HookError(f"{what} is not JSON ({error}).", retryable=False) from None


def _encoded_storable(value: Any, *, what: str, max_chars: int) -> str:
    """The value as compact JSON, if the database can store it and it is not too long."""
    encoded = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if len(encoded) > max_chars:
        raise HookError(f"{what} is longer than {max_chars:,} characters as JSON.", retryable=False)
    if "\\u0000" in encoded:
        raise HookError(f"{what} contains a NUL character (\\u0000).", retryable=False)
    try:
        encoded.encode("utf-8")
    except UnicodeEncodeError:
        raise HookError(
            f"{what} contains an unpaired surrogate (\\ud800-\\udfff).", retryable=False
        ) from None
    return encoded


# --- Pre-annotation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PreAnnotation:
    task_input: dict
    human_annotation_required: bool


def pre_annotation_event(*, job: Job, data_object: DataObject) -> dict:
    """Ground Truth's pre-annotation event: the manifest line's object as `dataObject`."""
    return {
        "version": EVENT_VERSION,
        "labelingJobArn": job.arn,
        "dataObject": json.loads(data_object.input_line),
    }


def pre_annotation_run(*, job: Job, data_object: DataObject) -> PreAnnotation:
    """Call the job's pre-annotation hook for one object. Touches no database row, so it may
    run on any thread (the organisation's hook secret is read beforehand)."""
    response = hook_call(
        job=job,
        target=job.pre_annotation_hook,
        event=pre_annotation_event(job=job, data_object=data_object),
    )
    return pre_annotation_response_check(job=job, response=response)


def pre_annotation_response_check(*, job: Job, response: Any) -> PreAnnotation:
    """`{"taskInput": {...}, "isHumanAnnotationRequired": true}` checked against the job."""
    if not isinstance(response, dict):
        raise HookError(
            'the response must be a JSON object {"taskInput": {...}, '
            '"isHumanAnnotationRequired": true}.',
            retryable=False,
        )
    required = response.get("isHumanAnnotationRequired", True)
    if isinstance(required, str) and required.lower() in ("true", "false"):
        required = required.lower() == "true"
    if not isinstance(required, bool):
        raise HookError("'isHumanAnnotationRequired' must be true or false.", retryable=False)
    task_input = response.get("taskInput")
    if task_input is None and not required:
        return PreAnnotation(task_input={}, human_annotation_required=False)
    if not isinstance(task_input, dict):
        raise HookError("'taskInput' must be a JSON object.", retryable=False)
    _encoded_storable(task_input, what="'taskInput'", max_chars=MAX_TASK_INPUT_CHARS)
    if job.task_type != Job.TaskType.CUSTOM and required:
        _task_object_check(job=job, task_object=task_input.get("taskObject"))
    return PreAnnotation(task_input=task_input, human_annotation_required=required)


def _task_object_check(*, job: Job, task_object: Any) -> None:
    image = job.task_type in manifest_input.IMAGE_TASK_TYPES
    what = "the S3 URI of the image" if image else "the text to label"
    if not isinstance(task_object, str) or not task_object:
        raise HookError(
            f"'taskInput' needs a 'taskObject' string ({what} for {job.task_type}).",
            retryable=False,
        )
    if image:
        try:
            s3uri.parse_uri(task_object)
        except ApplicationError:
            raise HookError(
                f"'taskObject' must be the S3 URI of the image (s3://bucket/key) for "
                f"{job.task_type}.",
                retryable=False,
            ) from None


# --- Post-annotation (consolidation) ----------------------------------------------------------


def post_annotation_event(*, job: Job, request_uri: str) -> dict:
    """Ground Truth's annotation-consolidation event; the answers are in the payload file."""
    return {
        "version": EVENT_VERSION,
        "labelingJobArn": job.arn,
        "labelCategories": list(job.labels),
        "labelAttributeName": job.label_attribute_name,
        "payload": {"s3Uri": request_uri},
    }


def post_annotation_run(*, job: Job, data_object: DataObject, answered: list[Assignment]) -> Any:
    """Write the consolidation request file of the object's answers, call the job's
    post-annotation hook with it and return the object's consolidated `<attr>` value.

    `data_object.labeled_at` must already be the time the label will carry: it names the
    request file, so a retried call writes the same file with the same bytes.
    """
    uri = manifest_output.annotation_uris(job=job, data_object=data_object)["consolidation_request"]
    document = manifest_output.consolidation_request(data_object=data_object, answered=answered)
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    try:
        storage.write_streaming(uri, [body], content_type="application/json")
    except storage.StorageErrors as error:
        raise HookError(
            f"the consolidation request file {uri} could not be written ({error}).",
            retryable=True,
        ) from None
    response = hook_call(
        job=job,
        target=job.post_annotation_hook,
        event=post_annotation_event(job=job, request_uri=uri),
    )
    return post_annotation_value(job=job, data_object=data_object, response=response)


def post_annotation_value(*, job: Job, data_object: DataObject, response: Any) -> Any:
    """The object's `<attr>` value from `[{"datasetObjectId", "consolidatedAnnotation":
    {"content": {"<attr>": ...}}}]`."""
    if not isinstance(response, list):
        raise HookError(
            'the response must be a JSON list of {"datasetObjectId": ..., '
            '"consolidatedAnnotation": {"content": {...}}}.',
            retryable=False,
        )
    object_id = str(data_object.position)
    item = next(
        (
            entry
            for entry in response
            if isinstance(entry, dict) and str(entry.get("datasetObjectId")) == object_id
        ),
        None,
    )
    if item is None:
        raise HookError(
            f'the response has no item with "datasetObjectId": "{object_id}".', retryable=False
        )
    consolidated = item.get("consolidatedAnnotation")
    content = consolidated.get("content") if isinstance(consolidated, dict) else None
    if not isinstance(content, dict):
        raise HookError(
            f'the item of datasetObjectId "{object_id}" has no "consolidatedAnnotation": '
            '{"content": {...}} object.',
            retryable=False,
        )
    attribute = job.label_attribute_name
    if attribute not in content:
        raise HookError(
            f'the consolidated content of datasetObjectId "{object_id}" has no '
            f"'{attribute}' key (the job's label attribute name).",
            retryable=False,
        )
    value = content[attribute]
    _encoded_storable(value, what=f"the value of '{attribute}'", max_chars=MAX_LABEL_CHARS)
    return value
