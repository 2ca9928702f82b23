from marketplace.models import Job


def job_for_update(*, pk: int) -> Job:
    return Job.objects.select_for_update(of=("self",)).get(pk=pk)
