"""The secret that signs requests to an organisation's HTTPS annotation hooks:
`/api/v1/hook-secret` shows it, `/api/v1/hook-secret/rotate` replaces it."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from workforce.permissions import IsRequester
from workforce.services import accounts as services

SIGNATURE_HEADER = "Groundwork-Signature"


class HookSecretOutput(serializers.Serializer):
    secret = serializers.CharField(
        help_text="HMAC-SHA256 key of the signature header sent with every hook request."
    )
    signature_header = serializers.CharField(
        help_text="\"t=<unix seconds>,v1=<hex HMAC of '<t>.<body>'>\""
    )


def _output(secret: str) -> Response:
    return Response(HookSecretOutput({"secret": secret, "signature_header": SIGNATURE_HEADER}).data)


class HookSecretApi(APIView):
    permission_classes = [IsRequester]

    @extend_schema(responses=HookSecretOutput)
    def get(self, request: Request) -> Response:
        return _output(services.organization_hook_secret(organization=request.organization))


class HookSecretRotateApi(APIView):
    permission_classes = [IsRequester]

    @extend_schema(request=None, responses=HookSecretOutput)
    def post(self, request: Request) -> Response:
        return _output(services.organization_hook_secret_rotate(organization=request.organization))


urlpatterns = [
    path("hook-secret", HookSecretApi.as_view(), name="hook-secret"),
    path("hook-secret/rotate", HookSecretRotateApi.as_view(), name="hook-secret-rotate"),
]
