"""Benchmark: export the output manifest of a job of 1,000,000 labeled objects to S3.

    make bench BENCH=manifest_export
    DATABASE_URL=postgres://... DJANGO_SECRET_KEY=... .venv/bin/python \
        tests/benchmarks/manifest_export.py --objects 20000

A fresh test database is created (and dropped afterwards), the objects are inserted with COPY,
and `output_manifest_write` streams the manifest to an S3 endpoint: moto's ThreadedMotoServer,
run in a child process. (moto keeps objects in memory and joins the parts of a multipart upload
in memory: that is the fake S3's memory, so it is kept out of the measured process.)

Prints one JSON line: objects, seconds of the export, objects_per_s, and peak_rss_mb, the
largest resident set of this process from start to end (setup included).
"""

import argparse
import json
import multiprocessing
import os
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "groundwork-bench"
COPY_ROWS = 20_000
LABELS = ["cat", "dog", "fish", "bird"]
CONFIDENCES = ["0.0", "0.33", "0.67", "1.0"]


def serve_s3(ready, stop) -> None:
    """The child process: an S3 endpoint until told to stop."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    ready.put(server.get_host_and_port())
    stop.wait()
    server.stop()


def copy_rows(job_id: int, count: int):
    """Blocks of COPY text rows: labeled objects with a realistic input line each."""
    start = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    rows = []
    for position in range(count):
        line = (
            f'{{"source-ref": "s3://{BUCKET}/images/{position:09d}.jpg", '
            f'"batch": "b{position % 97}", "camera": {position % 7}}}'
        )
        labeled_at = (start + timedelta(microseconds=position * 1_000_003)).isoformat()
        rows.append(
            f"{job_id}\t{position}\t{line}\t\t\tlabeled\t{position % len(LABELS)}\t"
            f"{CONFIDENCES[position % 4]}\t\\N\tt\t{labeled_at}\n"
        )
        if len(rows) == COPY_ROWS:
            yield "".join(rows)
            rows = []
    if rows:
        yield "".join(rows)


def objects_insert(job_id: int, count: int) -> None:
    from django.db import connection

    columns = (
        "job_id, position, input_line, source_ref, source, status, label, confidence, "
        "label_confidences, human_annotated, labeled_at"
    )
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY tasks_dataobject ({columns}) FROM STDIN") as copy:
            for block in copy_rows(job_id, count):
                copy.write(block)
        cursor.execute("ANALYZE tasks_dataobject")


def job_create(count: int):
    from marketplace.models import Job
    from workforce.services import accounts

    owner = accounts.user_create(email="bench@example.com", password=None, email_verified=True)
    organization = accounts.organization_create(name="Benchmark", owner=owner)
    return Job.objects.create(
        organization=organization,
        created_by=owner,
        name="bench",
        label_attribute_name="animal",
        task_type=Job.TaskType.IMAGE_CLASSIFICATION,
        input_manifest_uri=f"s3://{BUCKET}/input/bench.manifest",
        output_path=f"s3://{BUCKET}/output/",
        labels=LABELS,
        title="Benchmark",
        description="Manifest export benchmark",
        reward_per_task_mills=50,
        workers_per_object=3,
        status=Job.Status.IN_PROGRESS,
        object_count=count,
        human_labeled_count=count,
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1_000_000)
    args = parser.parse_args()

    context = multiprocessing.get_context("spawn")
    ready, stop = context.Queue(), context.Event()
    s3_server = context.Process(target=serve_s3, args=(ready, stop), daemon=True)
    s3_server.start()
    host, port = ready.get(timeout=60)
    os.environ.update(
        OBJECT_STORAGE="s3",
        S3_ENDPOINT_URL=f"http://{host}:{port}",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S105 (moto's)
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    from django.test.utils import setup_databases, teardown_databases

    from tasks import storage
    from tasks.manifests import output

    databases = setup_databases(verbosity=0, interactive=False)
    try:
        storage.ensure_bucket(BUCKET)
        job = job_create(args.objects)
        objects_insert(job.pk, args.objects)

        started = time.perf_counter()
        uri = output.output_manifest_write(job=job)
        seconds = time.perf_counter() - started

        head = storage.client().head_object(Bucket=BUCKET, Key=uri.split("/", 3)[3])
        assert head["ContentLength"] > 0
        print(
            json.dumps(
                {
                    "benchmark": "manifest_export",
                    "objects": args.objects,
                    "objects_per_s": round(args.objects / seconds),
                    "peak_rss_mb": round(peak_rss_mb(), 1),
                    "seconds": round(seconds, 2),
                }
            ),
            flush=True,
        )
    finally:
        from django.db import connections

        connections.close_all()
        teardown_databases(databases, verbosity=0)
        stop.set()
        s3_server.join(timeout=30)


if __name__ == "__main__":
    main()
