"""Who may call an API view. Each permission keeps what it found on the request
(`request.organization`, `request.worker`, `request.vendor`) for the view to scope its reads.

A request made with an API key acts only in the roles the key was given.
"""

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from workforce.models import ApiKey, Role
from workforce.selectors import accounts as selectors


def _key_allows(request, role: str) -> bool:
    key = request.auth if isinstance(request.auth, ApiKey) else None
    return key is None or role in key.roles


def _require_mfa(request) -> None:
    """Finance staff and vendor managers must have an authenticator app set up."""
    if not selectors.mfa_enabled(user=request.user):
        raise PermissionDenied(
            detail="Set up two-factor authentication (an authenticator app) to continue.",
            code="mfa_required",
        )


class IsRequester(BasePermission):
    """A member of a requester organisation."""

    def has_permission(self, request, view) -> bool:
        request.organization = selectors.organization_for(user=request.user)
        return request.organization is not None and _key_allows(request, Role.REQUESTER)


class IsWorker(BasePermission):
    """A worker who accepted the terms and is not banned."""

    message = "Only workers who accepted the worker terms can do this."

    def has_permission(self, request, view) -> bool:
        request.worker = selectors.worker_for(user=request.user)
        return request.worker is not None and _key_allows(request, Role.WORKER)


class IsVendorManager(BasePermission):
    """A manager of a vendor organisation, with two-factor authentication set up."""

    def has_permission(self, request, view) -> bool:
        request.vendor = selectors.vendor_for(user=request.user)
        if request.vendor is None or not _key_allows(request, Role.VENDOR_MANAGER):
            return False
        _require_mfa(request)
        return True


class IsFinance(BasePermission):
    """Platform finance staff, with two-factor authentication set up."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user.is_authenticated and user.is_finance and _key_allows(request, Role.FINANCE)):
            return False
        _require_mfa(request)
        return True
