"""Consolidation of many items at once: majority vote, Dawid-Skene EM, multi-label, auto."""

import numpy as np
import pytest

from tasks import consolidation


def arrays(rows, label_order=None):
    items, workers, labels = zip(*rows, strict=True)
    return consolidation.answer_arrays(
        items=items, workers=workers, labels=labels, label_order=label_order
    )


def by_item(result):
    return {item: (label, confidence) for item, label, confidence in result.rows()}


def test_majority_vote_breaks_ties_by_the_given_label_order_then_by_label():
    answers = arrays(
        [
            ("a", "w1", "cat"),
            ("a", "w2", "dog"),
            ("b", "w1", "dog"),
            ("b", "w2", "dog"),
            ("b", "w3", "cat"),
            ("c", "w3", "fish"),
        ],
        label_order=["dog", "cat"],
    )

    assert by_item(consolidation.majority_vote_batch(answers=answers)) == {
        "a": ("dog", 0.5),
        "b": ("dog", 0.67),
        "c": ("fish", 0.0),
    }
    unordered = arrays([("a", "w1", "dog"), ("a", "w2", "cat")])
    assert by_item(consolidation.majority_vote_batch(answers=unordered)) == {"a": ("cat", 0.5)}


def test_majority_vote_batch_agrees_with_the_per_object_vote():
    generator = np.random.default_rng(1)
    labels = ["x", "y", "z"]
    rows = [
        (f"i{item}", f"w{worker}", labels[generator.integers(3)])
        for item in range(200)
        for worker in generator.choice(9, size=generator.integers(1, 6), replace=False)
    ]
    result = by_item(consolidation.majority_vote_batch(answers=arrays(rows, label_order=labels)))
    for item in {row[0] for row in rows}:
        given = [label for name, _, label in rows if name == item]
        assert result[item] == consolidation.majority_vote(answers=given, labels=labels)


def test_a_repeated_answer_counts_once_with_the_last_label():
    answers = arrays([("a", "w1", "cat"), ("a", "w1", "dog"), ("a", "w2", "dog")])

    assert len(answers.item) == 2
    assert by_item(consolidation.majority_vote_batch(answers=answers)) == {"a": ("dog", 1.0)}


def loop_dawid_skene(rows, labels, iterations, accuracy_prior=0.7, strength=2.0):
    """Dawid-Skene written plainly, one answer at a time."""
    items = list(dict.fromkeys(row[0] for row in rows))
    workers = list(dict.fromkeys(row[1] for row in rows))
    k = len(labels)
    posterior = {}
    for item in items:
        given = [labels.index(label) for name, _, label in rows if name == item]
        posterior[item] = [given.count(c) / len(given) for c in range(k)]
    alpha = [
        [
            strength * accuracy_prior if a == b else strength * (1 - accuracy_prior) / (k - 1)
            for b in range(k)
        ]
        for a in range(k)
    ]
    for _ in range(iterations):
        counts = {w: [[0.0] * k for _ in range(k)] for w in workers}
        for item, worker, label in rows:
            for true in range(k):
                counts[worker][true][labels.index(label)] += posterior[item][true]
        confusion = {
            w: [
                [(counts[w][t][a] + alpha[t][a]) / (sum(counts[w][t]) + strength) for a in range(k)]
                for t in range(k)
            ]
            for w in workers
        }
        prior = [(sum(posterior[i][t] for i in items) + 1) / (len(items) + k) for t in range(k)]
        for item in items:
            joint = list(prior)
            for name, worker, label in rows:
                if name == item:
                    for true in range(k):
                        joint[true] *= confusion[worker][true][labels.index(label)]
            posterior[item] = [value / sum(joint) for value in joint]
    return posterior


def test_dawid_skene_matches_a_plain_loop_on_three_items():
    rows = [
        ("a", "w1", "yes"),
        ("a", "w2", "yes"),
        ("a", "w3", "no"),
        ("b", "w1", "no"),
        ("b", "w2", "yes"),
        ("b", "w3", "no"),
        ("c", "w1", "yes"),
        ("c", "w3", "yes"),
    ]
    labels = ["yes", "no"]
    for iterations in (1, 2, 5):
        result = consolidation.dawid_skene(
            answers=arrays(rows, label_order=labels), tolerance=0.0, max_iterations=iterations
        )
        expected = loop_dawid_skene(rows, labels, iterations)
        assert result.iterations == iterations
        np.testing.assert_allclose(result.posterior, [expected[i] for i in "abc"], rtol=1e-9)


def test_dawid_skene_gives_no_confidence_to_an_item_with_one_answer():
    result = consolidation.dawid_skene(
        answers=arrays([("a", "w1", "cat"), ("a", "w2", "cat"), ("b", "w1", "dog")])
    )

    assert by_item(result)["b"] == ("dog", 0.0)
    assert by_item(result)["a"][1] > 0.5


def population(*, accuracies, items, per_item, classes, seed, constant=(), random=()):
    """Synthetic answers: worker w right with probability accuracies[w] (else a uniform wrong
    label); `constant` workers always answer label 0, `random` workers a uniform label."""
    generator = np.random.default_rng(seed)
    workers = len(accuracies) + len(constant) + len(random)
    truth = generator.integers(classes, size=items)
    rows = []
    for item in range(items):
        for worker in generator.choice(workers, size=per_item, replace=False):
            if worker < len(accuracies):
                right = generator.random() < accuracies[worker]
                label = (
                    truth[item]
                    if right
                    else (truth[item] + generator.integers(1, classes)) % classes
                )
            elif worker < len(accuracies) + len(constant):
                label = 0
            else:
                label = generator.integers(classes)
            rows.append((f"i{item}", f"w{worker}", str(label)))
    return rows, {f"i{item}": str(label) for item, label in enumerate(truth)}


def accuracy(result, truth):
    return np.mean([label == truth[item] for item, label, _ in result.rows()])


def test_dawid_skene_recovers_known_worker_accuracies():
    accuracies = [0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.7]
    rows, truth = population(accuracies=accuracies, items=3000, per_item=5, classes=3, seed=2)

    result = consolidation.dawid_skene(answers=arrays(rows))

    estimated = dict(zip(result.worker_names.tolist(), result.worker_accuracy, strict=True))
    for worker, expected in enumerate(accuracies):
        assert abs(estimated[f"w{worker}"] - expected) < 0.05
    assert result.worker_confusion.shape == (10, 3, 3)
    np.testing.assert_allclose(result.worker_confusion.sum(axis=2), 1.0)


def test_dawid_skene_down_weights_constant_and_random_workers():
    rows, truth = population(
        accuracies=[0.65] * 5,
        items=2000,
        per_item=5,
        classes=3,
        seed=3,
        constant=[0, 1],
        random=[0, 1],
    )
    answers = arrays(rows)

    em = consolidation.dawid_skene(answers=answers)
    majority = consolidation.majority_vote_batch(answers=answers)

    assert accuracy(em, truth) > accuracy(majority, truth) + 0.03
    estimated = dict(zip(em.worker_names.tolist(), em.worker_accuracy, strict=True))
    honest = [estimated[f"w{w}"] for w in range(5)]
    adversarial = [estimated[f"w{w}"] for w in range(5, 9)]
    assert max(adversarial) < min(honest) - 0.2


def test_gold_items_keep_their_label_and_seed_the_worker_estimates():
    rows = [
        ("g1", "w1", "no"),
        ("g1", "w2", "no"),
        ("g1", "w3", "yes"),
        ("g2", "w1", "no"),
        ("g2", "w2", "no"),
        ("g2", "w3", "yes"),
        ("a", "w1", "no"),
        ("a", "w2", "no"),
        ("a", "w3", "yes"),
    ]
    gold = {"g1": "yes", "g2": "yes", "unanswered": "no"}

    result = consolidation.dawid_skene(answers=arrays(rows), gold=gold)
    plain = consolidation.dawid_skene(answers=arrays(rows))

    assert by_item(result)["g1"] == ("yes", 1.0)
    assert by_item(result)["a"][0] == "yes"
    assert by_item(plain)["a"][0] == "no"
    assert by_item(consolidation.majority_vote_batch(answers=arrays(rows), gold=gold))["g2"] == (
        "yes",
        1.0,
    )


def test_a_gold_label_no_worker_gave_is_refused():
    with pytest.raises(ValueError, match="not a known label"):
        consolidation.dawid_skene(answers=arrays([("a", "w1", "x")]), gold={"a": "y"})


def selections(rows, label_order=None):
    items, workers, labels = zip(*rows, strict=True)
    return consolidation.selection_arrays(
        items=items, workers=workers, labels=labels, label_order=label_order
    )


def test_multilabel_majority_vote_batch_agrees_with_the_per_object_vote():
    rows = [
        ("a", "w1", "red"),
        ("a", "w1", "blue"),
        ("a", "w2", "red"),
        ("a", "w3", "green"),
        ("b", "w1", "blue"),
    ]
    labels = ["red", "green", "blue"]

    result = consolidation.multilabel_majority_vote_batch(answers=selections(rows, labels))

    assert list(result.rows()) == [("a", "red", 0.67), ("b", "blue", 0.0)]
    assert consolidation.multilabel_majority_vote(
        answers=[["red", "blue"], ["red"], ["green"]], labels=labels
    ) == [(0, 0.67)]


def test_multilabel_dawid_skene_decides_each_label_and_gives_a_confidence_per_label():
    generator = np.random.default_rng(4)
    labels = ["red", "green", "blue"]
    truth = {f"i{i}": {label for label in labels if generator.random() < 0.4} for i in range(600)}
    rows = []
    for item, chosen in truth.items():
        for worker in generator.choice(8, size=4, replace=False):
            picked = {label for label in labels if (label in chosen) != (generator.random() < 0.15)}
            rows += [(item, f"w{worker}", label) for label in picked]
    answers = selections(rows, labels)

    result = consolidation.consolidate_multilabel(answers=answers, method="dawid_skene")

    assert result.selected.shape == result.confidence.shape == (answers.item_count, 3)
    assert len(result.per_label) == 3
    decided = {
        item: {labels[j] for j in np.flatnonzero(result.selected[i])}
        for i, item in enumerate(result.item_names.tolist())
    }
    per_label = [
        (label in decided[item]) == (label in truth[item]) for item in decided for label in labels
    ]
    assert np.mean(per_label) > 0.9
    assert ((result.confidence >= 0) & (result.confidence <= 1)).all()


def test_auto_uses_em_only_when_the_median_worker_answered_8_per_label():
    assert consolidation.choose_method(answers_per_worker=np.array([16, 16, 1]), labels=2) == (
        "dawid_skene"
    )
    assert consolidation.choose_method(answers_per_worker=np.array([15, 15, 99]), labels=2) == (
        "majority"
    )
    assert consolidation.choose_method(answers_per_worker=np.array([30]), labels=4) == "majority"
    answers = arrays([("a", "w1", "x"), ("a", "w2", "y")])
    assert consolidation.consolidate(answers=answers).method == "majority"
    with pytest.raises(ValueError, match="unknown consolidation method"):
        consolidation.consolidate(answers=answers, method="glad")
