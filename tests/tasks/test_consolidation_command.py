"""`python manage.py consolidate`: a CSV of answers in, a CSV of labels out, bad files refused."""

import pytest
from django.core.management import CommandError, call_command


def run(tmp_path, answers, *extra, gold=None, task_type="classification"):
    (tmp_path / "answers.csv").write_text(answers, encoding="utf-8")
    arguments = ["--task-type", task_type, "--answers", str(tmp_path / "answers.csv")]
    if gold is not None:
        (tmp_path / "gold.csv").write_text(gold, encoding="utf-8")
        arguments += ["--gold", str(tmp_path / "gold.csv")]
    call_command("consolidate", *arguments, "--out", str(tmp_path / "labels.csv"), *extra)
    return (tmp_path / "labels.csv").read_text(encoding="utf-8")


ANSWERS = (
    "item,worker,label\n"
    "photo 2,w1,cat\n"
    "photo 2,w2,dog\n"
    "photo 2,w3,cat\n"
    '"a, b",w1,dog\n'
    "photo 2,w3,cat\n"
)


@pytest.mark.parametrize("method", ["auto", "majority", "dawid_skene"])
def test_labels_are_written_per_item_in_order_of_first_appearance(tmp_path, method):
    output = run(tmp_path, ANSWERS, "--method", method)

    lines = output.splitlines()
    assert lines[0] == "item,label,confidence"
    assert lines[2] == '"a, b",dog,0.00'
    assert lines[1].startswith("photo 2,cat,")
    if method != "dawid_skene":
        assert lines[1] == "photo 2,cat,0.67"


def test_gold_labels_are_kept_and_unanswered_gold_items_ignored(tmp_path):
    output = run(tmp_path, ANSWERS, gold="item,label\nphoto 2,dog\nnever answered,cat\n")

    assert output.splitlines()[1] == "photo 2,dog,1.00"


def test_multilabel_rows_are_the_selected_labels(tmp_path):
    answers = "item,worker,label\na,w1,red\na,w1,blue\na,w2,red\nb,w1,blue\nb,w2,red\nb,w3,red\n"

    output = run(tmp_path, answers, "--method", "majority", task_type="classification_multilabel")

    assert output.splitlines() == [
        "item,label,confidence",
        "a,blue,0.50",
        "a,red,1.00",
        "b,red,0.67",
    ]


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ("", "line 1: missing header item,worker,label"),
        ("item,worker\na,w1\n", "line 1: the header must be item,worker,label"),
        ("item,worker,label\na,w1,cat\na,w2\n", "line 3: expected 3 fields, found 2"),
        ("item,worker,label\na,w1,cat,extra\n", "line 2: expected 3 fields, found 4"),
        ("item,worker,label\na,w1,cat\na, ,dog\n", "line 3: empty worker"),
        ("item,worker,label\n,w1,cat\n", "line 2: empty item"),
        (
            "item,worker,label\na,w1,cat\nb,w1,cat\na,w1,dog\n",
            "line 4: worker 'w1' already answered item 'a' with label 'cat' on line 2",
        ),
        ("item,worker,label\n", "line 2: no answers after the header"),
    ],
)
def test_a_malformed_answer_file_is_refused_with_its_line_and_nothing_is_written(
    tmp_path, answers, message
):
    with pytest.raises(CommandError, match=message):
        run(tmp_path, answers)

    assert not (tmp_path / "labels.csv").exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "answers.csv"]


@pytest.mark.parametrize(
    ("gold", "message"),
    [
        ("item\nphoto 2\n", "line 1: the header must be item,label"),
        ("item,label\nphoto 2,bird\n", "line 2: gold label 'bird' is not a label any worker gave"),
        (
            "item,label\nphoto 2,cat\nphoto 2,dog\n",
            "line 3: item 'photo 2' already has gold label 'cat' on line 2",
        ),
    ],
)
def test_a_malformed_gold_file_is_refused_with_its_line(tmp_path, gold, message):
    with pytest.raises(CommandError, match=message):
        run(tmp_path, ANSWERS, gold=gold)

    assert not (tmp_path / "labels.csv").exists()
