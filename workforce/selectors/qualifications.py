"""Reads for qualification types, grants and tests: a requester's own types, and what a worker
sees (every type with a test, as on MTurk, plus the types they hold)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from workforce import qualifications
from workforce.models import (
    Organization,
    QualificationGrant,
    QualificationTestAttempt,
    QualificationType,
    Worker,
)

HAS_TEST = ~Q(test_questions=[])


def qualification_type_list_for(*, organization: Organization) -> QuerySet[QualificationType]:
    """The organisation's types, by name, with how many workers hold each."""
    return (
        QualificationType.objects.filter(organization=organization)
        .annotate(grant_count=Count("grants"))
        .order_by("name", "pk")
    )


def qualification_type_get_for(*, organization: Organization, pk: int) -> QualificationType:
    """One of the organisation's types; 404 for anyone else's."""
    found = qualification_type_list_for(organization=organization).filter(pk=pk).first()
    if found is None:
        raise Http404("No such qualification type.")
    return found


def qualification_grant_list_for(
    *, qualification_type: QualificationType
) -> QuerySet[QualificationGrant]:
    return (
        QualificationGrant.objects.filter(qualification_type=qualification_type)
        .select_related("worker")
        .order_by("granted_at", "pk")
    )


def qualification_grant_get_for(
    *, qualification_type: QualificationType, worker_pk: int
) -> QualificationGrant:
    grant = (
        qualification_grant_list_for(qualification_type=qualification_type)
        .filter(worker_id=worker_pk)
        .first()
    )
    if grant is None:
        raise Http404("This worker does not hold the qualification.")
    return grant


# --- what a worker sees --------------------------------------------------------------------------


def retake_at(*, qualification_type: QualificationType, last_attempt_at: datetime | None):
    """When the worker may take the test again, or None when they may take it now."""
    if last_attempt_at is None:
        return None
    at = last_attempt_at + timedelta(seconds=qualification_type.retry_delay_seconds)
    return at if at > timezone.now() else None


def qualification_types_for_worker(*, worker: Worker) -> QuerySet[QualificationType]:
    """Types with a test (any organisation's) and the types the worker holds, by name.

    Each carries `value` (the worker's, or None), `last_attempt_at` and `question_count`;
    `retake_at()` turns the last attempt into the time a retake is allowed."""
    held = QualificationGrant.objects.filter(worker=worker, qualification_type=OuterRef("pk"))
    attempts = QualificationTestAttempt.objects.filter(
        worker=worker, qualification_type=OuterRef("pk")
    ).order_by("-submitted_at")
    return (
        QualificationType.objects.annotate(
            value=Subquery(held.values("value")[:1]),
            granted_by_test=Subquery(held.values("granted_by_test")[:1]),
            last_attempt_at=Subquery(attempts.values("submitted_at")[:1]),
        )
        .filter(HAS_TEST | Q(value__isnull=False))
        .select_related("organization")
        .order_by("name", "pk")
    )


def qualification_type_get_for_test(*, worker: Worker, pk: int) -> QualificationType:
    """A type whose test the worker may see and take; 404 when it has no test."""
    found = qualification_types_for_worker(worker=worker).filter(HAS_TEST, pk=pk).first()
    if found is None:
        raise Http404("No such qualification test.")
    return found


def qualification_test_last_attempt(
    *, worker: Worker, qualification_type: QualificationType
) -> QualificationTestAttempt | None:
    return (
        QualificationTestAttempt.objects.filter(
            worker=worker, qualification_type=qualification_type
        )
        .order_by("-submitted_at", "-pk")
        .first()
    )


@dataclass(frozen=True)
class SystemValue:
    key: str
    name: str
    description: str
    value: int | None
    unit: str


def system_values_for(*, worker: Worker) -> list[SystemValue]:
    """The worker's system qualifications, each named and explained; None when not yet known."""
    values = qualifications.system_values(worker)
    return [
        SystemValue(
            key=name,
            name=name.replace("_", " ").capitalize(),
            description=description,
            value=values.get(f"system:{name}"),
            unit="" if name == "approved_count" else "%",
        )
        for name, description in qualifications.SYSTEM.items()
    ]
