"""Consolidation of one object's answers, as the live labeling path calls it."""

from collections import Counter


def majority_vote(*, answers: list[str], labels: list[str]) -> tuple[str, float]:
    """The most chosen label; ties go to the label listed first in the job's categories.

    Confidence is the winner's share of the votes, rounded to 2 places, and 0.00 when a single
    worker answered (as Ground Truth reports it).
    """
    if not answers:
        raise ValueError("majority vote needs at least one answer")
    votes = Counter(answers)
    order = {label: index for index, label in enumerate(labels)}
    winner = min(votes, key=lambda label: (-votes[label], order.get(label, len(order)), label))
    if len(answers) == 1:
        return winner, 0.0
    return winner, round(votes[winner] / len(answers), 2)


def multilabel_majority_vote(
    *, answers: list[list[str]], labels: list[str]
) -> list[tuple[int, float]]:
    """Each label decided on its own: selected when at least half the workers chose it (a tie
    selects it). Returns the selected labels as (index in the job's labels, confidence), in
    label order; the list may be empty.

    A label's confidence is the share of workers who agree with the decision, rounded to 2
    places, and 0.00 when a single worker answered.
    """
    if not answers:
        raise ValueError("majority vote needs at least one answer")
    workers = len(answers)
    votes = Counter(label for chosen in answers for label in set(chosen))
    selected = []
    for index, label in enumerate(labels):
        if votes[label] and 2 * votes[label] >= workers:
            confidence = 0.0 if workers == 1 else round(votes[label] / workers, 2)
            selected.append((index, confidence))
    return selected
