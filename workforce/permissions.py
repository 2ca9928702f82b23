from rest_framework.permissions import BasePermission

from workforce.selectors import accounts as selectors


class IsWorker(BasePermission):
    """A worker who accepted the terms and is not banned. The profile is kept on the request."""

    message = "Only workers who accepted the worker terms can do this."

    def has_permission(self, request, view) -> bool:
        request.worker = selectors.worker_for(user=request.user)
        return request.worker is not None


class IsRequester(BasePermission):
    """A member of a requester organisation. The organisation is kept on the request."""

    def has_permission(self, request, view) -> bool:
        request.organization = selectors.organization_for(user=request.user)
        return request.organization is not None
