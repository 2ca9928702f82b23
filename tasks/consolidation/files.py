"""CSV files of answers and gold labels, as the `consolidate` command reads them.

Answers: a header line `item,worker,label`, then one answer a line; any strings as ids and labels.
Refused, with the line number: a missing or different header, a line without exactly three
fields, an empty field, and (single label) a worker answering one item twice with different
labels. The same answer repeated is counted once. Multi-label: a worker's rows on one item are
the labels it selected (one row per selected label), and it left out every label it gave no row
for; a worker who selected nothing on an item cannot be written in this format.

Gold: a header line `item,label`, then one known label a line (multi-label: one row per correct
label). Gold items without answers are ignored; a gold label no worker gave is refused.
"""

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ANSWER_HEADER = ["item", "worker", "label"]
GOLD_HEADER = ["item", "label"]


class ConsolidationFileError(ValueError):
    def __init__(self, line: int, reason: str):
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class AnswerRows:
    items: list[str]
    workers: list[str]
    labels: list[str]


def _rows(path: Path, header: list[str]) -> Iterable[tuple[int, list[str]]]:
    with path.open(newline="", encoding="utf-8") as file:
        reader = csv.reader(file)
        try:
            first = next(reader, None)
            if first is None:
                raise ConsolidationFileError(1, f"missing header {','.join(header)}")
            if [field.strip().lower() for field in first] != header:
                raise ConsolidationFileError(
                    reader.line_num, f"the header must be {','.join(header)}"
                )
            for row in reader:
                if not row:
                    continue
                if len(row) != len(header):
                    raise ConsolidationFileError(
                        reader.line_num, f"expected {len(header)} fields, found {len(row)}"
                    )
                for name, value in zip(header, row, strict=True):
                    if not value.strip():
                        raise ConsolidationFileError(reader.line_num, f"empty {name}")
                yield reader.line_num, row
        except csv.Error as error:
            raise ConsolidationFileError(reader.line_num, f"not valid CSV ({error})") from error
        except UnicodeDecodeError as error:
            raise ConsolidationFileError(reader.line_num + 1, "not UTF-8 text") from error


def answers_read(*, path: Path, multilabel: bool = False) -> AnswerRows:
    """The answers of a CSV file, checked (ConsolidationFileError names the first bad line)."""
    items: list[str] = []
    workers: list[str] = []
    labels: list[str] = []
    seen: dict[tuple[str, str], tuple[str, int]] = {}
    repeated: set[tuple[str, str, str]] = set()
    for line, (item, worker, label) in _rows(path, ANSWER_HEADER):
        if multilabel:
            if (item, worker, label) in repeated:
                continue
            repeated.add((item, worker, label))
        else:
            earlier = seen.get((item, worker))
            if earlier is not None:
                if earlier[0] != label:
                    raise ConsolidationFileError(
                        line,
                        f"worker {worker!r} already answered item {item!r} with label "
                        f"{earlier[0]!r} on line {earlier[1]}",
                    )
                continue
            seen[(item, worker)] = (label, line)
        items.append(item)
        workers.append(worker)
        labels.append(label)
    if not items:
        raise ConsolidationFileError(2, "no answers after the header")
    return AnswerRows(items=items, workers=workers, labels=labels)


def gold_read(
    *, path: Path, known_labels: set[str], multilabel: bool = False
) -> dict[str, str] | dict[str, set[str]]:
    """Known labels by item: `{item: label}`, or `{item: {labels}}` for multi-label."""
    single: dict[str, tuple[str, int]] = {}
    several: dict[str, set[str]] = {}
    for line, (item, label) in _rows(path, GOLD_HEADER):
        if label not in known_labels:
            raise ConsolidationFileError(
                line, f"gold label {label!r} is not a label any worker gave"
            )
        if multilabel:
            several.setdefault(item, set()).add(label)
            continue
        earlier = single.get(item)
        if earlier is not None and earlier[0] != label:
            raise ConsolidationFileError(
                line, f"item {item!r} already has gold label {earlier[0]!r} on line {earlier[1]}"
            )
        single[item] = (label, line)
    if multilabel:
        return several
    return {item: label for item, (label, _) in single.items()}


def labels_write(*, path: Path, rows: Iterable[tuple[str, str, float]]) -> None:
    """Write `item,label,confidence` whole: to a file beside `path`, then renamed over it."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(["item", "label", "confidence"])
            writer.writerows((item, label, f"{confidence:.2f}") for item, label, confidence in rows)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
