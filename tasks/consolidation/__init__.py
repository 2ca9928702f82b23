"""Turning several workers' answers into one label with a confidence.

- `per_object`: `majority_vote`, `multilabel_majority_vote` for one object (the live path).
- `arrays`: `answer_arrays` / `selection_arrays` encode string answers once as integer arrays;
  `Consolidation` / `MultilabelConsolidation` hold labels, confidences, posteriors and, for
  Dawid-Skene, per-worker confusion matrices and accuracies (for worker skill storage).
- `majority`: `majority_vote_batch`, `multilabel_majority_vote_batch`.
- `dawid_skene_em`: `dawid_skene`, `multilabel_dawid_skene` (gold labels clamp and seed EM).
- `methods`: `consolidate`, `consolidate_multilabel`, `choose_method` (method=auto).
- `weighted`: `weighted_vote`, `one_coin_posterior`: one object's label weighted by the
  workers' stored skill (the live path for Dawid-Skene jobs).
- `files`: the CSV formats of the `consolidate` management command.

The auto rule: Dawid-Skene when the median worker gave at least 8 answers per label
(median answers per worker >= 8 x labels), majority vote otherwise. Measured with
tests/benchmarks/consolidation_accuracy.py on the 18 real datasets (accuracy over items with
truth; m = median answers per worker, K = labels, m/K the feature):

    dataset       K  m/K   majority  dawid_skene  better
    adult         4  4.5   0.7598    0.7508       majority
    cf            5  0.4   0.9000    0.8833       majority
    emotion      96  1.5   0.3257    0.3200       majority   (numeric scores as categories)
    zencrowd_all  2  7.5   0.8348    0.7931       majority
    zencrowd_us   2  7.5   0.8696    0.8235       majority
    cf_amt        5  5.5   0.8467    0.8467       equal
    wsd           3  6.7   0.9944    0.9944       equal
    wordsim      11  2.7   0.0000    0.0000       equal      (numeric scores as categories)
    trec          2  8.5   0.6611    0.7055       dawid_skene
    dog           4  9.5   0.8178    0.8414       dawid_skene
    rte           2  10    0.9187    0.9287       dawid_skene
    face          4  14    0.6301    0.6455       dawid_skene
    product       2  16    0.8966    0.9377       dawid_skene
    sp            2  20    0.8896    0.9160       dawid_skene
    sp_amt        2  25    0.9440    0.9440       equal
    bluebirds     2  54    0.7593    0.8889       dawid_skene
    hitspam       2  53    0.6600    0.6600       equal
    zencrowd_in   2  107   0.7441    0.7637       dawid_skene

Every dataset where majority vote wins has m/K <= 7.5 and every one where Dawid-Skene wins has
m/K >= 8.5, so the threshold 8 makes auto as accurate as the better method on all 18. The
margin is narrow (zencrowd 7.5 against trec 8.5) and the rule is fitted on these datasets:
re-measure when datasets are added. Thresholds on m alone, m/K^2 or m/(K(K-1)) each misorder
some dataset. Dawid-Skene's prior strength (2 pseudo-answers per confusion row) was chosen on
the same data (0.01, 2, 10 and 50 tried: 2 is best or near best on most sets).
"""

from tasks.consolidation.arrays import (
    AnswerArrays,
    Consolidation,
    MultilabelConsolidation,
    SelectionArrays,
    answer_arrays,
    selection_arrays,
)
from tasks.consolidation.dawid_skene_em import dawid_skene, multilabel_dawid_skene
from tasks.consolidation.majority import majority_vote_batch, multilabel_majority_vote_batch
from tasks.consolidation.methods import METHODS, choose_method, consolidate, consolidate_multilabel
from tasks.consolidation.per_object import majority_vote, multilabel_majority_vote
from tasks.consolidation.weighted import one_coin_posterior, weighted_vote

__all__ = [
    "METHODS",
    "choose_method",
    "consolidate",
    "consolidate_multilabel",
    "AnswerArrays",
    "Consolidation",
    "MultilabelConsolidation",
    "SelectionArrays",
    "answer_arrays",
    "dawid_skene",
    "majority_vote",
    "majority_vote_batch",
    "multilabel_dawid_skene",
    "multilabel_majority_vote",
    "multilabel_majority_vote_batch",
    "one_coin_posterior",
    "selection_arrays",
    "weighted_vote",
]
