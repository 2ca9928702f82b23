from marketplace.models import Job, VendorOffer


def job_for_update(*, pk: int) -> Job:
    return Job.objects.select_for_update(of=("self",)).get(pk=pk)


def vendor_offer_for_update(*, pk: int) -> VendorOffer:
    return VendorOffer.objects.select_for_update(of=("self",)).select_related("job").get(pk=pk)
