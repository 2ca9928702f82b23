"""Offering vendor jobs to vendors: offer, accept (choosing a team), decline, withdraw."""

from django.db import transaction

from marketplace.models import Job, VendorOffer
from workforce.models import User


@transaction.atomic
def vendor_offer_create(*, job: Job, created_by: User) -> VendorOffer:
    """Offer a vendor job to its vendor at the job's price per object."""
    return VendorOffer.objects.create(
        job=job,
        vendor=job.vendor,
        price_per_object_mills=job.vendor_price_per_object_mills,
        created_by=created_by,
    )
