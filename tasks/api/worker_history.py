"""A worker's own answered work: `/api/v1/worker/assignments`, newest first, with how it was
reviewed (the rejection reason included) and what it pays."""

import django_filters
from django.urls import path
from rest_framework import serializers

from marketplace.api_views import ScopedListApi
from tasks import selectors
from tasks.models import Assignment
from workforce.permissions import IsWorker


class WorkerBonusOutput(serializers.Serializer):
    amount = serializers.CharField(source="amount_usd", help_text="USD.")
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class WorkerAssignmentHistoryOutput(serializers.ModelSerializer):
    job_id = serializers.IntegerField()
    job_title = serializers.CharField(source="job.title")
    reward = serializers.SerializerMethodField(
        help_text="The reward in USD for public jobs; null for teams and vendors."
    )
    bonuses = WorkerBonusOutput(many=True, help_text="Bonuses the requester paid for it.")

    class Meta:
        model = Assignment
        fields = [
            "id", "job_id", "job_title", "status", "submitted_at", "reviewed_at",
            "rejection_reason", "rejection_reversed_at", "reward", "bonuses",
        ]  # fmt: skip

    def get_reward(self, assignment: Assignment) -> str | None:
        return assignment.job.public_reward_usd


class WorkerAssignmentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=[(status.value, status.label) for status in Assignment.ANSWERED]
    )


class WorkerAssignmentListApi(ScopedListApi):
    permission_classes = [IsWorker]
    serializer_class = WorkerAssignmentHistoryOutput
    filterset_class = WorkerAssignmentFilter
    model = Assignment

    def scoped_queryset(self):
        return selectors.assignment_list_for_worker(worker=self.request.worker)


urlpatterns = [
    path("worker/assignments", WorkerAssignmentListApi.as_view(), name="worker-assignment-list"),
]
