"""Turning several workers' answers for one object into one label with a confidence."""

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
