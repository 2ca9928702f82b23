from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from workforce.services import accounts as services


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer gw_<prefix>_<secret>`."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="replace")
        scheme, _, raw_key = header.partition(" ")
        if scheme.lower() != self.keyword.lower():  # auth schemes are case-insensitive
            return None
        key = services.api_key_authenticate(raw_key=raw_key.strip())
        if key is None:
            raise exceptions.AuthenticationFailed("The API key is not valid or was revoked.")
        return key.user, key

    def authenticate_header(self, request) -> str:
        return self.keyword


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes API keys."""

    target_class = ApiKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "gw_<prefix>_<secret>",
            "description": "An API key: `Authorization: Bearer gw_...`.",
        }
