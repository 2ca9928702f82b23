"""Decimal USD strings at the API edge <-> integer mills (1 USD = 1000 mills)."""

import pytest

from payments import money


@pytest.mark.parametrize(
    ("text", "mills"),
    [
        ("0.012", 12),
        ("1", 1000),
        ("0.001", 1),
        ("0.050", 50),
        ("0.05", 50),
        ("12.5", 12_500),
        ("1234.567", 1_234_567),
        ("0.0120", 12),  # a trailing zero beyond the third decimal adds no precision
        ("0", 0),
        (" 0.012 ", 12),
    ],
)
def test_parse_usd_converts_decimal_strings_to_mills(text, mills):
    assert money.parse_usd(text) == mills
    assert type(money.parse_usd(text)) is int


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0.0125", "Amounts are in tenths of a cent at most (three decimal places)."),
        ("0.0001", "Amounts are in tenths of a cent at most (three decimal places)."),
        ("-1", "The amount must be a positive decimal."),
        ("-0.001", "The amount must be a positive decimal."),
        ("NaN", "The amount must be a positive decimal."),
        ("Infinity", "The amount must be a positive decimal."),
        ("abc", "'abc' is not a decimal amount."),
        ("", "'' is not a decimal amount."),
        ("1,5", "'1,5' is not a decimal amount."),
        (0.012, 'Give the amount as a decimal string, for example "0.012".'),
        (1, 'Give the amount as a decimal string, for example "0.012".'),
        (None, 'Give the amount as a decimal string, for example "0.012".'),
    ],
)
def test_parse_usd_refuses_floats_negatives_and_finer_precision(value, message):
    with pytest.raises(ValueError) as refused:
        money.parse_usd(value)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("mills", "text"),
    [
        (0, "0.000"),
        (5, "0.005"),
        (12, "0.012"),
        (1000, "1.000"),
        (1_234_567, "1234.567"),
        (-5, "-0.005"),
        (-1_500, "-1.500"),
        (-1_234_567, "-1234.567"),
    ],
)
def test_format_usd(mills, text):
    assert money.format_usd(mills) == text


@pytest.mark.parametrize("mills", [0, 1, 12, 999, 1000, 1_234_567, 9_223_372_036_854_775_807])
def test_format_then_parse_round_trips(mills):
    assert money.parse_usd(money.format_usd(mills)) == mills
