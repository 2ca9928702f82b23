"""An ended job's escrow: what it may still pay stays, the rest goes back to the requester.

A job that ended (Completed, Stopped, Failed) may still pay for answers not reviewed yet (they
are approved by hand or automatically) and for rejections that can still be reversed. Its escrow
keeps exactly that; everything above goes back to the requester's available balance, at once
when the job ends and again, by beat, as answers are paid or their reversal window closes. Once
nothing is left to pay, the job is marked settled and beat no longer looks at it.
"""

from django.db.models import Q
from django.utils import timezone

from marketplace.models import Job
from payments.services import ledger as payments
from tasks.models import Assignment, DataObject
from tasks.services.review import REVERSAL_WINDOW, approval_cost_mills

ENDED = (Job.Status.COMPLETED, Job.Status.STOPPED, Job.Status.FAILED)


def job_cost_still_payable_mills(*, job: Job, now=None) -> int:
    """The most the job may still pay from its escrow, priced as approval pays: each payable
    answer at the price of an approval, and each object with a payable answer and none
    approved yet at what its first approval costs on top (review.approval_cost_mills)."""
    now = now or timezone.now()
    payable = Assignment.objects.filter(job=job).filter(
        Q(status=Assignment.Status.SUBMITTED)
        | Q(status=Assignment.Status.REJECTED, reviewed_at__gt=now - REVERSAL_WINDOW)
    )
    per_answer = approval_cost_mills(job=job, first_for_object=False)
    per_object = approval_cost_mills(job=job, first_for_object=True) - per_answer
    objects = (
        DataObject.objects.filter(job=job, is_gold=False, assignments__in=payable)
        .exclude(assignments__status=Assignment.Status.APPROVED)
        .distinct()
        .count()
    )
    return payable.count() * per_answer + objects * per_object


def job_escrow_settle(*, job: Job) -> bool:
    """Return what the ended job's escrow holds beyond what it may still pay; mark the job
    settled once it may pay nothing more. Returns whether it is settled. Safe to run again and
    beside another run (the escrow's lock decides)."""
    if job.status not in ENDED or job.escrow_settled_at is not None:
        return job.escrow_settled_at is not None
    keep = job_cost_still_payable_mills(job=job)
    payments.escrow_return(
        escrow_owner=job.ledger_escrow_owner,
        payer=job.organization.ledger_owner,
        keep_mills=keep,
    )
    if keep:
        return False
    Job.objects.filter(pk=job.pk, escrow_settled_at__isnull=True).update(
        escrow_settled_at=timezone.now()
    )
    return True


def jobs_escrow_settle_due() -> int:
    """Beat: settle every ended job not settled yet. Returns how many became settled."""
    settled = 0
    for job in Job.objects.filter(status__in=ENDED, escrow_settled_at__isnull=True).select_related(
        "organization"
    ):
        settled += job_escrow_settle(job=job)
    return settled
