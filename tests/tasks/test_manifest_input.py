"""Validation of one input manifest line, per task type, with the exact reason a line is refused."""

import json

import pytest

from tasks.manifests.input import InputRecord, InvalidLine, decode_line, parse_input_line

IMAGE_TYPES = ["image_classification", "image_classification_multilabel"]
TEXT_TYPES = ["text_classification", "text_classification_multilabel"]


def line(**keys) -> str:
    return json.dumps(keys)


def reason(raw: str, task_type: str, **kwargs) -> str:
    with pytest.raises(InvalidLine) as refused:
        parse_input_line(raw, task_type=task_type, **kwargs)
    return str(refused.value)


@pytest.mark.parametrize("task_type", IMAGE_TYPES)
@pytest.mark.parametrize("key", ["a.jpg", "b/c.JPEG", "d.Png", "e f/ü.jpeg"])
def test_an_image_job_takes_a_source_ref_to_a_supported_image(task_type, key):
    raw = line(**{"source-ref": f"s3://bucket/{key}", "meta": {"k": [1, 2]}})

    record = parse_input_line(raw, task_type=task_type)

    assert record == InputRecord(input_line=raw, source_ref=f"s3://bucket/{key}", source="")


@pytest.mark.parametrize("task_type", IMAGE_TYPES)
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            line(source="a cat"),
            "{task_type} needs 'source-ref' pointing to an image",
        ),
        (
            line(**{"source-ref": "s3://bucket/a.gif"}),
            "'s3://bucket/a.gif' is not a supported image (.jpg, .jpeg, .png)",
        ),
        (
            line(**{"source-ref": "s3://bucket/a.txt"}),
            "'s3://bucket/a.txt' is not a supported image (.jpg, .jpeg, .png)",
        ),
        (
            line(**{"source-ref": "s3://bucket/jpg"}),
            "'s3://bucket/jpg' is not a supported image (.jpg, .jpeg, .png)",
        ),
        (
            line(**{"source-ref": "https://example.com/a.png"}),
            "'https://example.com/a.png' is not an S3 object URI (s3://bucket/key)",
        ),
        (
            line(**{"source-ref": "s3://bucket/folder/"}),
            "'s3://bucket/folder/' is not an S3 object URI (s3://bucket/key)",
        ),
        (line(**{"source-ref": 7}), "'source-ref' must be a string"),
        (
            line(**{"source-ref": "s3://bucket/" + "k" * 1013 + ".png"}),
            "'source-ref' is longer than 1,024 characters",
        ),
    ],
)
def test_an_image_job_refuses_anything_but_an_image_reference(task_type, raw, expected):
    assert reason(raw, task_type) == expected.format(task_type=task_type)


@pytest.mark.parametrize("task_type", TEXT_TYPES)
def test_a_text_job_takes_inline_text_or_a_source_ref_to_a_text_object(task_type):
    inline = line(source="The film was great.", id=4)
    referenced = line(**{"source-ref": "s3://bucket/reviews/1.TXT"})
    longest = json.dumps({"source": "é" * 20_000}, ensure_ascii=False)

    assert parse_input_line(inline, task_type=task_type) == InputRecord(
        input_line=inline, source_ref="", source="The film was great."
    )
    assert parse_input_line(referenced, task_type=task_type).source_ref == (
        "s3://bucket/reviews/1.TXT"
    )
    assert parse_input_line(longest, task_type=task_type).source == "é" * 20_000


@pytest.mark.parametrize("task_type", TEXT_TYPES)
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            line(**{"source-ref": "s3://bucket/a.jpg"}),
            "'s3://bucket/a.jpg' is not a text object (.txt)",
        ),
        (line(source="x" * 20_001), "'source' is longer than 20,000 characters"),
        (line(source=""), "'source' is empty"),
        (line(source=" \n\t"), "'source' is empty"),
        (line(source=["a", "b"]), "'source' must be a string"),
        (line(source="a\u0000b"), "'source' contains a NUL character"),
        ('{"source": "half a pair \\ud83d"}', "'source' contains an unpaired surrogate"),
    ],
)
def test_a_text_job_refuses_bad_text(task_type, raw, expected):
    assert reason(raw, task_type).startswith(expected)


@pytest.mark.parametrize("task_type", IMAGE_TYPES + TEXT_TYPES)
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            '{"source-ref": "s3://bkt/a.png"',
            "not valid JSON (Expecting ',' delimiter at column 32)",
        ),
        ("", "not valid JSON (Expecting value at column 1)"),
        ("[1, 2]", "the line must be a JSON object"),
        ('"s3://bkt/a.png"', "the line must be a JSON object"),
        (
            line(**{"source-ref": "s3://bkt/a.png", "source": "both"}),
            "the line has both 'source-ref' and 'source'; give one",
        ),
        (
            line(other="x"),
            "the line needs 'source-ref' (an S3 URI) or 'source' (inline text)",
        ),
        (
            line(**{"source-ref": None}),
            "the line needs 'source-ref' (an S3 URI) or 'source' (inline text)",
        ),
        (
            line(**{"source-ref": "s3://bkt/a.png", "pad": "x" * 100_000}),
            "the line is longer than 100,000 characters",
        ),
    ],
)
def test_every_task_type_refuses_lines_that_are_not_one_json_object(task_type, raw, expected):
    assert reason(raw, task_type) == expected


def test_a_line_of_exactly_the_maximum_length_is_accepted():
    head = '{"source-ref": "s3://bkt/a.png", "pad": "'
    raw = head + "x" * (100_000 - len(head) - 2) + '"}'

    assert len(raw) == 100_000
    assert parse_input_line(raw, task_type="image_classification").input_line == raw


def test_long_bad_values_are_shortened_in_the_reason():
    uri = "https://example.com/" + "a" * 500

    assert reason(line(**{"source-ref": uri}), "image_classification") == (
        f"'{uri[:99]}…' is not an S3 object URI (s3://bucket/key)"
    )


def test_a_line_of_an_earlier_jobs_output_is_valid_chained_input():
    earlier = line(
        **{
            "source-ref": "s3://bucket/a.jpg",
            "species": 1,
            "species-metadata": {
                "class-name": "dog",
                "confidence": 0.91,
                "type": "groundtruth/image-classification",
                "job-name": "labeling-job/pets",
                "human-annotated": "yes",
                "creation-date": "2026-11-01T10:00:00.000000",
            },
        }
    )

    record = parse_input_line(
        earlier, task_type="image_classification", label_attribute_name="breed"
    )

    assert record.input_line == earlier  # the earlier label passes through untouched


def test_a_line_already_labeled_under_the_jobs_attribute_is_carried_through():
    raw = line(**{"source-ref": "s3://bucket/a.jpg", "species": 1, "species-metadata": {}})

    record = parse_input_line(raw, task_type="image_classification", label_attribute_name="species")

    assert (record.carried, record.input_line) == (True, raw)
    assert parse_input_line(raw, task_type="image_classification").carried is False


def test_a_label_metadata_without_its_label_is_refused():
    raw = line(**{"source-ref": "s3://bucket/a.jpg", "species-metadata": {}})

    assert reason(raw, "image_classification", label_attribute_name="species") == (
        "the line has 'species-metadata' but no 'species'"
    )


def test_bytes_that_are_not_utf8_are_refused_with_their_position():
    with pytest.raises(InvalidLine) as refused:
        decode_line(b'{"source": "caf\xe9"}')

    assert str(refused.value) == "the line is not UTF-8 text (invalid byte at position 16)"
    assert decode_line('{"source": "café"}'.encode()) == '{"source": "café"}'


def test_bytes_far_over_the_limit_are_refused_without_decoding():
    with pytest.raises(InvalidLine) as refused:
        decode_line(b"\xff" * 400_001)

    assert str(refused.value) == "the line is longer than 100,000 characters"
