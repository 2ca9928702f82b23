"""Workers as requesters and the platform see them: review counts, bans and blocks."""

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from marketplace.errors import ApplicationError
from workforce.models import Organization, User, Worker, WorkerBlock, WorkerSkill


def worker_record_review(*, worker: Worker, approved: bool, undo: bool = False) -> None:
    """Count a review (or take one back) for the system qualifications."""
    field = "approved_count" if approved else "rejected_count"
    step = -1 if undo else 1
    Worker.objects.filter(pk=worker.pk).update(**{field: F(field) + step})


def worker_record_gold(*, worker: Worker, correct: bool) -> None:
    """Count a gold answer, and whether it was right, in the worker's gold accuracy."""
    counts = {"gold_answered_count": F("gold_answered_count") + 1}
    if correct:
        counts["gold_correct_count"] = F("gold_correct_count") + 1
    Worker.objects.filter(pk=worker.pk).update(**counts)


@transaction.atomic
def worker_ban(*, worker: Worker, reason: str) -> Worker:
    """Ban a worker from the whole platform: no new task anywhere."""
    if not reason.strip():
        raise ApplicationError("reason_required", "Say why the worker is banned.", field="reason")
    Worker.objects.filter(pk=worker.pk).update(banned_at=timezone.now(), ban_reason=reason.strip())
    worker.refresh_from_db()
    return worker


@transaction.atomic
def worker_unban(*, worker: Worker) -> Worker:
    Worker.objects.filter(pk=worker.pk).update(banned_at=None, ban_reason="")
    worker.refresh_from_db()
    return worker


def worker_block_create(
    *, organization: Organization, worker: Worker, reason: str, created_by: User
) -> WorkerBlock:
    """Block a worker from the organisation's jobs. Assignments in flight expire normally."""
    if not reason.strip():
        raise ApplicationError("reason_required", "Say why the worker is blocked.", field="reason")
    try:
        with transaction.atomic():
            return WorkerBlock.objects.create(
                organization=organization,
                worker=worker,
                reason=reason.strip(),
                created_by=created_by,
            )
    except IntegrityError:
        raise ApplicationError(
            "already_blocked", "This worker is already blocked.", field="worker_id", status=409
        ) from None


def worker_block_delete(*, block: WorkerBlock) -> None:
    block.delete()


@transaction.atomic
def worker_skills_store(
    *, organization: Organization, skills: dict[int, tuple[float, int]], estimated_at
) -> int:
    """Replace the organisation's skill rows of these workers: worker id → (accuracy, answers
    it rests on). Returns how many were stored."""
    rows = [
        WorkerSkill(
            organization=organization,
            worker_id=worker_id,
            accuracy=accuracy,
            answers=answers,
            updated_at=estimated_at,
        )
        for worker_id, (accuracy, answers) in sorted(skills.items())
    ]
    WorkerSkill.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["organization", "worker"],
        update_fields=["accuracy", "answers", "updated_at"],
    )
    return len(rows)
