"""Review of submitted work: approval (paid from the job's escrow, exactly once), rejection with a
reason the worker sees, and automatic approval after the job's delay."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField, ExpressionWrapper, F
from django.utils import timezone

from marketplace.errors import ApplicationError
from marketplace.models import Job
from payments import services as payments
from payments.models import LedgerAccount
from tasks import locks
from tasks.models import Assignment
from workforce.models import User
from workforce.services import workers

Kind = LedgerAccount.Kind


@transaction.atomic
def assignment_approve(*, assignment: Assignment, actor: User | None = None) -> Assignment:
    """Approve submitted work and pay it from the job's escrow, exactly once."""
    data_object = locks.data_object_for_update(pk=assignment.data_object_id)
    locked = locks.assignment_for_update(pk=assignment.pk)
    if locked.status == Assignment.Status.APPROVED:
        return locked
    if locked.status != Assignment.Status.SUBMITTED:
        raise ApplicationError(
            "not_submitted",
            f"An assignment that is {locked.status} cannot be approved.",
            status=409,
        )
    first_for_object = not data_object.assignments.filter(
        status=Assignment.Status.APPROVED
    ).exists()
    locked.status = Assignment.Status.APPROVED
    locked.reviewed_at = timezone.now()
    locked.save(update_fields=["status", "reviewed_at"])
    _approval_pay(assignment=locked, first_for_object=first_for_object)
    workers.worker_record_review(worker=locked.worker, approved=True)
    return locked


def _approval_pay(*, assignment: Assignment, first_for_object: bool) -> None:
    """Public jobs pay each approved answer's reward to its worker; vendor jobs pay the vendor's
    price once per object; private teams are not paid by the platform. The service fee is
    taken once per object."""
    job = assignment.job
    service_fee = settings.SERVICE_FEE_PER_OBJECT_MILLS if first_for_object else 0
    payee_kind, payee_owner, amount = Kind.WORKER_PENDING, assignment.worker.ledger_owner, 0
    if job.workforce == Job.Workforce.PUBLIC:
        amount = job.reward_per_task_mills
    elif job.workforce == Job.Workforce.VENDOR and first_for_object:
        payee_kind, payee_owner = Kind.VENDOR_PENDING, job.vendor.ledger_owner
        amount = job.vendor_price_per_object_mills
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
def assignment_reject(*, assignment: Assignment, reason: str, actor: User | None = None):
    """Reject submitted work with a reason the worker sees. Nothing is paid."""
    if not reason.strip():
        raise ApplicationError("reason_required", "Say why the work is rejected.", field="reason")
    locked = locks.assignment_for_update(pk=assignment.pk)
    if locked.status == Assignment.Status.REJECTED:
        return locked
    if locked.status != Assignment.Status.SUBMITTED:
        raise ApplicationError(
            "not_submitted",
            f"An assignment that is {locked.status} cannot be rejected.",
            status=409,
        )
    locked.status = Assignment.Status.REJECTED
    locked.reviewed_at = timezone.now()
    locked.rejection_reason = reason.strip()
    locked.save(update_fields=["status", "reviewed_at", "rejection_reason"])
    workers.worker_record_review(worker=locked.worker, approved=False)
    return locked


def assignments_auto_approve(*, limit: int = 1000) -> int:
    """Approve work that waited longer than its job's auto-approval delay."""
    due_at = ExpressionWrapper(
        F("submitted_at") + F("job__auto_approval_delay_seconds") * timedelta(seconds=1),
        output_field=DateTimeField(),
    )
    due = (
        Assignment.objects.filter(status=Assignment.Status.SUBMITTED)
        .alias(due_at=due_at)
        .filter(due_at__lte=timezone.now())
        .order_by("pk")[:limit]
    )
    approved = 0
    for assignment in due:
        assignment_approve(assignment=assignment)
        approved += 1
    return approved
