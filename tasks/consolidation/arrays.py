"""Answers as integer arrays, built once from strings, and the results of consolidating them.

Every algorithm works on `AnswerArrays` (one answer per (item, worker) pair, sorted by item) or
`SelectionArrays` (multi-label), so that no algorithm loops in Python over answers.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np


def _codes(values: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values in order of first appearance, and each value's index among them."""
    uniques, first, inverse = np.unique(
        np.asarray(values, dtype=str), return_index=True, return_inverse=True
    )
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return uniques[order], rank[inverse.reshape(-1)]


def _label_codes(
    values: Sequence[str], label_order: Sequence[str] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Labels ordered as `label_order` lists them (all of them, answered or not), then the
    other labels answered, sorted as strings; and each value's index among them."""
    uniques, inverse = np.unique(np.asarray(values, dtype=str), return_inverse=True)
    listed = list(dict.fromkeys(label_order or ()))
    known = set(listed)
    names = listed + [str(label) for label in uniques if str(label) not in known]
    position = {name: index for index, name in enumerate(names)}
    mapping = np.array([position[str(label)] for label in uniques], dtype=np.int64)
    return np.array(names, dtype=str), mapping[inverse.reshape(-1)]


@dataclass(frozen=True)
class AnswerArrays:
    """Single-label answers: `item`, `worker`, `label` are parallel integer arrays indexing
    `item_names` (order of first appearance), `worker_names` (order of first appearance) and
    `label_names` (the given label order, then other labels sorted), sorted by item."""

    item: np.ndarray
    worker: np.ndarray
    label: np.ndarray
    item_names: np.ndarray
    worker_names: np.ndarray
    label_names: np.ndarray

    @property
    def item_count(self) -> int:
        return len(self.item_names)

    @property
    def worker_count(self) -> int:
        return len(self.worker_names)

    @property
    def label_count(self) -> int:
        return len(self.label_names)

    @property
    def answers_per_item(self) -> np.ndarray:
        return np.bincount(self.item, minlength=self.item_count)

    @property
    def answers_per_worker(self) -> np.ndarray:
        return np.bincount(self.worker, minlength=self.worker_count)

    @property
    def item_starts(self) -> np.ndarray:
        """Where each item's answers start (every item has at least one answer)."""
        return np.concatenate(([0], np.cumsum(self.answers_per_item)[:-1]))


def answer_arrays(
    *,
    items: Sequence[str],
    workers: Sequence[str],
    labels: Sequence[str],
    label_order: Sequence[str] | None = None,
) -> AnswerArrays:
    """Encode parallel lists of answers. A worker answering one item more than once counts once,
    with its last answer (callers that must refuse such repeats, like the CLI, check first)."""
    if not (len(items) == len(workers) == len(labels)):
        raise ValueError("items, workers and labels must have the same length")
    if not len(items):
        raise ValueError("there are no answers")
    item_names, item = _codes(items)
    worker_names, worker = _codes(workers)
    label_names, label = _label_codes(labels, label_order)
    keep = _last_answer_per_pair(item, worker, len(worker_names))
    return AnswerArrays(
        item=item[keep],
        worker=worker[keep],
        label=label[keep],
        item_names=item_names,
        worker_names=worker_names,
        label_names=label_names,
    )


def _last_answer_per_pair(item: np.ndarray, worker: np.ndarray, workers: int) -> np.ndarray:
    """Positions of the last answer of each (item, worker) pair, sorted by item then worker."""
    pair = item * workers + worker
    _, first_from_end = np.unique(pair[::-1], return_index=True)
    return len(pair) - 1 - first_from_end


def gold_indices(*, answers: AnswerArrays, gold: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """The rows (item indices) and label indices of the gold items that have answers; gold
    items without answers are ignored. A gold label no worker gave is refused (ValueError),
    unless it is in the label order the answers were encoded with."""
    item_index = {name: index for index, name in enumerate(answers.item_names.tolist())}
    label_index = {name: index for index, name in enumerate(answers.label_names.tolist())}
    rows, labels = [], []
    for item, label in gold.items():
        if item not in item_index:
            continue
        if label not in label_index:
            raise ValueError(f"the gold label {label!r} of item {item!r} is not a known label")
        rows.append(item_index[item])
        labels.append(label_index[label])
    return np.array(rows, dtype=np.int64), np.array(labels, dtype=np.int64)


@dataclass(frozen=True)
class SelectionArrays:
    """Multi-label answers: one row per (item, worker) pair that answered (`item`, `worker`,
    sorted by item), and `selected[row, label]` whether that worker chose that label."""

    item: np.ndarray
    worker: np.ndarray
    selected: np.ndarray
    item_names: np.ndarray
    worker_names: np.ndarray
    label_names: np.ndarray

    @property
    def item_count(self) -> int:
        return len(self.item_names)

    @property
    def label_count(self) -> int:
        return len(self.label_names)

    def for_label(self, index: int) -> AnswerArrays:
        """The selected / not selected decisions on one label as binary answers
        (label 0 = not selected, 1 = selected)."""
        return AnswerArrays(
            item=self.item,
            worker=self.worker,
            label=self.selected[:, index].astype(np.int64),
            item_names=self.item_names,
            worker_names=self.worker_names,
            label_names=np.array(["not selected", "selected"]),
        )


def selection_arrays(
    *,
    items: Sequence[str],
    workers: Sequence[str],
    labels: Sequence[str],
    label_order: Sequence[str] | None = None,
) -> SelectionArrays:
    """Encode multi-label answers given as one row per selected label: a worker's rows on one
    item are the labels it selected, and it is taken to have left every other label out."""
    if not (len(items) == len(workers) == len(labels)):
        raise ValueError("items, workers and labels must have the same length")
    if not len(items):
        raise ValueError("there are no answers")
    item_names, item = _codes(items)
    worker_names, worker = _codes(workers)
    label_names, label = _label_codes(labels, label_order)
    pairs, row = np.unique(item * len(worker_names) + worker, return_inverse=True)
    selected = np.zeros((len(pairs), len(label_names)), dtype=bool)
    selected[row.reshape(-1), label] = True
    return SelectionArrays(
        item=pairs // len(worker_names),
        worker=pairs % len(worker_names),
        selected=selected,
        item_names=item_names,
        worker_names=worker_names,
        label_names=label_names,
    )


@dataclass(frozen=True)
class Consolidation:
    """One label per item (`label[i]` indexes `label_names`), its confidence (rounded to 2
    places), the posterior over labels per item, and for Dawid-Skene the per-worker estimates:
    `worker_confusion[w, true, answered]` and `worker_accuracy[w]` (the expected share of the
    worker's answers that are right)."""

    method: str
    label: np.ndarray
    confidence: np.ndarray
    posterior: np.ndarray
    item_names: np.ndarray
    label_names: np.ndarray
    worker_names: np.ndarray
    iterations: int = 0
    class_prior: np.ndarray | None = None
    worker_confusion: np.ndarray | None = None
    worker_accuracy: np.ndarray | None = None
    log_likelihood: float | None = None

    def rows(self) -> Iterator[tuple[str, str, float]]:
        """(item, label, confidence) per item, in order of the items' first appearance."""
        names = self.label_names[self.label]
        yield from zip(
            self.item_names.tolist(), names.tolist(), self.confidence.tolist(), strict=True
        )


@dataclass(frozen=True)
class MultilabelConsolidation:
    """Per item and label: whether the label is selected and the confidence of that decision
    (rounded to 2 places); `per_label` holds each label's binary consolidation."""

    method: str
    selected: np.ndarray
    confidence: np.ndarray
    item_names: np.ndarray
    label_names: np.ndarray
    per_label: tuple[Consolidation, ...]

    def rows(self) -> Iterator[tuple[str, str, float]]:
        """(item, label, confidence) per selected label, in label order, items in order of first
        appearance; an item with no label selected has one row with an empty label and the
        lowest confidence among its decisions."""
        for index, item in enumerate(self.item_names.tolist()):
            chosen = np.flatnonzero(self.selected[index])
            if len(chosen) == 0:
                yield item, "", float(self.confidence[index].min())
            for label in chosen.tolist():
                yield item, str(self.label_names[label]), float(self.confidence[index, label])
