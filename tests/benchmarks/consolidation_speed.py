"""Benchmark: Dawid-Skene on 1,000,000 answers (100,000 items × 10, 1,000 workers, 5 classes).

    make bench BENCH=consolidation_speed
    .venv/bin/python tests/benchmarks/consolidation_speed.py [--items 100000]

Synthetic answers with a fixed seed: each item's true class is uniform, each worker has an
accuracy drawn from 0.5..0.95 and otherwise answers a uniform wrong class. Times the encoding
of the answers as strings (`answer_arrays`) and Dawid-Skene itself, separately. Prints one JSON
line: {"benchmark": "consolidation_speed", "answers", "items", "workers", "classes",
"iterations", "seconds", "encode_seconds", "accuracy", "peak_rss_mb"}; peak_rss_mb is the
process's peak resident memory (resource.getrusage), the string encoding included.
No database is needed.
"""

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def synthetic(items: int, per_item: int, workers: int, classes: int, seed: int = 6):
    generator = np.random.default_rng(seed)
    truth = generator.integers(classes, size=items)
    accuracy = generator.uniform(0.5, 0.95, size=workers)
    item = np.repeat(np.arange(items), per_item)
    # distinct workers per item: a random offset and stride through the worker ids
    offset = generator.integers(workers, size=items)
    worker = (offset[:, None] + np.arange(per_item)[None, :] * 7) % workers
    worker = worker.reshape(-1)
    right = generator.random(len(item)) < accuracy[worker]
    wrong = (truth[item] + generator.integers(1, classes, size=len(item))) % classes
    label = np.where(right, truth[item], wrong)
    return item, worker, label, truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--per-item", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1_000)
    parser.add_argument("--classes", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tasks import consolidation

    item, worker, label, truth = synthetic(args.items, args.per_item, args.workers, args.classes)
    started = time.perf_counter()
    arrays = consolidation.answer_arrays(
        items=item.astype(str), workers=worker.astype(str), labels=label.astype(str)
    )
    encode_seconds = time.perf_counter() - started
    started = time.perf_counter()
    result = consolidation.dawid_skene(answers=arrays)
    seconds = time.perf_counter() - started
    predicted = result.label_names[result.label].astype(np.int64)
    expected = truth[arrays.item_names.astype(np.int64)]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "benchmark": "consolidation_speed",
                "answers": len(arrays.item),
                "items": arrays.item_count,
                "workers": arrays.worker_count,
                "classes": arrays.label_count,
                "iterations": result.iterations,
                "seconds": round(seconds, 2),
                "encode_seconds": round(encode_seconds, 2),
                "accuracy": round(float(np.mean(predicted == expected)), 4),
                "peak_rss_mb": round(peak, 1),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
