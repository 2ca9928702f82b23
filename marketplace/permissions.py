from rest_framework.permissions import BasePermission

from marketplace import selectors


class IsRequester(BasePermission):
    """A member of a requester organisation. The organisation is kept on the request."""

    def has_permission(self, request, view) -> bool:
        request.organization = selectors.organization_for(user=request.user)
        return request.organization is not None
