"""`method=auto|majority|dawid_skene`: which algorithm consolidates a set of answers.

The auto rule (measured on the 18 real datasets in the shared `crowd` benchmark folder, with
`tests/benchmarks/consolidation_accuracy.py`): Dawid-Skene when the median worker gave at least
`ANSWERS_PER_LABEL_FOR_EM` (8) answers per label, majority vote otherwise. See the package
docstring for the numbers.
"""

import numpy as np

from tasks.consolidation.arrays import (
    AnswerArrays,
    Consolidation,
    MultilabelConsolidation,
    SelectionArrays,
)
from tasks.consolidation.dawid_skene_em import dawid_skene, multilabel_dawid_skene
from tasks.consolidation.majority import majority_vote_batch, multilabel_majority_vote_batch

METHODS = ("auto", "majority", "dawid_skene")
ANSWERS_PER_LABEL_FOR_EM = 8


def choose_method(*, answers_per_worker: np.ndarray, labels: int) -> str:
    """`dawid_skene` when the median worker gave at least 8 answers per label (enough to
    estimate its confusion matrix rows), else `majority`."""
    if len(answers_per_worker) and np.median(answers_per_worker) >= (
        ANSWERS_PER_LABEL_FOR_EM * max(labels, 2)
    ):
        return "dawid_skene"
    return "majority"


def consolidate(
    *, answers: AnswerArrays, method: str = "auto", gold: dict[str, str] | None = None
) -> Consolidation:
    """One label and confidence per item by `method` (`auto` picks by `choose_method`)."""
    if method == "auto":
        method = choose_method(
            answers_per_worker=answers.answers_per_worker, labels=answers.label_count
        )
    if method == "majority":
        return majority_vote_batch(answers=answers, gold=gold)
    if method == "dawid_skene":
        return dawid_skene(answers=answers, gold=gold)
    raise ValueError(f"unknown consolidation method {method!r}; use one of {', '.join(METHODS)}")


def consolidate_multilabel(
    *, answers: SelectionArrays, method: str = "auto", gold: dict[str, set[str]] | None = None
) -> MultilabelConsolidation:
    """The selected labels per item and a confidence per label; `auto` applies `choose_method`
    to the binary selected / not selected decisions (2 labels)."""
    if method == "auto":
        method = choose_method(
            answers_per_worker=np.bincount(answers.worker, minlength=len(answers.worker_names)),
            labels=2,
        )
    if method == "majority":
        if gold:
            raise ValueError("gold labels need method dawid_skene for multi-label answers")
        return multilabel_majority_vote_batch(answers=answers)
    if method == "dawid_skene":
        return multilabel_dawid_skene(answers=answers, gold=gold)
    raise ValueError(f"unknown consolidation method {method!r}; use one of {', '.join(METHODS)}")
