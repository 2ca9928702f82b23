"""Finance staff and vendor managers must protect their account with an authenticator app.

Until they have one, every page sends them to allauth's TOTP activation page with a message.
The account pages (sign-out, email, password and the MFA pages themselves), static files,
allauth's headless API, our API (its permissions answer 403 `mfa_required`) and the health
check stay reachable.
"""

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.functional import SimpleLazyObject

from workforce.selectors import accounts as selectors

MFA_SETUP_MESSAGE = (
    "Finance staff and vendor managers must use two-factor authentication. "
    "Set up an authenticator app to continue."
)

# allauth's pages (account, MFA, sign-out) are mounted at /accounts/ and its headless API at
# /_allauth/ (marketplace/urls.py).
EXEMPT_PREFIXES = ("/accounts/", "/_allauth/", "/api/", "/healthz")


class MfaRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.exempt_prefixes = (*EXEMPT_PREFIXES, settings.STATIC_URL)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The user's roles, read once per request and only if something asks (the navigation
        # asks on every page).
        request.roles = SimpleLazyObject(lambda: selectors.roles_of(user=request.user))
        if (
            not request.path.startswith(self.exempt_prefixes)
            and request.user.is_authenticated
            and not selectors.MFA_ROLES.isdisjoint(request.roles)
            and not selectors.mfa_enabled(user=request.user)
        ):
            messages.warning(request, MFA_SETUP_MESSAGE)
            return redirect("mfa_activate_totp")
        return self.get_response(request)
