"""Benchmark: read a 1,000,000-line input manifest from S3 into data objects.

    make bench BENCH=manifest_ingest
    tests/with-postgres.sh .venv/bin/python tests/benchmarks/manifest_ingest.py --objects 10000

Creates a fresh database (as Django's test runner does) and removes it afterwards, serves S3
with moto in a child process that also writes the manifest (so that neither counts in the
memory measured), creates a funded organisation and an image classification job, and times
`manifest_ingest`. Prints one JSON line:
{"benchmark": "manifest_ingest", "objects": N, "objects_per_s": ..., "peak_rss_mb": ...,
 "seconds": ..., "database": "postgresql", "writer": "copy"}.
peak_rss_mb is the benchmark process's peak resident memory during the ingest (Linux: VmHWM,
reset just before), Django and the database schema set-up included.
"""

import argparse
import gc
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "groundwork-bench"
MANIFEST_URI = f"s3://{BUCKET}/input/bench.manifest"


def serve_s3(address_queue, stop, objects: int) -> None:
    """The child process: a moto S3 server holding the manifest, until told to stop. The
    manifest is written from here too, so that uploading it costs the benchmark no memory."""
    import tempfile

    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://{host}:{port}",
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106
    )
    s3.create_bucket(Bucket=BUCKET)
    with tempfile.TemporaryFile() as manifest:
        for chunk in manifest_chunks(objects):
            manifest.write(chunk)
        manifest.seek(0)
        s3.upload_fileobj(manifest, BUCKET, MANIFEST_URI.removeprefix(f"s3://{BUCKET}/"))
    address_queue.put((host, port))
    stop.wait()
    server.stop()


def manifest_chunks(objects: int):
    """Ground Truth style lines with a pass-through key, about 1 MB a chunk."""
    lines = []
    for n in range(objects):
        lines.append(
            f'{{"source-ref": "s3://{BUCKET}/images/{n:07d}.jpg", "capture-id": "cam-{n % 97}"}}\n'
        )
        if len(lines) == 10_000:
            yield "".join(lines).encode()
            lines = []
    if lines:
        yield "".join(lines).encode()


def reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux ≥ 4.0: resets VmHWM
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def funded_job(objects: int):
    from marketplace.models import Job
    from payments.services import ledger as payments
    from workforce.services import accounts

    owner = accounts.user_create(
        email="bench@example.com", password="correct-horse-battery-staple", email_verified=True
    )
    organization = accounts.organization_create(name="Bench", owner=owner)
    payments.funding_record(
        owner=organization.ledger_owner, amount_mills=objects * 1_000, reference="bench"
    )
    return Job.objects.create(
        organization=organization,
        created_by=owner,
        name="bench",
        label_attribute_name="animal",
        task_type=Job.TaskType.IMAGE_CLASSIFICATION,
        input_manifest_uri=MANIFEST_URI,
        output_path=f"s3://{BUCKET}/output/",
        labels=["cat", "dog"],
        title="Cat or dog?",
        description="Pick the animal in the photo.",
        keywords=["images"],
        workers_per_object=1,
        reward_per_task_mills=50,
    )


def run(objects: int, s3_endpoint: str, writer: str) -> dict:
    os.environ.update(
        {
            "OBJECT_STORAGE": "s3",
            "S3_ENDPOINT_URL": s3_endpoint,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "S3_BUCKET": BUCKET,
        }
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "groundwork-benchmark-only-secret-key-0123456789")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    from marketplace.models import Job
    from tasks.manifests import ingest

    if writer == "bulk_create":  # the fallback used where COPY is not available
        ingest._copy_available = lambda: False
    test_settings = settings.DATABASES["default"].setdefault("TEST", {})
    test_settings["NAME"] = f"bench_manifest_ingest_{os.getpid()}"
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        job = funded_job(objects)
        gc.collect()
        reset_peak_rss()
        started = time.perf_counter()
        job = ingest.manifest_ingest(job_id=job.pk)
        seconds = time.perf_counter() - started
        peak = peak_rss_mb()
        job.refresh_from_db()
        if job.status != Job.Status.IN_PROGRESS or job.object_count != objects:
            raise SystemExit(f"ingest failed: {job.status} {job.failure_reason}")
        return {
            "benchmark": "manifest_ingest",
            "objects": objects,
            "objects_per_s": round(objects / seconds),
            "peak_rss_mb": peak,
            "seconds": round(seconds, 2),
            "database": connection.vendor,
            "writer": writer if connection.vendor == "postgresql" else "bulk_create",
        }
    finally:
        connection.close()
        teardown_databases(old_config, verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument(
        "--writer",
        choices=["copy", "bulk_create"],
        default="copy",
        help="on PostgreSQL: COPY (what ingestion uses) or bulk_create batches (to compare)",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))

    context = multiprocessing.get_context("spawn")
    addresses, stop = context.Queue(), context.Event()
    server = context.Process(target=serve_s3, args=(addresses, stop, args.objects), daemon=True)
    server.start()
    try:
        host, port = addresses.get(timeout=600)
        result = run(args.objects, f"http://{host}:{port}", args.writer)
    finally:
        stop.set()
        server.join(timeout=10)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
