"""Teams API: a requester organisation's private teams (`workteams`, as Ground Truth names
them) and a vendor's teams (`vendor/teams`). One set of views serves both; each URL tells it
which permission applies and which owner (`request.organization` or `request.vendor`) the
teams belong to."""

import django_filters
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api_views import ScopedListApi
from workforce.models import Invitation, Team, TeamMember
from workforce.permissions import IsRequester, IsVendorManager
from workforce.selectors import teams as selectors
from workforce.selectors.teams import InvitationStatus, TeamOwner
from workforce.services import teams as services

# --- serializers ---------------------------------------------------------------------------------


class TeamCreateInput(serializers.Serializer):
    # Length and uniqueness are checked by the service, for the pages as well.
    name = serializers.CharField(allow_blank=True, trim_whitespace=True)


class TeamOutput(serializers.ModelSerializer):
    member_count = serializers.IntegerField(read_only=True)
    pending_invitation_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Team
        fields = ["id", "name", "member_count", "pending_invitation_count", "created_at"]


class TeamMemberOutput(serializers.ModelSerializer):
    worker_id = serializers.CharField(source="worker.public_id")
    email = serializers.EmailField(source="worker.user.email")
    display_name = serializers.CharField(source="worker.display_name")

    class Meta:
        model = TeamMember
        fields = ["worker_id", "email", "display_name", "joined_at"]


class InvitationCreateInput(serializers.Serializer):
    """1–100 addresses. Each is checked by the service, which names every bad one."""

    emails = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=True), allow_empty=True
    )


class InvitationOutput(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=InvitationStatus.choices, read_only=True)
    invited_by = serializers.EmailField(source="invited_by.email", read_only=True)

    class Meta:
        model = Invitation
        fields = [
            "id", "email", "status", "invited_by", "created_at", "expires_at", "accepted_at",
            "revoked_at",
        ]  # fmt: skip


class InvitationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(field_name="status", choices=InvitationStatus.choices)

    class Meta:
        model = Invitation
        fields = ["status"]


# --- views ---------------------------------------------------------------------------------------


class TeamOwnedMixin:
    """Set per URL with `as_view(permission_classes=[...], owner_attribute=...)`: the request
    attribute the permission filled with the owner of the teams."""

    owner_attribute = "organization"

    def owner(self) -> TeamOwner:
        return getattr(self.request, self.owner_attribute)

    def team(self) -> Team:
        return selectors.team_get_for(owner=self.owner(), pk=self.kwargs["team_id"])


class TeamListApi(TeamOwnedMixin, ScopedListApi):
    serializer_class = TeamOutput
    model = Team

    def scoped_queryset(self):
        return selectors.team_list_for(owner=self.owner())

    @extend_schema(request=TeamCreateInput, responses={201: TeamOutput})
    def post(self, request: Request) -> Response:
        payload = TeamCreateInput(data=request.data)
        payload.is_valid(raise_exception=True)
        team = services.team_create(owner=self.owner(), **payload.validated_data)
        team = selectors.team_get_for(owner=self.owner(), pk=team.pk)
        return Response(TeamOutput(team).data, status=status.HTTP_201_CREATED)


class TeamDetailApi(TeamOwnedMixin, APIView):
    @extend_schema(responses=TeamOutput)
    def get(self, request: Request, team_id: int) -> Response:
        return Response(TeamOutput(self.team()).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, team_id: int) -> Response:
        services.team_delete(team=self.team())
        return Response(status=status.HTTP_204_NO_CONTENT)


class TeamMemberListApi(TeamOwnedMixin, ScopedListApi):
    serializer_class = TeamMemberOutput
    model = TeamMember

    def scoped_queryset(self):
        return selectors.team_member_list_for(team=self.team())


class TeamMemberDetailApi(TeamOwnedMixin, APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, team_id: int, worker_pk: int) -> Response:
        member = selectors.team_member_get_for(team=self.team(), worker_pk=worker_pk)
        services.team_member_remove(member=member)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationListApi(TeamOwnedMixin, ScopedListApi):
    """Invitations to the team, newest first; `?status=pending|accepted|revoked|expired`."""

    serializer_class = InvitationOutput
    filterset_class = InvitationFilter
    model = Invitation

    def scoped_queryset(self):
        return selectors.invitation_list_for(team=self.team())

    @extend_schema(request=InvitationCreateInput, responses={201: InvitationOutput(many=True)})
    def post(self, request: Request, team_id: int) -> Response:
        """Invite 1–100 addresses, all or none; each gets a link by email."""
        payload = InvitationCreateInput(data=request.data)
        payload.is_valid(raise_exception=True)
        team = self.team()
        created = services.team_invite(
            team=team, invited_by=request.user, emails=payload.validated_data["emails"]
        )
        invitations = selectors.invitation_list_for(team=team).filter(
            pk__in=[invitation.pk for invitation in created]
        )
        return Response(
            InvitationOutput(invitations.order_by("pk"), many=True).data,
            status=status.HTTP_201_CREATED,
        )


class InvitationRevokeApi(TeamOwnedMixin, APIView):
    @extend_schema(request=None, responses=InvitationOutput)
    def post(self, request: Request, team_id: int, pk: int) -> Response:
        team = self.team()
        invitation = selectors.invitation_get_for(team=team, pk=pk)
        services.invitation_revoke(invitation=invitation)
        return Response(InvitationOutput(selectors.invitation_get_for(team=team, pk=pk)).data)


# --- urls ----------------------------------------------------------------------------------------


def _team_urls(*, prefix: str, name: str, **owned) -> list:
    return [
        path(prefix, TeamListApi.as_view(**owned), name=f"{name}-list"),
        path(f"{prefix}/<int:team_id>", TeamDetailApi.as_view(**owned), name=f"{name}-detail"),
        path(
            f"{prefix}/<int:team_id>/members",
            TeamMemberListApi.as_view(**owned),
            name=f"{name}-members",
        ),
        path(
            f"{prefix}/<int:team_id>/members/<int:worker_pk>",
            TeamMemberDetailApi.as_view(**owned),
            name=f"{name}-member",
        ),
        path(
            f"{prefix}/<int:team_id>/invitations",
            InvitationListApi.as_view(**owned),
            name=f"{name}-invitations",
        ),
        path(
            f"{prefix}/<int:team_id>/invitations/<int:pk>/revoke",
            InvitationRevokeApi.as_view(**owned),
            name=f"{name}-invitation-revoke",
        ),
    ]


urlpatterns = [
    *_team_urls(
        prefix="workteams",
        name="workteam",
        permission_classes=[IsRequester],
        owner_attribute="organization",
    ),
    *_team_urls(
        prefix="vendor/teams",
        name="vendor-team",
        permission_classes=[IsVendorManager],
        owner_attribute="vendor",
    ),
]
