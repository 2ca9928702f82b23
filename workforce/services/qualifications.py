"""Qualification types, grants and tests (MTurk-style).

A requester defines types for its organisation and grants values by hand; any worker may take a
type's test (gold questions with an answer key), which is scored at once. Passing sets the
worker's value to the score; a worker may retake a test once its retry delay has passed.

Locking: a test submission locks the worker's row first (FOR NO KEY UPDATE), so one worker's
submissions run one at a time and the retry delay is checked against every attempt committed
before. Grants are upserted: a unique (type, worker) row, created in a savepoint.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from marketplace.errors import ApplicationError
from workforce import qualifications
from workforce.models import (
    Organization,
    QualificationGrant,
    QualificationTestAttempt,
    QualificationType,
    Worker,
)
from workforce.selectors import qualifications as selectors

NAME_MAX_LENGTH = 100
_UNCHANGED: Any = object()


class RetakeTooSoon(ApplicationError):
    """A test taken again before its retry delay passed. `retake_at` is when it may be."""

    def __init__(self, *, retake_at: datetime, retry_delay_seconds: int) -> None:
        super().__init__(
            "retake_too_soon",
            f"This test can be taken once every {duration_text(retry_delay_seconds)}. "
            f"You can take it again at {iso_utc(retake_at)}.",
            status=429,
        )
        self.retake_at = retake_at

    @property
    def retry_after_seconds(self) -> int:
        return max(1, int((self.retake_at - timezone.now()).total_seconds() + 0.999))


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def duration_text(seconds: int) -> str:
    """A delay in the largest whole unit that fits it: "1 day", "36 hours", "90 seconds"."""
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


# --- types ---------------------------------------------------------------------------------------


def _name_clean(*, organization: Organization, name: str, exclude_pk: int | None = None) -> str:
    name = name.strip()
    if not name:
        raise ApplicationError("invalid", "Enter a name.", field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise ApplicationError(
            "invalid", f"A name has at most {NAME_MAX_LENGTH} characters.", field="name"
        )
    if name.lower() in qualifications.SYSTEM:
        raise ApplicationError(
            "name_reserved", f"“{name}” is the name of a system qualification.", field="name"
        )
    taken = QualificationType.objects.filter(organization=organization, name__iexact=name)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise _name_taken(name)
    return name


def _name_taken(name: str) -> ApplicationError:
    return ApplicationError(
        "name_taken", f"You already have a qualification type named “{name}”.", field="name"
    )


def _test_fields(test: dict | None) -> dict[str, Any]:
    """The model fields a validated test ({"questions", "passing_score_percent",
    "retry_delay_seconds"}) sets; None removes the test."""
    if test is None:
        return {"test_questions": []}
    return {
        "test_questions": [
            {
                "question": question["question"],
                "options": list(question["options"]),
                "answer": question["answer"],
            }
            for question in test["questions"]
        ],
        "passing_score_percent": test["passing_score_percent"],
        "retry_delay_seconds": test["retry_delay_seconds"],
    }


def qualification_type_create(
    *, organization: Organization, name: str, description: str = "", test: dict | None = None
) -> QualificationType:
    """A new type for the organisation. Names are unique per organisation, ignoring case."""
    name = _name_clean(organization=organization, name=name)
    try:
        with transaction.atomic():
            return QualificationType.objects.create(
                organization=organization,
                name=name,
                description=description.strip(),
                **_test_fields(test),
            )
    except IntegrityError:  # a concurrent request took the name first
        raise _name_taken(name) from None


@transaction.atomic
def qualification_type_update(
    *,
    qualification_type: QualificationType,
    name: str = _UNCHANGED,
    description: str = _UNCHANGED,
    test: dict | None = _UNCHANGED,
) -> QualificationType:
    """Change what is given; `test=None` removes the test. Grants and attempts are kept."""
    locked = QualificationType.objects.select_for_update().get(pk=qualification_type.pk)
    changed: dict[str, Any] = {}
    if name is not _UNCHANGED:
        changed["name"] = _name_clean(
            organization=locked.organization, name=name, exclude_pk=locked.pk
        )
    if description is not _UNCHANGED:
        changed["description"] = description.strip()
    if test is not _UNCHANGED:
        changed.update(_test_fields(test))
    if not changed:
        return locked
    for field, value in changed.items():
        setattr(locked, field, value)
    try:
        with transaction.atomic():
            locked.save(update_fields=list(changed))
    except IntegrityError:
        raise _name_taken(locked.name) from None
    return locked


def _jobs_requiring(*, qualification_type: QualificationType) -> list[str]:
    """Names of the organisation's jobs with a requirement on the type (any status: a finished
    job still records what it asked for). Only its own jobs can name the type."""
    key = f"type:{qualification_type.pk}"
    jobs = qualification_type.organization.jobs.order_by("created_at", "pk")
    if connection.features.supports_json_field_contains:
        return list(
            jobs.filter(qualification_requirements__contains=[{"qualification": key}]).values_list(
                "name", flat=True
            )
        )
    return [  # SQLite (the demo) has no JSON containment
        name
        for name, requirements in jobs.values_list("name", "qualification_requirements")
        if any(requirement.get("qualification") == key for requirement in requirements)
    ]


@transaction.atomic
def qualification_type_delete(*, qualification_type: QualificationType) -> None:
    """Delete a type with its grants and test attempts; refused while a job requires it."""
    locked = QualificationType.objects.select_for_update().get(pk=qualification_type.pk)
    job_names = _jobs_requiring(qualification_type=locked)
    if job_names:
        shown = ", ".join(job_names[:5]) + (" …" if len(job_names) > 5 else "")
        raise ApplicationError(
            "qualification_in_use",
            f"The qualification type “{locked.name}” is required by {len(job_names)} "
            f"labeling job{'s' if len(job_names) != 1 else ''} ({shown}) and cannot be deleted.",
            status=409,
        )
    locked.delete()


# --- grants --------------------------------------------------------------------------------------


def qualification_grant_set(
    *, qualification_type: QualificationType, worker: Worker, value: int
) -> tuple[QualificationGrant, bool]:
    """Grant the type to a worker by hand, or change the value they hold. Returns (grant,
    created)."""
    with transaction.atomic():
        return QualificationGrant.objects.update_or_create(
            qualification_type=qualification_type,
            worker=worker,
            defaults={"value": value, "granted_by_test": False},
        )


def qualification_grant_delete(*, grant: QualificationGrant) -> None:
    """Take the qualification away from the worker. Their test attempts are kept."""
    grant.delete()


# --- tests ---------------------------------------------------------------------------------------


def qualification_test_answer_problems(
    *, qualification_type: QualificationType, answers: list
) -> dict[str, str]:
    """What is wrong with a test's answers, by field ("answers" or "answers[i]"); empty when
    there is one answer per question and each is one of its question's options."""
    questions = qualification_type.test_questions
    if not isinstance(answers, list) or len(answers) != len(questions):
        count = len(questions)
        plural = "s" if count != 1 else ""
        return {"answers": f"Give one answer for each of the {count} question{plural}."}
    return {
        f"answers[{index}]": f"Choose one of the options of question {index + 1}."
        for index, (question, answer) in enumerate(zip(questions, answers, strict=True))
        if answer not in question["options"]
    }


def _worker_for_update(*, worker: Worker) -> Worker:
    # FOR NO KEY UPDATE: it serialises the worker's test submissions but not the foreign-key
    # checks (FOR KEY SHARE) of rows inserted for the worker elsewhere, such as a hand grant
    # racing this submission (FOR UPDATE would deadlock with it on the grant's unique index).
    return Worker.objects.select_for_update(no_key=True).get(pk=worker.pk)


@transaction.atomic
def qualification_test_submit(
    *, worker: Worker, qualification_type: QualificationType, answers: list[str]
) -> QualificationTestAttempt:
    """Score a test at once: percent correct, rounded down; passed at the passing score or
    above. Passing sets the worker's value to the score; failing changes no grant. Refused
    (with nothing stored) before the retry delay since the worker's last attempt passed."""
    questions = qualification_type.test_questions
    if not questions:
        raise ApplicationError("no_test", "This qualification type has no test.", status=409)
    problems = qualification_test_answer_problems(
        qualification_type=qualification_type, answers=answers
    )
    if problems:
        field, message = next(iter(problems.items()))
        raise ApplicationError("invalid", message, field=field)
    _worker_for_update(worker=worker)
    now = timezone.now()
    last = selectors.qualification_test_last_attempt(
        worker=worker, qualification_type=qualification_type
    )
    delay = qualification_type.retry_delay_seconds
    if last is not None and last.submitted_at + timedelta(seconds=delay) > now:
        raise RetakeTooSoon(
            retake_at=last.submitted_at + timedelta(seconds=delay), retry_delay_seconds=delay
        )
    correct = sum(
        answer == question["answer"] for question, answer in zip(questions, answers, strict=True)
    )
    score = 100 * correct // len(questions)
    passed = score >= qualification_type.passing_score_percent
    attempt = QualificationTestAttempt.objects.create(
        qualification_type=qualification_type,
        worker=worker,
        answers=list(answers),
        score_percent=score,
        passed=passed,
    )
    if passed:
        QualificationGrant.objects.update_or_create(
            qualification_type=qualification_type,
            worker=worker,
            defaults={"value": score, "granted_by_test": True},
        )
    return attempt
