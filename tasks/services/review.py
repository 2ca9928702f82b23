"""Review of submitted work: approval (paid from the job's escrow, exactly once), rejection with a
reason the worker sees, the reversal of a rejection within `REVERSAL_WINDOW`, the same one id at
a time in bulk, and automatic approval after the job's delay.

Lock order, as everywhere in the app: the data object, then the assignment."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from marketplace.errors import ApplicationError
from marketplace.models import Job
from payments.models import LedgerAccount
from payments.services import ledger as payments
from tasks import deadlines, locks
from tasks.models import Assignment, Bonus, DataObject
from workforce.models import User
from workforce.services import workers

logger = logging.getLogger(__name__)

Kind = LedgerAccount.Kind
Status = Assignment.Status

REVERSAL_WINDOW = timedelta(days=30)
BULK_REVIEW_MAX = 1000


@transaction.atomic
def assignment_approve(*, assignment: Assignment, actor: User | None = None) -> Assignment:
    """Approve submitted work and pay it from the job's escrow, exactly once.

    Approving a rejection reverses it, within `REVERSAL_WINDOW` of the rejection: the work is
    paid then. Only a rejection the caller has seen is reversed: when `assignment` was read as
    submitted and has been rejected since, the approval lost the race and is refused."""
    data_object = locks.data_object_for_update(pk=assignment.data_object_id)
    locked = locks.assignment_for_update(pk=assignment.pk)
    if locked.status == Status.APPROVED:
        return locked
    if locked.status == Status.REJECTED:
        if assignment.status != Status.REJECTED:
            raise ApplicationError(
                "already_reviewed",
                "The assignment was rejected meanwhile; approve it again to reverse the rejection.",
                status=409,
            )
        if locked.reviewed_at < timezone.now() - REVERSAL_WINDOW:
            raise ApplicationError(
                "reversal_window_passed",
                f"A rejection can be reversed for {REVERSAL_WINDOW.days} days only.",
                status=409,
            )
        _approve_locked(data_object=data_object, assignment=locked, reversal=True)
        return locked
    if locked.status != Status.SUBMITTED:
        raise ApplicationError(
            "not_submitted",
            f"An assignment that is {locked.status} cannot be approved.",
            status=409,
        )
    _approve_locked(data_object=data_object, assignment=locked, reversal=False)
    return locked


def _approve_locked(*, data_object: DataObject, assignment: Assignment, reversal: bool) -> None:
    """Approve a locked assignment, pay it and count the review. A reversal keeps the rejection
    (its time and reason) on record and takes back the rejection's count."""
    # A gold object is no object of the job's: its answers are paid as answers, with no
    # service fee nor vendor price for the object.
    first_for_object = (
        not assignment.is_gold
        and not data_object.assignments.filter(status=Status.APPROVED).exists()
    )
    assignment.status = Status.APPROVED
    if reversal:
        assignment.rejection_reversed_at = timezone.now()
        assignment.save(update_fields=["status", "rejection_reversed_at"])
    else:
        assignment.reviewed_at = timezone.now()
        assignment.save(update_fields=["status", "reviewed_at"])
    _approval_pay(assignment=assignment, first_for_object=first_for_object)
    if reversal:
        workers.worker_record_review(worker=assignment.worker, approved=False, undo=True)
    workers.worker_record_review(worker=assignment.worker, approved=True)


def approval_price_mills(*, job: Job, first_for_object: bool) -> tuple[int, int]:
    """What approving one answer pays: (the payee's amount, the service fee). Public jobs pay
    each approved answer's reward to its worker; vendor jobs pay the vendor's price once per
    object; private teams are not paid by the platform. The service fee is taken once per
    object."""
    service_fee = settings.SERVICE_FEE_PER_OBJECT_MILLS if first_for_object else 0
    if job.workforce == Job.Workforce.PUBLIC:
        return job.reward_per_task_mills, service_fee
    if job.workforce == Job.Workforce.VENDOR and first_for_object:
        return job.vendor_price_per_object_mills or 0, service_fee
    return 0, service_fee


def approval_cost_mills(*, job: Job, first_for_object: bool) -> int:
    """What approving one answer takes from the job's escrow: amount, its fee, service fee."""
    amount, service_fee = approval_price_mills(job=job, first_for_object=first_for_object)
    return amount + payments.platform_fee_mills(amount_mills=amount) + service_fee


def _approval_pay(*, assignment: Assignment, first_for_object: bool) -> None:
    """Pay an approved answer from the job's escrow (see approval_price_mills)."""
    job = assignment.job
    amount, service_fee = approval_price_mills(job=job, first_for_object=first_for_object)
    payee_kind, payee_owner = Kind.WORKER_PENDING, assignment.worker.ledger_owner
    if job.workforce == Job.Workforce.VENDOR:
        payee_kind, payee_owner = Kind.VENDOR_PENDING, job.vendor.ledger_owner
    if amount == 0 and service_fee == 0:
        return
    payments.earning_record(
        escrow_owner=job.ledger_escrow_owner,
        payee_owner=payee_owner,
        payee_kind=payee_kind,
        amount_mills=amount,
        service_fee_mills=service_fee,
        idempotency_key=f"assignment:{assignment.pk}:approval",
    )


@transaction.atomic
def assignment_reject(
    *, assignment: Assignment, reason: str, actor: User | None = None
) -> Assignment:
    """Reject submitted work with a reason the worker sees. Nothing is paid."""
    _reason_check(reason)
    locked = locks.assignment_for_update(pk=assignment.pk)
    if locked.status == Status.REJECTED:
        return locked
    if locked.status != Status.SUBMITTED:
        raise ApplicationError(
            "not_submitted",
            f"An assignment that is {locked.status} cannot be rejected.",
            status=409,
        )
    locked.status = Status.REJECTED
    locked.reviewed_at = timezone.now()
    locked.rejection_reason = reason.strip()
    locked.save(update_fields=["status", "reviewed_at", "rejection_reason"])
    workers.worker_record_review(worker=locked.worker, approved=False)
    return locked


BONUS_REASON_MAX = 1_000


def assignment_bonus(
    *,
    assignment: Assignment,
    amount_mills: int,
    reason: str,
    unique_request_token: str,
    actor: User | None = None,
) -> tuple[Bonus, bool]:
    """Pay the worker of an answered assignment a bonus from the requester's available balance,
    with a reason the worker sees. Returns (bonus, created): the same token again returns the
    first bonus unchanged (409 `idempotency_conflict` if it asked for another one)."""
    reason = reason.strip()
    if not reason:
        raise ApplicationError("reason_required", "Say why the bonus is given.", field="reason")
    if assignment.status not in Assignment.ANSWERED:
        raise ApplicationError("not_submitted", "A bonus is given for submitted work.", status=409)
    organization = assignment.job.organization
    asked = {"assignment_id": assignment.pk, "amount_mills": amount_mills, "reason": reason}
    try:
        with transaction.atomic():
            bonus = Bonus.objects.create(
                organization=organization,
                unique_request_token=unique_request_token,
                paid_by=actor,
                **asked,
            )
            payments.bonus_pay(
                payer=organization.ledger_owner,
                payee_owner=assignment.worker.ledger_owner,
                amount_mills=amount_mills,
                idempotency_key=f"bonus:{organization.pk}:{unique_request_token}",
            )
    except IntegrityError:
        # The token was used before (or by a request committed meanwhile): a retry.
        bonus = Bonus.objects.get(
            organization=organization, unique_request_token=unique_request_token
        )
        if {name: getattr(bonus, name) for name in asked} != asked:
            raise ApplicationError(
                "idempotency_conflict",
                "This unique_request_token was used for another bonus.",
                field="unique_request_token",
                status=409,
            ) from None
        return bonus, False
    return bonus, True


def _reason_check(reason: str) -> None:
    if not reason.strip():
        raise ApplicationError("reason_required", "Say why the work is rejected.", field="reason")


@dataclass(frozen=True)
class ReviewResult:
    """What a bulk review did to one id: the assignment's status afterwards (None when the id
    is not one of the caller's), and the error that refused it, if any."""

    id: int
    status: str | None
    error: ApplicationError | None = None


def assignments_approve_many(
    *, assignments: QuerySet[Assignment], ids: list[int], actor: User | None = None
) -> list[ReviewResult]:
    """Approve each id found in `assignments` (the caller's scope), each in its own
    transaction, as `assignment_approve` does one."""
    return _review_each(
        assignments=assignments,
        ids=ids,
        review=lambda assignment: assignment_approve(assignment=assignment, actor=actor),
    )


def assignments_reject_many(
    *, assignments: QuerySet[Assignment], ids: list[int], reason: str, actor: User | None = None
) -> list[ReviewResult]:
    """Reject each id found in `assignments` (the caller's scope) with one reason, each in its
    own transaction, as `assignment_reject` does one."""
    _reason_check(reason)
    return _review_each(
        assignments=assignments,
        ids=ids,
        review=lambda assignment: assignment_reject(
            assignment=assignment, reason=reason, actor=actor
        ),
    )


def _review_each(
    *,
    assignments: QuerySet[Assignment],
    ids: list[int],
    review: Callable[[Assignment], Assignment],
) -> list[ReviewResult]:
    if len(ids) > BULK_REVIEW_MAX:
        raise ApplicationError(
            "too_many", f"Review at most {BULK_REVIEW_MAX} assignments at once.", field="ids"
        )
    ids = list(dict.fromkeys(ids))
    found = {assignment.pk: assignment for assignment in assignments.filter(pk__in=ids)}
    results = []
    for pk in ids:
        assignment = found.get(pk)
        if assignment is None:
            error = ApplicationError("not_found", "No such assignment.", status=404)
            results.append(ReviewResult(id=pk, status=None, error=error))
            continue
        try:
            reviewed = review(assignment)
        except ApplicationError as error:
            status = Assignment.objects.filter(pk=pk).values_list("status", flat=True).first()
            results.append(ReviewResult(id=pk, status=status, error=error))
        else:
            results.append(ReviewResult(id=pk, status=reviewed.status))
    return results


def assignments_auto_approve(*, limit: int = 1000) -> int:
    """Approve work that waited longer than its job's auto-approval delay, each in its own
    transaction; work reviewed meanwhile is left as the requester decided. Returns how many
    this call approved."""
    submitted = Assignment.objects.filter(status=Status.SUBMITTED)
    due_condition = deadlines.deadline_condition(
        start="submitted_at",
        seconds="job__auto_approval_delay_seconds",
        values=submitted.values_list("job__auto_approval_delay_seconds", flat=True)
        .order_by()
        .distinct(),
        now=timezone.now(),
        passed=True,
    )
    due = submitted.filter(due_condition).order_by("pk").values_list("pk", "data_object_id")[:limit]
    approved = 0
    for pk, data_object_id in list(due):
        try:
            approved += _assignment_auto_approve(pk=pk, data_object_id=data_object_id)
        except ApplicationError as error:
            logger.warning("Assignment %s not auto-approved: %s", pk, error.message)
    return approved


@transaction.atomic
def _assignment_auto_approve(*, pk: int, data_object_id: int) -> bool:
    data_object = locks.data_object_for_update(pk=data_object_id)
    locked = locks.assignment_for_update(pk=pk)
    if locked.status != Status.SUBMITTED:
        return False
    _approve_locked(data_object=data_object, assignment=locked, reversal=False)
    return True
