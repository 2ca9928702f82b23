"""The vendor's view of its workforce: each worker's throughput, quality and the earnings they
generated (`vendor/workers`), and the vendor's own balances and earnings (`vendor/earnings`, in
tasks/api/earnings.py with the vendor's payouts and payout account)."""

from django.urls import path
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from marketplace.api_views import ScopedListApi
from tasks import vendor_stats
from tasks.api import earnings
from workforce.models import Worker
from workforce.permissions import IsVendorManager


class VendorWorkerOutput(serializers.Serializer):
    worker_id = serializers.CharField()
    display_name = serializers.CharField()
    teams = serializers.ListField(child=serializers.CharField())
    tasks_submitted = serializers.IntegerField(source="submitted")
    tasks_approved = serializers.IntegerField(source="approved")
    tasks_rejected = serializers.IntegerField(source="rejected")
    tasks_submitted_last_7_days = serializers.IntegerField(source="submitted_recently")
    median_seconds_per_task = serializers.FloatField(allow_null=True)
    approval_rate_percent = serializers.FloatField(allow_null=True)
    gold_accuracy_percent = serializers.FloatField(allow_null=True)
    skill_accuracy = serializers.FloatField(
        allow_null=True,
        help_text="Accuracy estimated from agreement (Dawid-Skene), 0 to 1, averaged over the "
        "requesters the worker answered for, weighted by answers.",
    )
    earnings_generated = serializers.CharField(
        source="earnings_usd", help_text='USD as a decimal string, e.g. "0.050".'
    )


class VendorWorkerListApi(ScopedListApi):
    """The vendor's workers (members of its teams) with their statistics on its jobs."""

    permission_classes = [IsVendorManager]
    serializer_class = VendorWorkerOutput
    model = Worker

    def scoped_queryset(self):
        return vendor_stats.vendor_worker_list_for(vendor=self.request.vendor)

    def list(self, request: Request, *args, **kwargs) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        statistics = vendor_stats.vendor_worker_statistics(vendor=request.vendor, workers=page)
        return self.get_paginated_response(VendorWorkerOutput(statistics, many=True).data)


urlpatterns = [
    path("vendor/workers", VendorWorkerListApi.as_view(), name="vendor-worker-list"),
    path("vendor/earnings", earnings.VendorEarningsApi.as_view(), name="vendor-earnings"),
]
