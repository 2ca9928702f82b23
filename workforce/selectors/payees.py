"""What payments needs to know of a payee (a worker or a vendor) to review its payouts.

Payments reads this through settings.PAYOUT_PAYEE_FACTS, so it imports no other app.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Sum
from django.http import Http404

from workforce.models import Vendor, Worker


@dataclass(frozen=True)
class PayeeFacts:
    joined_at: datetime
    approved_count: int
    rejected_count: int
    gold_answered_count: int
    gold_correct_count: int
    name: str


COUNTERS = ("approved_count", "rejected_count", "gold_answered_count", "gold_correct_count")


def payee_facts(*, owner: str) -> PayeeFacts:
    """A worker's own counters; a vendor's are summed over the workers of its teams."""
    kind, _, number = owner.partition(":")
    if not number.isdigit():
        raise Http404(f"No payee {owner}.")
    if kind == "worker":
        worker = Worker.objects.select_related("user").filter(pk=int(number)).first()
        if worker is None:
            raise Http404(f"No payee {owner}.")
        counters = (getattr(worker, name) for name in COUNTERS)
        return PayeeFacts(worker.created_at, *counters, name=str(worker))
    if kind == "vendor":
        vendor = Vendor.objects.filter(pk=int(number)).first()
        if vendor is None:
            raise Http404(f"No payee {owner}.")
        workers = Worker.objects.filter(
            pk__in=Worker.objects.filter(team_memberships__team__vendor=vendor).values("pk")
        )
        totals = workers.aggregate(**{name: Sum(name) for name in COUNTERS})
        counters = (totals[name] or 0 for name in COUNTERS)
        return PayeeFacts(vendor.created_at, *counters, name=vendor.name)
    raise Http404(f"No payee {owner}.")
