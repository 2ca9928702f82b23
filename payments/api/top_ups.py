"""Requesters top up their balance by card: POST opens a Stripe Checkout page and answers with
its address; the balance is credited only when Stripe's webhook says it was paid."""

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from marketplace.api_views import ScopedListApi
from payments import money, selectors
from payments.models import TopUp
from payments.services import funding
from workforce.permissions import IsRequester


class TopUpInput(serializers.Serializer):
    amount = serializers.CharField(help_text='USD as a decimal string, for example "25.00".')
    success_url = serializers.URLField(required=False, max_length=2000)
    cancel_url = serializers.URLField(required=False, max_length=2000)

    def validate_amount(self, value: str) -> int:
        try:
            return money.parse_usd(value)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from None


class TopUpOutput(serializers.ModelSerializer):
    amount = serializers.SerializerMethodField()

    class Meta:
        model = TopUp
        fields = ["id", "amount", "amount_mills", "status", "checkout_url", "created_at"]

    def get_amount(self, top_up: TopUp) -> str:
        return money.format_usd(top_up.amount_mills)


class TopUpListCreateApi(ScopedListApi):
    permission_classes = [IsRequester]
    serializer_class = TopUpOutput
    model = TopUp

    def scoped_queryset(self) -> QuerySet[TopUp]:
        return selectors.top_up_list_for(owner=self.request.organization.ledger_owner)

    @extend_schema(request=TopUpInput, responses={201: TopUpOutput})
    def post(self, request: Request) -> Response:
        payload = TopUpInput(data=request.data)
        payload.is_valid(raise_exception=True)
        console = request.build_absolute_uri(reverse("jobs-list"))
        top_up = funding.top_up_create(
            owner=request.organization.ledger_owner,
            requested_by=request.user,
            amount_mills=payload.validated_data["amount"],
            success_url=payload.validated_data.get("success_url", f"{console}?top_up=paid"),
            cancel_url=payload.validated_data.get("cancel_url", f"{console}?top_up=cancelled"),
        )
        return Response(TopUpOutput(top_up).data, status=status.HTTP_201_CREATED)
