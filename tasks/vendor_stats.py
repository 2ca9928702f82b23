"""Reads for the vendor console: how the vendor's workers do on its jobs, and what the vendor
has earned.

The statistics count a worker's assignments on the vendor's jobs only (their public-crowd work
is none of the vendor's business), except gold accuracy, which is the worker's own record, and
skill, the worker's accuracy estimated by Dawid-Skene at each requester organisation, averaged
weighted by the answers each estimate rests on.
Every number comes from a fixed number of aggregate queries, whatever the number of workers.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
)
from django.utils import timezone

from marketplace.models import Job
from payments import money
from payments import selectors as ledger
from payments.models import LedgerAccount
from tasks import aggregates
from tasks.models import Assignment
from workforce.models import TeamMember, Vendor, Worker, WorkerSkill

RECENT_DAYS = 7


@dataclass(frozen=True)
class WorkerStatistics:
    worker: Worker
    teams: list[str]
    submitted: int
    approved: int
    rejected: int
    submitted_recently: int
    median_seconds_per_task: float | None
    earnings_mills: int
    skill: float | None = None

    @property
    def worker_id(self) -> str:
        return self.worker.public_id

    @property
    def display_name(self) -> str:
        return str(self.worker)

    @property
    def approval_rate_percent(self) -> float | None:
        """Approved share of the reviewed work on the vendor's jobs."""
        return _percent(self.approved, self.approved + self.rejected)

    @property
    def gold_accuracy_percent(self) -> float | None:
        """Correct share of the gold tasks the worker answered anywhere."""
        return _percent(self.worker.gold_correct_count, self.worker.gold_answered_count)

    @property
    def skill_accuracy(self) -> float | None:
        """Estimated accuracy, 0 to 1, rounded to 3 places (as the requesters' API gives it)."""
        return None if self.skill is None else round(self.skill, 3)

    @property
    def skill_percent(self) -> float | None:
        """Estimated accuracy across the requesters the worker answered for."""
        return None if self.skill is None else round(100 * self.skill, 1)

    @property
    def earnings_usd(self) -> str:
        return money.format_usd(self.earnings_mills)


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def vendor_worker_list_for(*, vendor: Vendor) -> QuerySet[Worker]:
    """The vendor's workers (members of its teams), each with `vendor_memberships`: the
    vendor's teams they belong to."""
    memberships = TeamMember.objects.filter(team__vendor=vendor)
    return (
        Worker.objects.filter(Exists(memberships.filter(worker=OuterRef("pk"))))
        .select_related("user")
        .prefetch_related(
            Prefetch(
                "team_memberships",
                queryset=memberships.select_related("team").order_by("team__name", "pk"),
                to_attr="vendor_memberships",
            )
        )
        .order_by("display_name", "pk")
    )


def vendor_worker_statistics(
    *, vendor: Vendor, workers: Sequence[Worker], now: datetime | None = None
) -> list[WorkerStatistics]:
    """Statistics of the given workers (from `vendor_worker_list_for`) on the vendor's jobs,
    in the order given.

    - submitted: answers given (submitted, approved or rejected); of them approved, rejected,
      and submitted in the last 7 days;
    - median seconds per task: from the claim to the answer, over the answers given;
    - skill: the answers-weighted mean of the worker's estimated accuracy at each requester
      organisation (None before any estimate);
    - earnings generated for the vendor: per approved answer, the job's price per object
      divided by its workers per object; summed and rounded half up to whole mills.
    """
    now = now or timezone.now()
    ids = [worker.pk for worker in workers]
    assignments = Assignment.objects.filter(
        worker_id__in=ids, job__vendor=vendor, job__workforce=Job.Workforce.VENDOR
    )
    answered = Q(status__in=Assignment.ANSWERED)
    counters = {
        "submitted": Count("pk", filter=answered),
        "approved": Count("pk", filter=Q(status=Assignment.Status.APPROVED)),
        "rejected": Count("pk", filter=Q(status=Assignment.Status.REJECTED)),
        "recent": Count(
            "pk", filter=answered & Q(submitted_at__gte=now - timedelta(days=RECENT_DAYS))
        ),
    }
    postgres = connection.vendor == "postgresql"
    if postgres:
        counters["median"] = aggregates.MedianSeconds(
            F("submitted_at") - F("accepted_at"), filter=answered
        )
    rows = {
        row["worker_id"]: row
        for row in assignments.values("worker_id").annotate(**counters).order_by()
    }
    medians = (
        {worker_id: row["median"] for worker_id, row in rows.items()}
        if postgres
        else aggregates.median_task_seconds_in_python(assignments.filter(answered), by="worker_id")
    )
    earnings = _earnings_mills(assignments.filter(status=Assignment.Status.APPROVED))
    skills = _skills(worker_ids=ids)

    statistics = []
    for worker in workers:
        row = rows.get(worker.pk, {})
        seconds = medians.get(worker.pk)
        statistics.append(
            WorkerStatistics(
                worker=worker,
                teams=[member.team.name for member in getattr(worker, "vendor_memberships", [])],
                submitted=row.get("submitted", 0),
                approved=row.get("approved", 0),
                rejected=row.get("rejected", 0),
                submitted_recently=row.get("recent", 0),
                median_seconds_per_task=None if seconds is None else round(seconds, 1),
                earnings_mills=earnings.get(worker.pk, 0),
                skill=skills.get(worker.pk),
            )
        )
    return statistics


def _skills(*, worker_ids: list[int]) -> dict[int, float]:
    """Per worker, the mean of its skill at every organisation weighted by answers."""
    rows = (
        WorkerSkill.objects.filter(worker_id__in=worker_ids, answers__gt=0)
        .values("worker_id")
        .annotate(weighted=Sum(F("accuracy") * F("answers")), answers=Sum("answers"))
        .order_by()
    )
    return {row["worker_id"]: row["weighted"] / row["answers"] for row in rows}


def _earnings_mills(approved: QuerySet[Assignment]) -> dict[int, int]:
    """Exact shares (price / workers per object), summed per worker, then rounded once."""
    shares: dict[int, Fraction] = defaultdict(Fraction)
    rows = (
        approved.values("worker_id")
        .annotate(
            price=F("job__vendor_price_per_object_mills"),
            split=F("job__workers_per_object"),
            count=Count("pk"),
        )
        .order_by()
    )
    for row in rows:
        shares[row["worker_id"]] += Fraction(row["count"] * row["price"], row["split"])
    return {worker_id: int(share + Fraction(1, 2)) for worker_id, share in shares.items()}


def vendor_balances_mills(*, vendor: Vendor) -> dict[str, int]:
    """The vendor's earnings in the ledger: pending (on hold after approval) and available."""
    owner = vendor.ledger_owner
    return {
        "pending": ledger.balance_mills(kind=LedgerAccount.Kind.VENDOR_PENDING, owner=owner),
        "available": ledger.balance_mills(kind=LedgerAccount.Kind.VENDOR_AVAILABLE, owner=owner),
    }
