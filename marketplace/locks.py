from marketplace.models import Job, VendorOffer


def job_for_update(*, pk: int) -> Job:
    # FOR NO KEY UPDATE: new assignments and data objects take FOR KEY SHARE on their job row
    # (the foreign key check), which a plain FOR UPDATE would block.
    return Job.objects.select_for_update(of=("self",), no_key=True).get(pk=pk)


def vendor_offer_for_update(*, pk: int) -> VendorOffer:
    return VendorOffer.objects.select_for_update(of=("self",)).select_related("job").get(pk=pk)
