"""Benchmark: accuracy of each consolidation method on real crowdsourced answers with truth.

    make bench BENCH=consolidation_accuracy
    .venv/bin/python tests/benchmarks/consolidation_accuracy.py [--datasets DIR]

Reads every folder of DIR holding `answers.csv` (item,worker,label) and `truth.csv` (item,label):
by default `../shared/datasets/crowd` beside the repository, or the CROWD_DATASETS environment
variable. Answers are encoded as the library does (a worker's repeated answers on one item count
once, with its last answer). Prints one JSON line per dataset and method:
{"benchmark": "consolidation_accuracy", "dataset", "items", "answers", "workers", "method",
 "accuracy", "seconds"}; accuracy is over the items with truth, labels compared as strings.
Numeric datasets (scores, as their README says) are consolidated as categories and carry a
"note" saying so. No database is needed.
"""

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
METHODS = ("majority", "dawid_skene", "auto")


def read_pairs(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.reader(file))[1:]


def run_dataset(folder: Path) -> list[dict]:
    from tasks import consolidation

    rows = read_pairs(folder / "answers.csv")
    truth = dict(read_pairs(folder / "truth.csv"))
    readme = folder / "README.md"
    numeric = readme.exists() and "task type: **numeric**" in readme.read_text().lower()
    arrays = consolidation.answer_arrays(
        items=[row[0] for row in rows],
        workers=[row[1] for row in rows],
        labels=[row[2] for row in rows],
    )
    position = {item: index for index, item in enumerate(arrays.item_names.tolist())}
    scored = [(position[item], label) for item, label in truth.items() if item in position]
    results = []
    for method in METHODS:
        started = time.perf_counter()
        result = consolidation.consolidate(answers=arrays, method=method)
        seconds = time.perf_counter() - started
        names = result.label_names[result.label]
        right = sum(names[index] == label for index, label in scored)
        line = {
            "benchmark": "consolidation_accuracy",
            "dataset": folder.name,
            "items": arrays.item_count,
            "answers": len(arrays.item),
            "workers": arrays.worker_count,
            "method": method,
            "accuracy": round(right / len(scored), 4),
            "seconds": round(seconds, 3),
        }
        if method == "auto":
            line["chosen"] = result.method
        if numeric:
            line["note"] = "numeric scores, consolidated as categories (exact match)"
        results.append(line)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets",
        type=Path,
        default=Path(os.environ.get("CROWD_DATASETS", ROOT.parent / "shared/datasets/crowd")),
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    folders = sorted(path.parent for path in args.datasets.glob("*/answers.csv"))
    if not folders:
        raise SystemExit(f"no datasets (folders with answers.csv) under {args.datasets}")
    for folder in folders:
        for line in run_dataset(folder):
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
