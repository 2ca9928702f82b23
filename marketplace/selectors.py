from django.db.models import QuerySet
from django.http import Http404

from marketplace.models import Job
from workforce.models import Organization


def job_list_for(*, organization: Organization) -> QuerySet[Job]:
    return Job.objects.filter(organization=organization).order_by("-created_at", "-pk")


def job_get_for(*, organization: Organization, name: str) -> Job:
    """The organisation's job by name (case-insensitive); 404 for anyone else's."""
    job = job_list_for(organization=organization).filter(name__iexact=name).first()
    if job is None:
        raise Http404("No such labeling job.")
    return job
