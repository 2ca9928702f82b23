"""Comparing a moment with a per-job number of seconds after it (an availability lifetime, an
auto-approval delay), in a way every database runs: one condition per distinct number of
seconds, instead of multiplying a column by an interval (which SQLite cannot do). Jobs share a
few such values, so the condition stays short."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Q


def deadline_condition(
    *, start: str, seconds: str, values: Iterable[int], now: datetime, passed: bool
) -> Q:
    """Rows whose `start` (a datetime field path) plus `seconds` (a field path of whole
    seconds, whose possible values are `values`) is at or before `now` when `passed`, after it
    otherwise. No values: a condition no row meets."""
    lookup = f"{start}__lte" if passed else f"{start}__gt"
    condition = Q(pk__in=[])
    for value in set(values):
        condition |= Q(**{seconds: value, lookup: now - timedelta(seconds=value)})
    return condition
