"""Converting between the API's decimal USD strings and integer mills (1 USD = 1000 mills)."""

from decimal import Decimal, InvalidOperation

MILLS_PER_USD = 1000


def parse_usd(value: str) -> int:
    """'0.012' -> 12. Refuses floats, negatives and precision finer than a tenth of a cent."""
    if not isinstance(value, str):
        raise ValueError('Give the amount as a decimal string, for example "0.012".')
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        raise ValueError(f"'{value}' is not a decimal amount.") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError("The amount must be a positive decimal.")
    mills = amount * MILLS_PER_USD
    if mills != mills.to_integral_value():
        raise ValueError("Amounts are in tenths of a cent at most (three decimal places).")
    return int(mills)


def format_usd(mills: int) -> str:
    """12 -> '0.012'."""
    sign = "-" if mills < 0 else ""
    whole, rest = divmod(abs(mills), MILLS_PER_USD)
    return f"{sign}{whole}.{rest:03d}"
