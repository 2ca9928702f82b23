from django.utils.functional import SimpleLazyObject

from workforce.selectors import accounts as selectors


def roles(request) -> dict:
    """`roles`: the signed-in user's roles, for the navigation; read only when a page uses it."""
    return {
        "roles": SimpleLazyObject(
            lambda: (
                selectors.roles_of(user=request.user) if request.user.is_authenticated else set()
            )
        )
    }
