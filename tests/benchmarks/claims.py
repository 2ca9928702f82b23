"""Benchmark: K workers claim and submit over HTTP until a job of 20,000 objects is done.

    make bench BENCH=claims
    tests/with-postgres.sh .venv/bin/python tests/benchmarks/claims.py --objects 2000 --workers 32
    ... claims.py --workers 32 --repeat 3        (three fresh jobs at K=32, plus their median)
    ... claims.py --breakdown                    (also: queries and time per request, in-process)

The real stack: gunicorn serving marketplace.wsgi on a free port of 127.0.0.1, PostgreSQL (the
server DATABASE_URL names; the benchmark creates, migrates and at the end drops its own database,
bench_claims), and a Celery worker process on the default, manifests and payouts queues with its
broker on REDIS_URL's server (database 14, --broker-db), which runs the job's consolidation runs
(every object answered, a second after the first) and exports the output manifest when the job
is done, as in production. Object
storage is local files under a temporary directory (OBJECT_STORAGE=local), shared by the server,
the Celery worker and the set-up here; the job is text_classification with inline `source` text.

For each K a fresh public job (workers_per_object=3, max_concurrent_task_count=5000, a funded
requester) is created through the job spec serializer and the services; K workers, each with
their own account and API key, loop claim (POST /api/v1/worker/jobs/{id}/assignments) and
submit (POST /api/v1/worker/assignments/{id}/submit) on one persistent HTTP connection each,
until a claim answers 204. The benchmark then waits for the Celery worker to finish the job and
counts in PostgreSQL. One JSON line per run:
{"benchmark": "claims", "objects": N, "workers_per_object": 3, "workers": K, "cycles_per_s",
 "claim_p50_ms", "claim_p95_ms", "claim_p99_ms", "submit_p50_ms", "submit_p95_ms",
 "submit_p99_ms", "duplicates", "over_assigned", "answers", "seconds", ...}
cycles_per_s is submits answered 200 per second of the claim/submit phase (`seconds`);
duplicates counts objects with more answers than workers_per_object or answered twice by one
worker, over_assigned objects holding more slots (leases + answers) than workers_per_object, and
objects_not_fully_answered objects that did not end with exactly workers_per_object answers.
server_errors counts 5xx responses. All four must be 0: the benchmark exits non-zero otherwise.
answered_not_consolidated counts objects with all their answers still pending once the Celery
worker went 20 s without labeling any; it must be 0 and the job Completed, or the benchmark
exits non-zero too.
"""

import argparse
import cProfile
import http.client
import io
import json
import os
import pstats
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "bench_claims"
BUCKET = "groundwork-bench"
LABELS = ["positive", "negative", "neutral"]
WORKERS_PER_OBJECT = 3
# On 2 cores, 3 gthread workers of 8 threads served the most cycles/s at K=32 of the settings
# tried (2x4, 3x8, 4x4, 2x16, and 10 sync workers), though by little: a cycle costs about 17 ms
# of CPU in gunicorn and 5 in PostgreSQL, so once both cores are busy more processes or threads
# only lengthen the queue. More than one process per core lets one run Python while another
# waits on PostgreSQL; threads keep the K keep-alive connections open without a process each.
GUNICORN_WORKERS = 3
GUNICORN_THREADS = 8
# Django's default closes the database connection after every request; production keeps it
# (DATABASE_CONN_MAX_AGE), and opening a PostgreSQL connection costs more than a claim.
CONN_MAX_AGE = 60
# The broker gets a Redis database of its own, so that other Celery workers on the same Redis
# (tests, `make run`) neither take the benchmark's tasks nor hand it theirs.
BROKER_DB = 14


def server_url(database_url: str, name: str) -> str:
    parts = urlsplit(database_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def database_recreate(maintenance_url: str, *, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(maintenance_url, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        if not drop_only:
            connection.execute(f"CREATE DATABASE {DATABASE}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Stack:
    """gunicorn and the Celery worker, as child processes sharing this process's environment."""

    def __init__(
        self, *, workdir: Path, worker_class: str, gunicorn_workers: int, threads: int, celery: int
    ):
        self.workdir = workdir
        self.port = free_port()
        self.description = (
            f"gunicorn gthread, {gunicorn_workers} workers x {threads} threads"
            if worker_class == "gthread"
            else f"gunicorn {worker_class}, {gunicorn_workers} workers"
        )
        self.celery_concurrency = celery
        self.processes: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        self.gunicorn = [
            sys.executable, "-m", "gunicorn", "marketplace.wsgi",
            "--bind", f"127.0.0.1:{self.port}",
            "--worker-class", worker_class,
            "--workers", str(gunicorn_workers),
            "--threads", str(threads),
            "--keep-alive", "30",
            "--backlog", "2048",
            "--log-level", "warning",
        ]  # fmt: skip
        self.celery = [
            sys.executable, "-m", "celery", "-A", "marketplace", "worker",
            "-Q", "default,manifests,payouts",
            "--concurrency", str(celery),
            "--loglevel", "WARNING",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--hostname", f"bench-claims-{os.getpid()}@%h",
        ]  # fmt: skip

    def start(self) -> None:
        for name, command in (("gunicorn", self.gunicorn), ("celery", self.celery)):
            log = self.workdir / f"{name}.log"
            self.logs.append(log)
            with log.open("wb") as handle:
                self.processes.append(
                    subprocess.Popen(  # noqa: S603
                        command,
                        cwd=ROOT,
                        stdout=handle,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self.check()
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/healthz")
                if connection.getresponse().status < 500:
                    return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("gunicorn did not answer within 60 s:\n" + self.tail())

    def check(self) -> None:
        for process in self.processes:
            if process.poll() is not None:
                raise SystemExit(f"{process.args[2]} exited ({process.returncode}):\n{self.tail()}")

    def tail(self) -> str:
        return "\n".join(
            f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            for log in self.logs
            if log.exists()
        )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def requester_create():
    from workforce.services import accounts

    owner = accounts.user_create(email="requester@example.com", password=None, email_verified=True)
    return accounts.organization_create(name="Bench requester", owner=owner)


def workers_create(count: int, *, start: int = 0) -> list[str]:
    """`count` workers, each an account with a worker profile and an API key of its own."""
    from workforce.services import accounts

    keys = []
    for n in range(start, start + count):
        user = accounts.user_create(
            email=f"worker{n}@example.com", password=None, email_verified=True
        )
        accounts.worker_register(user=user, display_name=f"Worker {n}", accept_terms=True)
        _, key = accounts.api_key_create(user=user, name="bench", roles=["worker"])
        keys.append(key)
    return keys


def job_create(organization, *, objects: int, name: str):
    """A funded public text classification job, InProgress, as a requester's spec creates it."""
    from marketplace.api.serializers import JobSpecInput
    from marketplace.models import Job
    from marketplace.services import jobs
    from payments.services import ledger as payments
    from tasks import storage
    from tasks.manifests import ingest

    uri = f"s3://{BUCKET}/input/{name}.manifest"
    storage.write(
        uri,
        (
            json.dumps({"source": f"Review {n}: the parcel came on day {n % 7 + 1}."}).encode()
            + b"\n"
            for n in range(objects)
        ),
    )
    payments.funding_record(
        owner=organization.ledger_owner, amount_mills=objects * 1_000, reference=f"fund-{name}"
    )
    payload = JobSpecInput(
        data={
            "name": name,
            "label_attribute_name": "sentiment",
            "task_type": "text_classification",
            "input_manifest_uri": uri,
            "output_path": f"s3://{BUCKET}/output/",
            "label_categories": {
                "document-version": "2018-11-28",
                "labels": [{"label": label} for label in LABELS],
            },
            "title": "How does the review sound?",
            "description": "Pick the sentiment of a short product review.",
            "keywords": ["text", "sentiment"],
            "instructions": {"short": "<p>Positive, negative or neutral?</p>", "full": ""},
            "workforce": "public",
            "workers_per_object": WORKERS_PER_OBJECT,
            "max_concurrent_task_count": 5_000,
            "reward_per_task": "0.010",
        }
    )
    payload.is_valid(raise_exception=True)
    job = jobs.job_create(
        organization=organization,
        created_by=organization.memberships.get().user,
        spec=payload.validated_data,
    )
    # job_create also queued the ingest for the Celery worker; whichever runs second finds the
    # job started and changes nothing.
    ingest.manifest_ingest(job_id=job.pk)
    job = Job.objects.get(pk=job.pk)
    if job.status != Job.Status.IN_PROGRESS or job.object_count != objects:
        raise SystemExit(f"the job did not start: {job.status} {job.failure_reason}")
    return job


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of a sorted list, in ms."""
    if not ordered:
        return 0.0
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return round(ordered[rank] * 1000, 1)


class Connection:
    """One keep-alive HTTP/1.1 connection, requests written and responses read by hand: the
    client shares the two cores with the server, so it does as little as it can (http.client
    cost about 0.4 ms of CPU per request here)."""

    def __init__(self, port: int, headers: dict[str, str]):
        self.port = port
        self.headers = "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode()
        self.sock: socket.socket | None = None
        self.buffer = b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""

    def _receive(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionResetError("the server closed the connection")
        self.buffer += data

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=300)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(
            b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sContent-Length: %d\r\n\r\n%s"
            % (path.encode(), self.headers, len(body), body)
        )
        while b"\r\n\r\n" not in self.buffer:
            self._receive()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").lower().split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
        length = int(fields.get("content-length", "0"))
        while len(self.buffer) < length:
            self._receive()
        data, self.buffer = self.buffer[:length], self.buffer[length:]
        if fields.get("connection", "").strip() == "close":
            self.close()
        return status, data


class WorkerLoop(threading.Thread):
    """One worker: claim → submit on one keep-alive connection until a claim answers 204."""

    def __init__(self, *, port: int, key: str, job_id: int, label: str, start_line):
        super().__init__(daemon=True)
        self.job_id = job_id
        self.start_line = start_line
        self.answer = json.dumps({"crowd-classifier": {"label": label}}).encode()
        self.claims: list[float] = []
        self.submits: list[float] = []
        self.statuses: dict[str, int] = {}
        self.reconnects = 0
        self.error: BaseException | None = None
        self.connection = Connection(
            port, {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        )

    def post(self, path: str, body: bytes, kind: str) -> tuple[int, bytes, float]:
        for attempt in (1, 2):
            started = time.perf_counter()
            try:
                status, data = self.connection.post(path, body)
            except (ConnectionResetError, BrokenPipeError):
                # The server closed an idle keep-alive connection. Both calls are safe to
                # repeat: a claim hands back the worker's live lease, a submit its first result.
                self.connection.close()
                self.reconnects += 1
                if attempt == 2:
                    raise
                continue
            elapsed = time.perf_counter() - started
            key = f"{kind}_{status}"
            self.statuses[key] = self.statuses.get(key, 0) + 1
            return status, data, elapsed
        raise AssertionError("unreachable")

    def run(self) -> None:
        claim_path = f"/api/v1/worker/jobs/{self.job_id}/assignments"
        try:
            self.start_line.wait()
            while True:
                status, data, elapsed = self.post(claim_path, b"", "claim")
                self.claims.append(elapsed)
                if status == 204:
                    return
                if status not in (200, 201):
                    if status >= 500:
                        continue
                    raise RuntimeError(f"claim answered {status}: {data[:300]!r}")
                assignment = json.loads(data)["id"]
                status, data, elapsed = self.post(
                    f"/api/v1/worker/assignments/{assignment}/submit", self.answer, "submit"
                )
                self.submits.append(elapsed)
                if status != 200 and status < 500:
                    raise RuntimeError(f"submit answered {status}: {data[:300]!r}")
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            self.error = error
        finally:
            self.connection.close()


def counts(job_id: int) -> dict:
    """Measured in PostgreSQL on the assignment table, never assumed."""
    from django.db import connection

    answered = "('submitted', 'approved', 'rejected')"
    holding = "('reserved', 'submitted', 'approved', 'rejected')"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH per_object AS (
                SELECT o.id,
                       count(a.id) FILTER (WHERE a.status IN {answered}) AS answers,
                       count(a.id) FILTER (WHERE a.status IN {holding}) AS holding
                  FROM tasks_dataobject o
                  LEFT JOIN tasks_assignment a ON a.data_object_id = o.id
                 WHERE o.job_id = %(job)s
                 GROUP BY o.id
            ), twice AS (
                SELECT DISTINCT data_object_id AS id
                  FROM tasks_assignment
                 WHERE job_id = %(job)s AND status IN {answered}
                 GROUP BY data_object_id, worker_id
                HAVING count(*) > 1
            )
            SELECT (SELECT count(*) FROM per_object
                     WHERE answers > %(wpo)s OR id IN (SELECT id FROM twice)),
                   (SELECT count(*) FROM per_object WHERE holding > %(wpo)s),
                   (SELECT count(*) FROM per_object WHERE answers <> %(wpo)s),
                   (SELECT coalesce(sum(answers), 0) FROM per_object),
                   (SELECT count(*) FROM per_object JOIN tasks_dataobject o USING (id)
                     WHERE answers >= %(wpo)s AND o.status = 'pending')
            """,  # noqa: S608 - constants only
            {"job": job_id, "wpo": WORKERS_PER_OBJECT},
        )
        duplicates, over_assigned, not_full, answers, unconsolidated = cursor.fetchone()
    return {
        "duplicates": duplicates,
        "over_assigned": over_assigned,
        "objects_not_fully_answered": not_full,
        "answers": int(answers),
        "answered_not_consolidated": unconsolidated,
    }


def job_wait_done(job_id: int, *, stack: Stack, stall: float = 20) -> tuple[str, float]:
    """Wait for the Celery worker to consolidate every object and complete the job; give up
    once no object was labeled for `stall` seconds."""
    from marketplace.models import Job
    from tasks.models import DataObject

    started = last_progress = time.perf_counter()
    labeled = -1
    while True:
        stack.check()
        status = Job.objects.values_list("status", flat=True).get(pk=job_id)
        if status != Job.Status.IN_PROGRESS:
            return status, time.perf_counter() - started
        now_labeled = DataObject.objects.filter(
            job_id=job_id, status=DataObject.Status.LABELED
        ).count()
        if now_labeled != labeled:
            labeled, last_progress = now_labeled, time.perf_counter()
        elif time.perf_counter() - last_progress > stall:
            return status, time.perf_counter() - started
        time.sleep(0.5)


def run_once(*, stack: Stack, organization, keys: list[str], objects: int, name: str) -> dict:
    job = job_create(organization, objects=objects, name=name)
    start_line = threading.Barrier(len(keys) + 1)
    loops = [
        WorkerLoop(
            port=stack.port,
            key=key,
            job_id=job.pk,
            label=LABELS[n % len(LABELS)],
            start_line=start_line,
        )
        for n, key in enumerate(keys)
    ]
    for loop in loops:
        loop.start()
    cpu_before = time.process_time()
    start_line.wait()
    started = time.perf_counter()
    for loop in loops:
        loop.join()
    seconds = time.perf_counter() - started
    client_cpu = time.process_time() - cpu_before
    failed = [loop.error for loop in loops if loop.error is not None]
    if failed:
        raise SystemExit(f"{len(failed)} workers failed; the first: {failed[0]!r}")
    status, finish_seconds = job_wait_done(job.pk, stack=stack)

    claims = sorted(elapsed for loop in loops for elapsed in loop.claims)
    submits = sorted(elapsed for loop in loops for elapsed in loop.submits)
    statuses: dict[str, int] = {}
    for loop in loops:
        for key, count in loop.statuses.items():
            statuses[key] = statuses.get(key, 0) + count
    cycles = statuses.get("submit_200", 0)
    requests = len(claims) + len(submits)
    return {
        "benchmark": "claims",
        "objects": objects,
        "workers_per_object": WORKERS_PER_OBJECT,
        "workers": len(keys),
        "cycles_per_s": round(cycles / seconds, 1),
        "claim_p50_ms": percentile(claims, 0.50),
        "claim_p95_ms": percentile(claims, 0.95),
        "claim_p99_ms": percentile(claims, 0.99),
        "submit_p50_ms": percentile(submits, 0.50),
        "submit_p95_ms": percentile(submits, 0.95),
        "submit_p99_ms": percentile(submits, 0.99),
        **counts(job.pk),
        "seconds": round(seconds, 2),
        "server_errors": sum(count for key, count in statuses.items() if key[-3] == "5"),
        "responses": dict(sorted(statuses.items())),
        "reconnects": sum(loop.reconnects for loop in loops),
        "client_cpu_ms_per_request": round(client_cpu * 1000 / max(requests, 1), 3),
        "job_status": status,
        "finished_after_s": round(finish_seconds, 1),
        "task": "text_classification, inline source",
        "server": stack.description,
        "celery_worker_concurrency": stack.celery_concurrency,
    }


def breakdown(organization, *, objects: int, keys: list[str]) -> dict:
    """Claim and submit one after another in this process (Django's test client against the
    same database): SQL statements and time per request, and the time spent outside SQL. A
    second job is run under cProfile, whose heaviest functions of the project go to stderr."""
    from django.db import connection

    measured: dict[str, list[tuple[int, float, float]]] = {"claim": [], "submit": []}
    current = {"queries": 0, "sql": 0.0}

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            current["queries"] += 1
            current["sql"] += time.perf_counter() - started

    def record(kind: str, started: float | None) -> None:
        if started is None:
            current.update(queries=0, sql=0.0)
            return
        measured[kind].append((current["queries"], current["sql"], time.perf_counter() - started))

    with connection.execute_wrapper(timed):
        sequential_cycles(organization, objects=objects, keys=keys, name="breakdown", on=record)
    result: dict = {"benchmark": "claims_breakdown", "objects": objects, "workers": len(keys)}
    for kind, rows in measured.items():
        result[f"{kind}_queries"] = statistics.median(row[0] for row in rows)
        result[f"{kind}_ms"] = round(statistics.median(row[2] for row in rows) * 1000, 2)
        result[f"{kind}_sql_ms"] = round(statistics.median(row[1] for row in rows) * 1000, 2)
        result[f"{kind}_python_ms"] = round(
            statistics.median(row[2] - row[1] for row in rows) * 1000, 2
        )

    profiler = cProfile.Profile()
    with profiler:
        sequential_cycles(organization, objects=objects // 2, keys=keys, name="profile", on=None)
    report = io.StringIO()
    stats = pstats.Stats(profiler, stream=report).sort_stats("cumulative")
    stats.print_stats(r"(tasks|marketplace|workforce|payments)/(?!.*tests)", 40)
    print(report.getvalue(), file=sys.stderr)
    return result


def sequential_cycles(organization, *, objects: int, keys: list[str], name: str, on) -> None:
    """Each worker in turn claims and submits until every claim answers 204. `on(kind, None)`
    is called before each request, `on(kind, started)` after each that got an assignment."""
    from django.test import Client

    job = job_create(organization, objects=objects, name=name)
    clients = [Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {key}") for key in keys]
    done: set[int] = set()
    while len(done) < len(clients):
        for n, client in enumerate(clients):
            if n in done:
                continue
            response = call(client, f"/api/v1/worker/jobs/{job.pk}/assignments", None, on, "claim")
            if response.status_code == 204:
                done.add(n)
                continue
            call(
                client,
                f"/api/v1/worker/assignments/{response.json()['id']}/submit",
                {"crowd-classifier": {"label": LABELS[n % len(LABELS)]}},
                on,
                "submit",
            )


def call(client, path: str, body: dict | None, on, kind: str):
    if on is not None:
        on(kind, None)
    started = time.perf_counter()
    response = client.post(path, body, content_type="application/json")
    if response.status_code not in (200, 201, 204):
        raise SystemExit(f"{kind} answered {response.status_code}: {response.content[:300]!r}")
    if on is not None and response.status_code != 204:
        on(kind, started)
    return response


def stop_on_sigterm(signum, frame) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def main() -> None:
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=20_000)
    parser.add_argument("--workers", default="8,32,128", help="values of K, comma-separated")
    parser.add_argument("--repeat", type=int, default=1, help="fresh jobs per K")
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    parser.add_argument("--gunicorn-workers", type=int, default=GUNICORN_WORKERS)
    parser.add_argument("--threads", type=int, default=GUNICORN_THREADS)
    parser.add_argument(
        "--broker-db",
        type=int,
        default=BROKER_DB,
        help="the Redis database of the Celery broker on REDIS_URL's server",
    )
    parser.add_argument("--conn-max-age", type=int, default=CONN_MAX_AGE)
    parser.add_argument("--celery-concurrency", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also time single requests in-process: SQL statements, SQL time, Python time",
    )
    args = parser.parse_args()
    worker_counts = [int(value) for value in args.workers.split(",") if value]

    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    maintenance_url = server_url(database_url, "postgres")
    workdir = Path(tempfile.mkdtemp(prefix="groundwork-bench-claims-"))
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    os.environ.update(
        DATABASE_URL=server_url(database_url, DATABASE),
        CELERY_BROKER_URL=server_url(redis_url, str(args.broker_db)),
        DATABASE_CONN_MAX_AGE=str(args.conn_max_age),
        REDIS_URL=redis_url,
        OBJECT_STORAGE="local",
        LOCAL_OBJECT_STORAGE_ROOT=str(workdir / "objects"),
        DJANGO_SETTINGS_MODULE="marketplace.settings",
    )
    os.environ.pop("S3_ENDPOINT_URL", None)
    os.environ.setdefault("DJANGO_SECRET_KEY", "groundwork-benchmark-only-secret-key-0123456789")
    sys.path.insert(0, str(ROOT))

    stack = Stack(
        workdir=workdir,
        worker_class=args.worker_class,
        gunicorn_workers=args.gunicorn_workers,
        threads=args.threads,
        celery=args.celery_concurrency,
    )
    database_recreate(maintenance_url)
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        organization = requester_create()
        keys = workers_create(max([*worker_counts, 4]))
        stack.start()
        failures = []
        for workers in worker_counts:
            runs = []
            for attempt in range(args.repeat):
                result = run_once(
                    stack=stack,
                    organization=organization,
                    keys=keys[:workers],
                    objects=args.objects,
                    name=f"claims-{workers}-{attempt}",
                )
                print(json.dumps(result), flush=True)
                runs.append(result)
                bad = {
                    field: result[field]
                    for field in (
                        "duplicates",
                        "over_assigned",
                        "objects_not_fully_answered",
                        "answered_not_consolidated",
                        "server_errors",
                    )
                    if result[field]
                }
                if result["job_status"] != "Completed":
                    bad["job_status"] = result["job_status"]
                if bad:
                    failures.append((workers, bad))
            if args.repeat > 1:
                middle = sorted(runs, key=lambda run: run["cycles_per_s"])[len(runs) // 2]
                print(
                    json.dumps({**middle, "benchmark": "claims_median", "runs": len(runs)}),
                    flush=True,
                )
        if args.breakdown:
            print(json.dumps(breakdown(organization, objects=200, keys=keys[:4])), flush=True)
        if failures:
            print(f"claims: invariants broken: {failures}\n{stack.tail()}", file=sys.stderr)
            raise SystemExit(1)
    finally:
        stack.stop()
        from django.db import connections

        connections.close_all()
        database_recreate(maintenance_url, drop_only=True)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
