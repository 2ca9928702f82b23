"""One object's label weighted by what is known of each worker: the one-coin model.

Each worker w is right with probability `accuracy[w]` and otherwise picks one of the other
K - 1 labels uniformly. With a uniform prior over the labels,

    P(label = k) ∝ Π_w (accuracy[w] if answer[w] == k else (1 - accuracy[w]) / (K - 1))

The accuracies come from the worker skill estimated by Dawid-Skene across a requester's jobs;
a worker without an estimate gets the Dawid-Skene prior (0.7).
"""

from collections.abc import Sequence

import numpy as np

from tasks.consolidation.dawid_skene_em import ACCURACY_PRIOR

MIN_ACCURACY = 0.01
MAX_ACCURACY = 0.99
TIE_TOLERANCE = 1e-12  # posteriors this close are a tie, settled by label order


def one_coin_posterior(
    *, answers: Sequence[str], accuracies: Sequence[float | None], labels: Sequence[str]
) -> np.ndarray:
    """The posterior over `labels` (in their order) given each worker's answer and accuracy
    (None: unknown, the prior 0.7); accuracies are clamped to [0.01, 0.99]."""
    if not answers:
        raise ValueError("the posterior needs at least one answer")
    if len(answers) != len(accuracies):
        raise ValueError("answers and accuracies must have the same length")
    position = {label: index for index, label in enumerate(labels)}
    unknown = [answer for answer in answers if answer not in position]
    if unknown:
        raise ValueError(f"the answer {unknown[0]!r} is not one of the labels")
    accuracy = np.clip(
        np.array([ACCURACY_PRIOR if value is None else value for value in accuracies], dtype=float),
        MIN_ACCURACY,
        MAX_ACCURACY,
    )
    chosen = np.array([position[answer] for answer in answers], dtype=np.int64)
    wrong = np.log((1 - accuracy) / max(len(labels) - 1, 1))
    log_posterior = np.full(len(labels), wrong.sum())
    np.add.at(log_posterior, chosen, np.log(accuracy) - wrong)
    posterior = np.exp(log_posterior - log_posterior.max())
    return posterior / posterior.sum()


def weighted_vote(
    *, answers: Sequence[str], accuracies: Sequence[float | None], labels: Sequence[str]
) -> tuple[str, float]:
    """The label with the highest one-coin posterior (ties go to the label listed first) and
    that posterior rounded to 2 places as the confidence; 0.00 when a single worker answered
    (as Ground Truth reports it)."""
    posterior = one_coin_posterior(answers=answers, accuracies=accuracies, labels=labels)
    winner = int(np.flatnonzero(posterior >= posterior.max() - TIE_TOLERANCE)[0])
    if len(answers) == 1:
        return labels[winner], 0.0
    return labels[winner], round(float(posterior[winner]), 2)
