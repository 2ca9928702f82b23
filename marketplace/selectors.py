from django.db.models import QuerySet
from django.http import Http404

from marketplace.models import Job, Membership, Organization
from workforce.models import User


def organization_for(*, user: User) -> Organization | None:
    """The requester organisation the user acts for: their first membership."""
    if not user.is_authenticated:
        return None
    membership = (
        Membership.objects.filter(user=user).select_related("organization").order_by("pk").first()
    )
    return membership.organization if membership else None


def job_list_for(*, organization: Organization) -> QuerySet[Job]:
    return Job.objects.filter(organization=organization).order_by("-created_at", "-pk")


def job_get_for(*, organization: Organization, name: str) -> Job:
    """The organisation's job by name (case-insensitive); 404 for anyone else's."""
    job = job_list_for(organization=organization).filter(name__iexact=name).first()
    if job is None:
        raise Http404("No such labeling job.")
    return job
