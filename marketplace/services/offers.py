"""Offering vendor jobs to vendors: offer, accept (choosing a team), decline, withdraw.

A vendor job has at most one live offer (pending or accepted) at a time; a declined or
withdrawn offer can be followed by a new one. Each transition locks the offer row and checks
`VendorOffer.TRANSITIONS` under the lock, so of two racing responses exactly one wins.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplace import locks
from marketplace.errors import ApplicationError
from marketplace.models import Job, VendorOffer
from workforce.models import Team, User, Vendor

ENDED_JOB_STATUSES = frozenset(
    {Job.Status.COMPLETED, Job.Status.STOPPING, Job.Status.STOPPED, Job.Status.FAILED}
)
LIVE_STATUSES = (VendorOffer.Status.PENDING, VendorOffer.Status.ACCEPTED)
DECLINE_REASON_MAX_LENGTH = 2000


def _unknown_team() -> ApplicationError:
    return ApplicationError("unknown_team", "Choose one of your own teams.", field="team_id")


def _live_offer_exists() -> ApplicationError:
    return ApplicationError(
        "offer_exists",
        "This job already has a pending or accepted vendor offer.",
        field="job",
        status=409,
    )


@transaction.atomic
def vendor_offer_create(*, job: Job, created_by: User) -> VendorOffer:
    """Offer a vendor job to its vendor at the job's price per object: when the job is created,
    and again after its last offer was declined or withdrawn."""
    if job.workforce != Job.Workforce.VENDOR:
        raise ApplicationError(
            "not_vendor_job", "Only jobs for a vendor workforce are offered.", field="job"
        )
    locked = locks.job_for_update(pk=job.pk)  # one offer decision per job at a time
    if locked.status in ENDED_JOB_STATUSES:
        raise ApplicationError(
            "job_ended", f"The job is {locked.status}; it cannot be offered.", status=409
        )
    if VendorOffer.objects.filter(job=locked, status__in=LIVE_STATUSES).exists():
        raise _live_offer_exists()
    try:
        with transaction.atomic():
            return VendorOffer.objects.create(
                job=locked,
                vendor_id=locked.vendor_id,
                price_per_object_mills=locked.vendor_price_per_object_mills,
                created_by=created_by,
            )
    except IntegrityError:  # the one-live-offer constraint: another offer won
        raise _live_offer_exists() from None


def _transition(
    *, offer: VendorOffer, to: VendorOffer.Status, actor: User | None, **fields
) -> VendorOffer:
    """Lock the offer, check the move under the lock, and record who answered and when."""
    locked = locks.vendor_offer_for_update(pk=offer.pk)
    if to not in VendorOffer.TRANSITIONS.get(locked.status, set()):
        raise ApplicationError(
            "invalid_transition",
            f"The offer is {locked.status} and cannot become {to}.",
            status=409,
        )
    if to == VendorOffer.Status.ACCEPTED and locked.job.status in ENDED_JOB_STATUSES:
        raise ApplicationError(
            "job_ended",
            f"The job is {locked.job.status}; it can no longer be taken on.",
            status=409,
        )
    locked.status = to
    locked.responded_at = timezone.now()
    locked.responded_by = actor
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.save(update_fields=["status", "responded_at", "responded_by", *fields])
    return locked


@transaction.atomic
def vendor_offer_accept(*, offer: VendorOffer, team: Team, responded_by: User) -> VendorOffer:
    """The vendor takes the job on: pending → accepted. `team` (one of the vendor's teams)
    works it, and the job appears on its members' job boards."""
    if team.vendor_id is None or team.vendor_id != offer.vendor_id:
        raise _unknown_team()
    return _transition(offer=offer, to=VendorOffer.Status.ACCEPTED, actor=responded_by, team=team)


@transaction.atomic
def vendor_offer_decline(*, offer: VendorOffer, reason: str, responded_by: User) -> VendorOffer:
    """The vendor turns the job down with a reason the requester sees: pending → declined."""
    reason = reason.strip()
    if not reason:
        raise ApplicationError("reason_required", "Say why the offer is declined.", field="reason")
    if len(reason) > DECLINE_REASON_MAX_LENGTH:
        raise ApplicationError(
            "reason_too_long",
            f"Keep the reason to {DECLINE_REASON_MAX_LENGTH} characters.",
            field="reason",
        )
    return _transition(
        offer=offer, to=VendorOffer.Status.DECLINED, actor=responded_by, decline_reason=reason
    )


@transaction.atomic
def vendor_offer_withdraw(*, offer: VendorOffer, withdrawn_by: User | None) -> VendorOffer:
    """The requester (or the platform, for a job that failed) takes back an offer the vendor has
    not answered: pending → withdrawn."""
    return _transition(offer=offer, to=VendorOffer.Status.WITHDRAWN, actor=withdrawn_by)


def vendor_team_get(*, vendor: Vendor, pk: int | None) -> Team:
    """The vendor's team chosen to work an offer; a 400 on `team_id` for any other team."""
    team = Team.objects.filter(vendor=vendor, pk=pk).first() if pk is not None else None
    if team is None:
        raise _unknown_team()
    return team
