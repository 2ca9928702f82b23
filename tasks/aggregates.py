"""Task-time medians: in PostgreSQL an ordered-set aggregate, elsewhere (SQLite) in Python."""

from collections import defaultdict
from statistics import median

from django.db.models import Aggregate, FloatField, QuerySet

from tasks.models import Assignment


class MedianSeconds(Aggregate):
    """PostgreSQL: the median of a duration, in seconds (an ordered-set aggregate)."""

    function = "PERCENTILE_CONT"
    template = (
        "%(function)s(0.5) WITHIN GROUP "
        "(ORDER BY EXTRACT(EPOCH FROM %(expressions)s)::double precision)"
    )
    output_field = FloatField()


def median_task_seconds_in_python(answered: QuerySet[Assignment], *, by: str) -> dict[int, float]:
    """The median time from claim to answer per value of `by` (e.g. "worker_id"), in one
    query, for databases without a median aggregate."""
    durations: dict[int, list[float]] = defaultdict(list)
    for key, accepted_at, submitted_at in answered.values_list(by, "accepted_at", "submitted_at"):
        durations[key].append((submitted_at - accepted_at).total_seconds())
    return {key: median(seconds) for key, seconds in durations.items()}
