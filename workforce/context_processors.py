from django.utils.functional import SimpleLazyObject

from workforce.selectors import accounts as selectors


def roles(request) -> dict:
    """`roles`: the signed-in user's roles, for the navigation. The MFA middleware reads them
    once per request; a request that did not pass through it (mail rendered outside a request)
    reads them here, only if the template asks."""
    held = getattr(request, "roles", None)
    if held is None:
        held = SimpleLazyObject(
            lambda: (
                selectors.roles_of(user=request.user)
                if getattr(request, "user", None) and request.user.is_authenticated
                else set()
            )
        )
    return {"roles": held}
