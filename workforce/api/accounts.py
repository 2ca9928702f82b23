"""API keys for the signed-in user: list their own, create one (the plain key is shown once),
revoke one. Any signed-in user may call these, with a session or a key."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api_views import ScopedListApi
from workforce.models import ApiKey, Role
from workforce.selectors import accounts as selectors
from workforce.services import accounts as services


class ApiKeyOutput(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "roles", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = fields


class ApiKeyCreatedOutput(ApiKeyOutput):
    key = serializers.SerializerMethodField(help_text="The plain key. It is shown only once.")

    class Meta(ApiKeyOutput.Meta):
        fields = [*ApiKeyOutput.Meta.fields, "key"]
        read_only_fields = fields

    def get_key(self, obj: ApiKey) -> str:
        return self.context["raw_key"]


class ApiKeyCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=Role.choices),
        allow_empty=False,
        required=False,
        help_text="Roles the key acts in: a subset of your roles (default: all of them).",
    )


def _acting_key(request: Request) -> ApiKey | None:
    return request.auth if isinstance(request.auth, ApiKey) else None


class ApiKeyListCreateApi(ScopedListApi):
    serializer_class = ApiKeyOutput
    model = ApiKey

    def scoped_queryset(self):
        return selectors.api_key_list_for(user=self.request.user)

    @extend_schema(request=ApiKeyCreateInput, responses={201: ApiKeyCreatedOutput})
    def post(self, request: Request) -> Response:
        payload = ApiKeyCreateInput(data=request.data)
        payload.is_valid(raise_exception=True)
        key, raw_key = services.api_key_issue(
            user=request.user, acting_key=_acting_key(request), **payload.validated_data
        )
        return Response(
            ApiKeyCreatedOutput(key, context={"raw_key": raw_key}).data,
            status=status.HTTP_201_CREATED,
        )


class ApiKeyRevokeApi(APIView):
    @extend_schema(request=None, responses=ApiKeyOutput)
    def post(self, request: Request, pk: int) -> Response:
        key = selectors.api_key_get_for(user=request.user, pk=pk)
        key = services.api_key_revoke(key=key)
        return Response(ApiKeyOutput(key).data)


urlpatterns = [
    path("api-keys", ApiKeyListCreateApi.as_view(), name="api-key-list"),
    path("api-keys/<int:pk>/revoke", ApiKeyRevokeApi.as_view(), name="api-key-revoke"),
]
