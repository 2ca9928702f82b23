from allauth.mfa.models import Authenticator
from django.db.models import QuerySet
from django.http import Http404

from workforce.models import (
    ApiKey,
    Membership,
    Organization,
    Role,
    TeamMember,
    User,
    Vendor,
    VendorManager,
    Worker,
)

# Roles whose holders must protect their account with an authenticator app.
MFA_ROLES = frozenset({Role.VENDOR_MANAGER, Role.FINANCE})


def worker_for(*, user: User) -> Worker | None:
    """The user's worker profile if they may take tasks: terms accepted and not banned."""
    if not user.is_authenticated:
        return None
    if User.worker.related.is_cached(user):  # read along with an API key
        worker = getattr(user, "worker", None)
    else:
        worker = Worker.objects.filter(user=user).first()
    if worker is None or worker.terms_accepted_at is None or worker.banned_at is not None:
        return None
    return worker


def api_key_list_for(*, user: User) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(user=user).order_by("-created_at")


def api_key_get_for(*, user: User, pk: int) -> ApiKey:
    """One of the user's own keys; 404 for anyone else's."""
    key = api_key_list_for(user=user).filter(pk=pk).first()
    if key is None:
        raise Http404("No such API key.")
    return key


def organization_for(*, user: User) -> Organization | None:
    """The requester organisation the user acts for: their first membership."""
    if not user.is_authenticated:
        return None
    membership = (
        Membership.objects.filter(user=user).select_related("organization").order_by("pk").first()
    )
    return membership.organization if membership else None


def vendor_for(*, user: User) -> Vendor | None:
    """The vendor organisation the user manages: their first one."""
    if not user.is_authenticated:
        return None
    role = VendorManager.objects.filter(user=user).select_related("vendor").order_by("pk").first()
    return role.vendor if role else None


def mfa_enabled(*, user: User) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def roles_of(*, user: User) -> set[str]:
    """Every role the user holds now."""
    roles = set()
    if organization_for(user=user) is not None:
        roles.add(Role.REQUESTER)
    if worker_for(user=user) is not None:
        roles.add(Role.WORKER)
    if vendor_for(user=user) is not None:
        roles.add(Role.VENDOR_MANAGER)
    if user.is_finance:
        roles.add(Role.FINANCE)
    if user.is_staff:
        roles.add(Role.ADMIN)
    return roles


def team_memberships_for(*, worker: Worker) -> QuerySet[TeamMember]:
    """The teams the worker belongs to, with the organisation or vendor that owns each."""
    return (
        TeamMember.objects.filter(worker=worker)
        .select_related("team__organization", "team__vendor")
        .order_by("team__name", "pk")
    )


def vendor_list() -> QuerySet[Vendor]:
    """Every vendor organisation a requester can offer work to."""
    return Vendor.objects.order_by("name", "pk")
