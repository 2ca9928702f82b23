"""Majority vote over many items at once."""

import numpy as np

from tasks.consolidation.arrays import (
    AnswerArrays,
    Consolidation,
    MultilabelConsolidation,
    SelectionArrays,
    gold_indices,
)


def vote_counts(*, answers: AnswerArrays) -> np.ndarray:
    """votes[item, label]: how many workers gave each label to each item."""
    flat = answers.item * answers.label_count + answers.label
    return (
        np.bincount(flat, minlength=answers.item_count * answers.label_count)
        .reshape(answers.item_count, answers.label_count)
        .astype(np.float64)
    )


def rounded_confidence(*, share: np.ndarray, answers_per_item: np.ndarray) -> np.ndarray:
    """`share` rounded to 2 places, 0.00 where an item has a single answer (as Ground Truth)."""
    return np.where(answers_per_item > 1, np.round(share, 2), 0.0)


def majority_vote_batch(
    *, answers: AnswerArrays, gold: dict[str, str] | None = None
) -> Consolidation:
    """The most chosen label per item; a tie goes to the label with the smallest index, that is
    the label listed first in the label order the answers were encoded with. Confidence is the
    winner's vote share, rounded to 2 places, 0.00 with one answer. Gold items get their known
    label with confidence 1.00."""
    votes = vote_counts(answers=answers)
    per_item = votes.sum(axis=1)
    posterior = votes / per_item[:, None]
    winner = np.argmax(votes, axis=1)
    confidence = rounded_confidence(
        share=posterior[np.arange(answers.item_count), winner], answers_per_item=per_item
    )
    if gold:
        rows, gold_labels = gold_indices(answers=answers, gold=gold)
        winner[rows] = gold_labels
        confidence[rows] = 1.0
        posterior[rows] = 0.0
        posterior[rows, gold_labels] = 1.0
    return Consolidation(
        method="majority",
        label=winner,
        confidence=confidence,
        posterior=posterior,
        item_names=answers.item_names,
        label_names=answers.label_names,
        worker_names=answers.worker_names,
    )


def multilabel_majority_vote_batch(*, answers: SelectionArrays) -> MultilabelConsolidation:
    """Each label decided on its own, as `multilabel_majority_vote`: selected when at least half
    of the item's workers chose it (a tie selects it); confidence is the share of workers who
    agree with the decision, 0.00 with one worker."""
    workers = np.bincount(answers.item, minlength=answers.item_count).astype(np.float64)
    starts = np.concatenate(([0], np.cumsum(workers, dtype=np.int64)[:-1]))
    chosen = np.add.reduceat(answers.selected.astype(np.float64), starts, axis=0)
    selected = 2 * chosen >= workers[:, None]
    selected &= chosen > 0
    share = np.where(selected, chosen, workers[:, None] - chosen) / workers[:, None]
    confidence = np.where(workers[:, None] > 1, np.round(share, 2), 0.0)
    return MultilabelConsolidation(
        method="majority",
        selected=selected,
        confidence=confidence,
        item_names=answers.item_names,
        label_names=answers.label_names,
        per_label=(),
    )
