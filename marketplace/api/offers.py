"""Vendor offers API. Requesters list their offers, offer a job again after a decline or a
withdrawal, and withdraw pending offers (`vendor-offers`); vendor managers list the offers made
to their vendor and accept (choosing a team) or decline them (`vendor/offers`).

A vendor sees of the requester's job only what it needs to decide: title, description, task
type, size, workers per object, price and progress."""

import django_filters
from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace import selectors as jobs
from marketplace.api_views import ScopedListApi
from marketplace.models import Job, VendorOffer
from marketplace.services import offers as services
from payments import money
from workforce.permissions import IsRequester, IsVendorManager

# --- serializers ---------------------------------------------------------------------------------


class OfferCreateInput(serializers.Serializer):
    job = serializers.CharField(max_length=63, help_text="The name of one of your vendor jobs.")


class OfferAcceptInput(serializers.Serializer):
    team_id = serializers.IntegerField(help_text="One of your teams: it works the job.")


class OfferDeclineInput(serializers.Serializer):
    # Required and length-checked by the service, for the console pages as well.
    reason = serializers.CharField(allow_blank=True, help_text="The requester sees it.")


class RequesterOfferOutput(serializers.ModelSerializer):
    job = serializers.CharField(source="job.name")
    vendor = serializers.SerializerMethodField()
    price_per_object = serializers.SerializerMethodField()
    team = serializers.SerializerMethodField()

    class Meta:
        model = VendorOffer
        fields = [
            "id", "job", "vendor", "price_per_object", "status", "team", "created_at",
            "responded_at", "decline_reason",
        ]  # fmt: skip

    def get_vendor(self, offer: VendorOffer) -> dict[str, str]:
        return {"slug": offer.vendor.slug, "name": offer.vendor.name}

    def get_price_per_object(self, offer: VendorOffer) -> str:
        return money.format_usd(offer.price_per_object_mills)

    def get_team(self, offer: VendorOffer) -> str | None:
        """The vendor's team that works the job, once the offer is accepted."""
        return offer.team.name if offer.team_id else None


class OfferedJobOutput(serializers.ModelSerializer):
    label_counters = serializers.DictField(child=serializers.IntegerField(), read_only=True)

    class Meta:
        model = Job
        fields = [
            "id", "title", "description", "task_type", "status", "object_count",
            "workers_per_object", "label_counters",
        ]  # fmt: skip


class VendorOfferOutput(serializers.ModelSerializer):
    job = OfferedJobOutput()
    price_per_object = serializers.SerializerMethodField()
    team = serializers.SerializerMethodField()

    class Meta:
        model = VendorOffer
        fields = [
            "id", "job", "price_per_object", "status", "team", "created_at", "responded_at",
            "decline_reason",
        ]  # fmt: skip

    def get_price_per_object(self, offer: VendorOffer) -> str:
        return money.format_usd(offer.price_per_object_mills)

    def get_team(self, offer: VendorOffer) -> dict | None:
        return {"id": offer.team_id, "name": offer.team.name} if offer.team_id else None


class RequesterOfferFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=VendorOffer.Status.choices)
    job = django_filters.CharFilter(field_name="job__name", lookup_expr="iexact")

    class Meta:
        model = VendorOffer
        fields = ["status", "job"]


class VendorOfferFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=VendorOffer.Status.choices)

    class Meta:
        model = VendorOffer
        fields = ["status"]


# --- requester -----------------------------------------------------------------------------------


class RequesterOfferListCreateApi(ScopedListApi):
    permission_classes = [IsRequester]
    serializer_class = RequesterOfferOutput
    filterset_class = RequesterOfferFilter
    model = VendorOffer

    def scoped_queryset(self):
        return jobs.vendor_offer_list_for_organization(organization=self.request.organization)

    @extend_schema(request=OfferCreateInput, responses={201: RequesterOfferOutput})
    def post(self, request: Request) -> Response:
        """Offer a vendor job to its vendor again, after its last offer was declined or
        withdrawn."""
        payload = OfferCreateInput(data=request.data)
        payload.is_valid(raise_exception=True)
        name = payload.validated_data["job"]
        job = jobs.job_get_for(organization=request.organization, name=name)
        offer = services.vendor_offer_create(job=job, created_by=request.user)
        return Response(RequesterOfferOutput(offer).data, status=status.HTTP_201_CREATED)


class RequesterOfferDetailApi(APIView):
    permission_classes = [IsRequester]

    @extend_schema(responses=RequesterOfferOutput)
    def get(self, request: Request, pk: int) -> Response:
        offer = jobs.vendor_offer_get_for_organization(organization=request.organization, pk=pk)
        return Response(RequesterOfferOutput(offer).data)


class RequesterOfferWithdrawApi(APIView):
    permission_classes = [IsRequester]

    @extend_schema(request=None, responses=RequesterOfferOutput)
    def post(self, request: Request, pk: int) -> Response:
        offer = jobs.vendor_offer_get_for_organization(organization=request.organization, pk=pk)
        offer = services.vendor_offer_withdraw(offer=offer, withdrawn_by=request.user)
        return Response(RequesterOfferOutput(offer).data)


# --- vendor manager ------------------------------------------------------------------------------


@extend_schema_view(get=extend_schema(operation_id="v1_vendor_side_offers_list"))
class VendorOfferListApi(ScopedListApi):
    permission_classes = [IsVendorManager]
    serializer_class = VendorOfferOutput
    filterset_class = VendorOfferFilter
    model = VendorOffer

    def scoped_queryset(self):
        return jobs.vendor_offer_list_for_vendor(vendor=self.request.vendor)


class VendorOfferDetailApi(APIView):
    permission_classes = [IsVendorManager]

    @extend_schema(responses=VendorOfferOutput, operation_id="v1_vendor_side_offers_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        offer = jobs.vendor_offer_get_for_vendor(vendor=request.vendor, pk=pk)
        return Response(VendorOfferOutput(offer).data)


class VendorOfferAcceptApi(APIView):
    permission_classes = [IsVendorManager]

    @extend_schema(request=OfferAcceptInput, responses=VendorOfferOutput)
    def post(self, request: Request, pk: int) -> Response:
        payload = OfferAcceptInput(data=request.data)
        payload.is_valid(raise_exception=True)
        offer = jobs.vendor_offer_get_for_vendor(vendor=request.vendor, pk=pk)
        team = services.vendor_team_get(vendor=request.vendor, pk=payload.validated_data["team_id"])
        offer = services.vendor_offer_accept(offer=offer, team=team, responded_by=request.user)
        return Response(VendorOfferOutput(offer).data)


class VendorOfferDeclineApi(APIView):
    permission_classes = [IsVendorManager]

    @extend_schema(request=OfferDeclineInput, responses=VendorOfferOutput)
    def post(self, request: Request, pk: int) -> Response:
        payload = OfferDeclineInput(data=request.data)
        payload.is_valid(raise_exception=True)
        offer = jobs.vendor_offer_get_for_vendor(vendor=request.vendor, pk=pk)
        offer = services.vendor_offer_decline(
            offer=offer, reason=payload.validated_data["reason"], responded_by=request.user
        )
        return Response(VendorOfferOutput(offer).data)


urlpatterns = [
    path("vendor-offers", RequesterOfferListCreateApi.as_view(), name="vendor-offer-list"),
    path("vendor-offers/<int:pk>", RequesterOfferDetailApi.as_view(), name="vendor-offer-detail"),
    path(
        "vendor-offers/<int:pk>/withdraw",
        RequesterOfferWithdrawApi.as_view(),
        name="vendor-offer-withdraw",
    ),
    path("vendor/offers", VendorOfferListApi.as_view(), name="vendor-side-offer-list"),
    path("vendor/offers/<int:pk>", VendorOfferDetailApi.as_view(), name="vendor-side-offer-detail"),
    path(
        "vendor/offers/<int:pk>/accept",
        VendorOfferAcceptApi.as_view(),
        name="vendor-side-offer-accept",
    ),
    path(
        "vendor/offers/<int:pk>/decline",
        VendorOfferDeclineApi.as_view(),
        name="vendor-side-offer-decline",
    ),
]
