"""Dawid-Skene expectation maximisation: per-worker confusion matrices, vectorised in numpy.

Model: item i has a true label k with probability `class_prior[k]`; worker w answers l with
probability `confusion[w, k, l]`. The E step computes each item's posterior over true labels in
log space; the M step re-estimates the confusion matrices and the class priors from the
posteriors. Each confusion row has a Dirichlet prior that puts `accuracy_prior` of its
`prior_strength` pseudo-answers on the diagonal and spreads the rest evenly off it, so a worker
seen on few items stays close to "right 70% of the time" instead of being fitted to noise.
Iterations stop when the log-likelihood changes by less than `tolerance` relative to its value,
or after `max_iterations`.

Gold items (known labels) keep a posterior of 1 on their label in every iteration: they anchor
the worker estimates and start EM from the truth where it is known.
"""

import numpy as np

from tasks.consolidation.arrays import (
    AnswerArrays,
    Consolidation,
    MultilabelConsolidation,
    SelectionArrays,
    gold_indices,
)
from tasks.consolidation.majority import rounded_confidence, vote_counts

ACCURACY_PRIOR = 0.7
PRIOR_STRENGTH = 2.0
TOLERANCE = 1e-6
MAX_ITERATIONS = 100


def dawid_skene(
    *,
    answers: AnswerArrays,
    gold: dict[str, str] | None = None,
    accuracy_prior: float = ACCURACY_PRIOR,
    prior_strength: float = PRIOR_STRENGTH,
    tolerance: float = TOLERANCE,
    max_iterations: int = MAX_ITERATIONS,
) -> Consolidation:
    """Consolidate single-label answers by Dawid-Skene EM, started from the majority vote
    shares (and the gold labels, when given). Confidence is the winning posterior rounded to 2
    places, 0.00 for an item with a single answer, 1.00 for a gold item."""
    votes = vote_counts(answers=answers)
    per_item = votes.sum(axis=1)
    posterior = votes / per_item[:, None]
    rows, gold_labels = (
        gold_indices(answers=answers, gold=gold) if gold else (np.empty(0, np.int64),) * 2
    )
    fit = _expectation_maximisation(
        answers=answers,
        posterior=posterior,
        gold_rows=rows,
        gold_labels=gold_labels,
        accuracy_prior=accuracy_prior,
        prior_strength=prior_strength,
        tolerance=tolerance,
        max_iterations=max_iterations,
    )
    posterior = fit["posterior"]
    label = np.argmax(posterior, axis=1)
    confidence = rounded_confidence(
        share=posterior[np.arange(answers.item_count), label], answers_per_item=per_item
    )
    confidence[rows] = 1.0
    return Consolidation(
        method="dawid_skene",
        label=label,
        confidence=confidence,
        posterior=posterior,
        item_names=answers.item_names,
        label_names=answers.label_names,
        worker_names=answers.worker_names,
        iterations=fit["iterations"],
        class_prior=fit["class_prior"],
        worker_confusion=fit["confusion"],
        worker_accuracy=fit["accuracy"],
        log_likelihood=fit["likelihood"],
    )


def multilabel_dawid_skene(
    *,
    answers: SelectionArrays,
    gold: dict[str, set[str]] | None = None,
    accuracy_prior: float = ACCURACY_PRIOR,
    prior_strength: float = PRIOR_STRENGTH,
    tolerance: float = TOLERANCE,
    max_iterations: int = MAX_ITERATIONS,
) -> MultilabelConsolidation:
    """Each label on its own: a binary Dawid-Skene (selected / not selected) over every worker
    who answered the item. `gold` maps an item to its full set of correct labels."""
    per_label = []
    for index, name in enumerate(answers.label_names.tolist()):
        binary = answers.for_label(index)
        label_gold = (
            {
                item: "selected" if name in labels else "not selected"
                for item, labels in gold.items()
            }
            if gold
            else None
        )
        per_label.append(
            dawid_skene(
                answers=binary,
                gold=label_gold,
                accuracy_prior=accuracy_prior,
                prior_strength=prior_strength,
                tolerance=tolerance,
                max_iterations=max_iterations,
            )
        )
    return MultilabelConsolidation(
        method="dawid_skene",
        selected=np.stack([result.label == 1 for result in per_label], axis=1),
        confidence=np.stack([result.confidence for result in per_label], axis=1),
        item_names=answers.item_names,
        label_names=answers.label_names,
        per_label=tuple(per_label),
    )


def confusion_prior(*, classes: int, accuracy_prior: float, prior_strength: float) -> np.ndarray:
    """Dirichlet pseudo-counts per confusion row: `accuracy_prior` of `prior_strength` on the
    diagonal, the rest spread evenly over the other labels."""
    if classes == 1:
        return np.full((1, 1), prior_strength)
    alpha = np.full((classes, classes), prior_strength * (1 - accuracy_prior) / (classes - 1))
    np.fill_diagonal(alpha, prior_strength * accuracy_prior)
    return alpha


def _expectation_maximisation(
    *,
    answers: AnswerArrays,
    posterior: np.ndarray,
    gold_rows: np.ndarray,
    gold_labels: np.ndarray,
    accuracy_prior: float,
    prior_strength: float,
    tolerance: float,
    max_iterations: int,
) -> dict:
    items, workers, classes = answers.item_count, answers.worker_count, answers.label_count
    alpha = confusion_prior(
        classes=classes, accuracy_prior=accuracy_prior, prior_strength=prior_strength
    )
    # answer a falls in row (worker, answered label) of the flattened confusion tables
    cell = answers.worker * classes + answers.label
    starts = answers.item_starts
    posterior = _clamped(posterior, gold_rows, gold_labels)
    previous = None
    iterations = 0
    while iterations < max_iterations:
        iterations += 1
        counts = _confusion_counts(posterior[answers.item], cell, workers, classes)
        confusion = (counts + alpha) / (
            counts.sum(axis=2, keepdims=True) + alpha.sum(axis=1)[:, None]
        )
        class_prior = (posterior.sum(axis=0) + 1.0) / (items + classes)
        # log P(answer | true label k), one row per (worker, answered label), k along columns
        log_answer = np.log(confusion).transpose(0, 2, 1).reshape(workers * classes, classes)
        joint = np.add.reduceat(log_answer[cell], starts, axis=0) + np.log(class_prior)
        top = joint.max(axis=1, keepdims=True)
        evidence = top + np.log(np.exp(joint - top).sum(axis=1, keepdims=True))
        posterior = _clamped(np.exp(joint - evidence), gold_rows, gold_labels)
        likelihood = float(evidence.sum())
        if previous is not None and abs(likelihood - previous) <= tolerance * abs(previous):
            break
        previous = likelihood
    counts = _confusion_counts(posterior[answers.item], cell, workers, classes)
    answered = counts.sum(axis=(1, 2))
    accuracy = np.trace(counts, axis1=1, axis2=2) / np.maximum(answered, 1e-12)
    return {
        "posterior": posterior,
        "iterations": iterations,
        "class_prior": class_prior,
        "confusion": confusion,
        "accuracy": accuracy,
        "likelihood": likelihood,
    }


def _confusion_counts(
    answer_posterior: np.ndarray, cell: np.ndarray, workers: int, classes: int
) -> np.ndarray:
    """counts[w, k, l]: the posterior mass of true label k over worker w's answers l."""
    counts = np.empty((classes, workers * classes))
    for true_label in range(classes):  # a loop over labels; the answers are summed by bincount
        counts[true_label] = np.bincount(
            cell, weights=answer_posterior[:, true_label], minlength=workers * classes
        )
    return counts.reshape(classes, workers, classes).transpose(1, 0, 2)


def _clamped(posterior: np.ndarray, rows: np.ndarray, labels: np.ndarray) -> np.ndarray:
    if len(rows):
        posterior[rows] = 0.0
        posterior[rows, labels] = 1.0
    return posterior
