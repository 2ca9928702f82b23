from django.db.models import QuerySet

from workforce.models import ApiKey, Membership, Organization, User, Worker


def worker_for(*, user: User) -> Worker | None:
    """The user's worker profile if they may take tasks: terms accepted and not banned."""
    if not user.is_authenticated:
        return None
    worker = Worker.objects.filter(user=user).first()
    if worker is None or worker.terms_accepted_at is None or worker.banned_at is not None:
        return None
    return worker


def api_key_list_for(*, user: User) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(user=user).order_by("-created_at")


def organization_for(*, user: User) -> Organization | None:
    """The requester organisation the user acts for: their first membership."""
    if not user.is_authenticated:
        return None
    membership = (
        Membership.objects.filter(user=user).select_related("organization").order_by("pk").first()
    )
    return membership.organization if membership else None
