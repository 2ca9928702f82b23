"""Annotation hooks: targets, signatures, the organisation's secret, and calling a hook over HTTP
(a real local server) or in Python."""

import datetime
import json
import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from marketplace.hook_targets import hook_target_check
from marketplace.models import Job
from marketplace.services import jobs
from tasks import hooks
from workforce.models import Organization
from workforce.services import accounts

pytestmark = pytest.mark.django_db

MANIFEST = "s3://groundwork-test/input/hooks.manifest"

# What the test hook server answers: (status, body) where a body that is not bytes is sent as
# JSON, optionally with extra headers as a third item.
Answer = tuple


class HookServer:
    """A hook endpoint on 127.0.0.1 that checks each request's signature with the secret and
    answers with `respond(event, request_number)`."""

    def __init__(
        self,
        *,
        secret: str,
        respond: Callable[[Any, int], Answer],
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.secret = secret
        self.respond = respond
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with server._lock:
                    number = len(server.requests)
                    server.requests.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "body": body,
                            "signed": hooks.hook_signature_verify(
                                secret=server.secret,
                                header=self.headers.get("Groundwork-Signature", ""),
                                body=body,
                            ),
                        }
                    )
                answer = server.respond(json.loads(body), number)
                status, payload, *extra = answer
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                content_type = "text/plain" if isinstance(payload, bytes) else "application/json"
                headers = {"Content-Type": content_type, **(extra[0] if extra else {})}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.scheme = "http"
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str = "/hook", *, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.httpd.server_address[1]}{path}"

    def events(self) -> list[dict]:
        return [json.loads(request["body"]) for request in self.requests]

    def __enter__(self) -> "HookServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def local_hooks_allowed(settings) -> None:
    settings.HOOKS_ALLOW_HTTP = True
    settings.HOOKS_ALLOW_PRIVATE_NETWORKS = True


def job_spec_fields(**overrides) -> dict:
    """A spec as JobSpecInput.validate returns it (the model's fields), for jobs.job_create."""
    spec = {
        "name": "pets",
        "label_attribute_name": "animal",
        "task_type": Job.TaskType.IMAGE_CLASSIFICATION,
        "input_manifest_uri": MANIFEST,
        "input_s3_prefix": "",
        "output_path": "s3://groundwork-test/output/",
        "labels": ["cat", "dog"],
        "title": "Cat or dog?",
        "description": "Pick the animal in the photo.",
        "keywords": ["images"],
        "workforce": Job.Workforce.PUBLIC,
        "workforce_target": "",
        "workers_per_object": 1,
        "reward_per_task_mills": 50,
    }
    spec.update(overrides)
    return spec


def hooked_job(organization, **overrides) -> Job:
    """A job created through the service (its ingestion is not run: on-commit work does not
    fire in these tests)."""
    return jobs.job_create(
        organization=organization,
        created_by=organization.memberships.get().user,
        spec=job_spec_fields(**overrides),
    )


def exploding_hook(event: dict) -> dict:
    raise ValueError("no taskObject for you")


def echo_hook(event: dict) -> dict:
    return {"echo": event}


# --- Targets ----------------------------------------------------------------------------------


def test_an_https_url_is_a_target_normalised(settings):
    assert hook_target_check(" HTTPS://Hooks.Example.com:8443/pre?v=1#frag ") == (
        "https://hooks.example.com:8443/pre?v=1"
    )
    assert hook_target_check("https://hooks.example.com") == "https://hooks.example.com/"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("http://hooks.example.com/pre", "Use an https:// URL"),
        ("ftp://hooks.example.com/pre", "must start with https://"),
        ("https://user:secret@hooks.example.com/", "must not contain credentials"),
        ("https:///pre", "has no host"),
        ("https://hooks.example.com:99999/", "not a valid URL"),
        ("https://hooks.example.com/a b", "spaces or control characters"),
        ("https://hooks.example.com/" + "a" * 1024, "at most 1024 characters"),
        ("", "Give an HTTPS URL"),
        ("not a target", "dotted path"),
        ("os.system", "'os.system' is not in the allowed list: tasks.builtin_hooks."),
    ],
)
def test_a_bad_target_is_refused_with_a_reason(settings, value, reason):
    with pytest.raises(ValueError, match=None) as refused:
        hook_target_check(value)
    assert reason in str(refused.value)


def test_http_is_accepted_only_when_the_server_allows_it(settings):
    settings.HOOKS_ALLOW_HTTP = True
    assert hook_target_check("http://10.0.0.5:8080/pre") == "http://10.0.0.5:8080/pre"


def test_a_dotted_path_must_be_in_the_allow_list(settings):
    assert hook_target_check("tasks.builtin_hooks.pre_annotation") == (
        "tasks.builtin_hooks.pre_annotation"
    )
    settings.HOOK_ALLOWED_CALLABLES = ["tasks.builtin_hooks.post_annotation"]
    with pytest.raises(ValueError) as refused:
        hook_target_check("tasks.builtin_hooks.pre_annotation")
    assert str(refused.value) == (
        "'tasks.builtin_hooks.pre_annotation' is not in the allowed list: "
        "tasks.builtin_hooks.post_annotation."
    )


# --- The organisation's secret and signatures -------------------------------------------------


def test_the_hook_secret_is_made_once_and_concurrent_first_uses_agree(organization):
    stale = Organization.objects.get(pk=organization.pk)

    secret = accounts.organization_hook_secret(organization=organization)
    again = accounts.organization_hook_secret(organization=stale)

    assert len(secret) == 64 and int(secret, 16) >= 0
    assert again == secret
    assert Organization.objects.get(pk=organization.pk).hook_secret == secret


def test_rotating_the_hook_secret_replaces_it(organization):
    old = accounts.organization_hook_secret(organization=organization)

    new = accounts.organization_hook_secret_rotate(organization=organization)

    assert new != old and len(new) == 64
    fresh = Organization.objects.get(pk=organization.pk)
    assert accounts.organization_hook_secret(organization=fresh) == new


def test_a_signature_is_checked_against_the_body_the_secret_and_the_time():
    body = b'{"version":"2018-10-16"}'
    header = hooks.hook_signature(secret="s3cret", timestamp=1_700_000_000, body=body)

    def verify(**changes) -> bool:
        arguments = {"secret": "s3cret", "header": header, "body": body, "now": 1_700_000_100}
        return hooks.hook_signature_verify(**{**arguments, **changes})

    assert header.startswith("t=1700000000,v1=")
    assert verify()
    assert not verify(body=body + b" ")
    assert not verify(secret="other")
    assert not verify(now=1_700_000_000 + 301)
    assert not verify(header="v1=abc")


# --- Calling a hook ---------------------------------------------------------------------------


def test_an_http_hook_gets_a_signed_json_post_and_its_json_answer_is_returned(
    settings, organization
):
    local_hooks_allowed(settings)
    job = hooked_job(organization)
    secret = accounts.organization_hook_secret(organization=organization)

    with HookServer(secret=secret, respond=lambda event, n: (200, {"got": event})) as server:
        answer = hooks.hook_call(job=job, target=server.url("/pre?x=1"), event={"a": "é"})

    assert answer == {"got": {"a": "é"}}
    (request,) = server.requests
    assert request["signed"]
    assert request["path"] == "/pre?x=1"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["User-Agent"] == "Groundwork-Hooks/1"
    assert request["headers"]["Host"] == f"127.0.0.1:{server.httpd.server_address[1]}"


@pytest.mark.parametrize(
    ("answer", "message", "retryable"),
    [
        ((500, b"database down"), "HTTP 500 (database down).", True),
        ((503, {"error": "busy"}), 'HTTP 503 ({"error": "busy"}).', True),
        ((429, b""), "HTTP 429.", True),
        ((400, b"no source-ref"), "HTTP 400 (no source-ref).", False),
        ((200, b"not json"), "the response is not JSON", False),
        (
            (302, b"", {"Location": "https://elsewhere.example/"}),
            "HTTP 302: the hook redirected to https://elsewhere.example/; give the final URL "
            "as the hook, redirects are not followed.",
            False,
        ),
    ],
)
def test_a_failing_http_hook_says_what_went_wrong_and_whether_to_retry(
    settings, organization, answer, message, retryable
):
    local_hooks_allowed(settings)
    job = hooked_job(organization)
    secret = accounts.organization_hook_secret(organization=organization)

    with HookServer(secret=secret, respond=lambda event, n: answer) as server:
        with pytest.raises(hooks.HookError) as failed:
            hooks.hook_call(job=job, target=server.url(), event={})

    assert failed.value.message.startswith(message)
    assert failed.value.retryable is retryable
    assert len(server.requests) == 1  # no redirect followed, no retry here


def test_a_slow_hook_times_out_and_may_be_retried(settings, organization):
    local_hooks_allowed(settings)
    settings.HOOK_TIMEOUT_SECONDS = 1
    job = hooked_job(organization)
    secret = accounts.organization_hook_secret(organization=organization)

    def slow(event, n):
        time.sleep(2)
        return 200, {}

    with HookServer(secret=secret, respond=slow) as server:
        with pytest.raises(hooks.HookError) as failed:
            hooks.hook_call(job=job, target=server.url(), event={})

    assert (failed.value.message, failed.value.retryable) == ("no answer within 1 second.", True)


def test_a_closed_port_is_a_connection_error_that_may_be_retried(settings, organization):
    local_hooks_allowed(settings)
    job = hooked_job(organization)
    with HookServer(secret="x", respond=lambda event, n: (200, {})) as server:
        target = server.url()
    with pytest.raises(hooks.HookError) as failed:
        hooks.hook_call(job=job, target=target, event={})

    port = target.split(":")[2].split("/")[0]
    assert failed.value.message.startswith(f"could not connect to 127.0.0.1:{port} (")
    assert failed.value.retryable


def tls_server_context(tmp_path, *, host_name: str) -> tuple[ssl.SSLContext, str]:
    """A server context with a self-signed certificate for `host_name`, and the certificate's
    file (which a client trusts through SSL_CERT_FILE)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, host_name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host_name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate_file = tmp_path / "hook.pem"
    key_file = tmp_path / "hook.key"
    certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate_file, key_file)
    return context, str(certificate_file)


def test_an_https_hook_is_reached_at_the_checked_address_and_verified_by_its_name(
    settings, organization, tmp_path, monkeypatch
):
    settings.HOOKS_ALLOW_PRIVATE_NETWORKS = True
    context, trusted = tls_server_context(tmp_path, host_name="localhost")
    monkeypatch.setenv("SSL_CERT_FILE", trusted)
    job = hooked_job(organization)
    secret = accounts.organization_hook_secret(organization=organization)

    with HookServer(secret=secret, respond=lambda e, n: (200, {"ok": 1}), tls=context) as server:
        answer = hooks.hook_call(job=job, target=server.url(host="localhost"), event={"a": 1})

    assert answer == {"ok": 1}
    assert [request["signed"] for request in server.requests] == [True]


def test_an_https_hook_with_a_certificate_for_another_name_is_refused(
    settings, organization, tmp_path, monkeypatch
):
    settings.HOOKS_ALLOW_PRIVATE_NETWORKS = True
    context, trusted = tls_server_context(tmp_path, host_name="hooks.example.com")
    monkeypatch.setenv("SSL_CERT_FILE", trusted)
    job = hooked_job(organization)

    with HookServer(secret="x", respond=lambda e, n: (200, {}), tls=context) as server:
        with pytest.raises(hooks.HookError) as refused:
            hooks.hook_call(job=job, target=server.url(host="localhost"), event={})

    assert refused.value.message.startswith("the TLS connection to localhost failed (")
    assert refused.value.message.endswith("the hook needs a certificate valid for its host name.")
    assert not refused.value.retryable
    assert server.requests == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_private_address_is_refused_when_the_hook_is_called(settings, organization, host):
    settings.HOOKS_ALLOW_HTTP = True
    settings.HOOKS_ALLOW_PRIVATE_NETWORKS = False
    job = hooked_job(organization)

    with HookServer(secret="x", respond=lambda event, n: (200, {})) as server:
        target = server.url().replace("127.0.0.1", host)
        assert hook_target_check(target) == target  # accepted in the spec: DNS may change
        with pytest.raises(hooks.HookError) as refused:
            hooks.hook_call(job=job, target=target, event={})

    assert refused.value.message.startswith(f"{host} resolves to ")
    assert refused.value.message.endswith(
        "which is not a public address; hooks are called on public addresses only."
    )
    assert not refused.value.retryable
    assert server.requests == []


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:4700::6810:84e5", True),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),  # noqa: S104
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
    ],
)
def test_only_public_addresses_count_as_public(address, public):
    assert hooks._is_public(address) is public


def test_a_python_hook_in_the_allow_list_is_called_with_a_copy_of_the_event(settings, organization):
    settings.HOOK_ALLOWED_CALLABLES = ["tests.tasks.test_hooks.echo_hook"]
    job = hooked_job(organization)
    event = {"dataObject": {"source": "hi"}}

    assert hooks.hook_call(job=job, target="tests.tasks.test_hooks.echo_hook", event=event) == {
        "echo": event
    }


def test_a_python_hook_that_raises_fails_for_good_naming_the_exception(settings, organization):
    settings.HOOK_ALLOWED_CALLABLES = ["tests.tasks.test_hooks.exploding_hook"]
    job = hooked_job(organization)

    with pytest.raises(hooks.HookError) as failed:
        hooks.hook_call(job=job, target="tests.tasks.test_hooks.exploding_hook", event={})

    assert failed.value.message == "it raised ValueError: no taskObject for you."
    assert not failed.value.retryable


def test_a_python_hook_taken_off_the_allow_list_is_not_called(settings, organization):
    job = hooked_job(organization)
    settings.HOOK_ALLOWED_CALLABLES = []

    with pytest.raises(hooks.HookError) as refused:
        hooks.hook_call(job=job, target="tests.tasks.test_hooks.exploding_hook", event={})

    assert refused.value.message == (
        "tests.tasks.test_hooks.exploding_hook is no longer in this server's allowed list of "
        "Python hooks."
    )
