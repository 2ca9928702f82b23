"""Requesters review the work submitted on their jobs: `/api/v1/labeling-jobs/{name}/assignments`
lists it; approve and reject act on one assignment."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace import selectors as jobs
from marketplace.api_views import ScopedListApi
from tasks import selectors, services
from tasks.models import Assignment
from workforce.permissions import IsRequester


class ReviewAssignmentOutput(serializers.ModelSerializer):
    worker_id = serializers.CharField(source="worker.public_id")
    dataset_object_id = serializers.IntegerField(source="data_object.position")
    source_ref = serializers.CharField(source="data_object.source_ref")
    time_spent_seconds = serializers.FloatField()

    class Meta:
        model = Assignment
        fields = [
            "id", "worker_id", "dataset_object_id", "source_ref", "status", "answer",
            "accepted_at", "submitted_at", "time_spent_seconds", "reviewed_at", "rejection_reason",
        ]  # fmt: skip


class RejectInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class ReviewListApi(ScopedListApi):
    permission_classes = [IsRequester]
    serializer_class = ReviewAssignmentOutput
    filterset_fields = ["status"]
    model = Assignment

    def scoped_queryset(self):
        organization = self.request.organization
        job = jobs.job_get_for(organization=organization, name=self.kwargs["name"])
        return selectors.assignment_list_for_review(organization=organization, job=job)


class AssignmentApproveApi(APIView):
    permission_classes = [IsRequester]

    @extend_schema(request=None, responses=ReviewAssignmentOutput)
    def post(self, request: Request, name: str, pk: int) -> Response:
        job = jobs.job_get_for(organization=request.organization, name=name)
        assignment = selectors.assignment_get_for_review(
            organization=request.organization, job=job, pk=pk
        )
        assignment = services.assignment_approve(assignment=assignment, actor=request.user)
        return Response(ReviewAssignmentOutput(assignment).data)


class AssignmentRejectApi(APIView):
    permission_classes = [IsRequester]

    @extend_schema(request=RejectInput, responses=ReviewAssignmentOutput)
    def post(self, request: Request, name: str, pk: int) -> Response:
        payload = RejectInput(data=request.data)
        payload.is_valid(raise_exception=True)
        job = jobs.job_get_for(organization=request.organization, name=name)
        assignment = selectors.assignment_get_for_review(
            organization=request.organization, job=job, pk=pk
        )
        assignment = services.assignment_reject(
            assignment=assignment, actor=request.user, **payload.validated_data
        )
        return Response(ReviewAssignmentOutput(assignment).data)


urlpatterns = [
    path("labeling-jobs/<str:name>/assignments", ReviewListApi.as_view(), name="review-list"),
    path(
        "labeling-jobs/<str:name>/assignments/<int:pk>/approve",
        AssignmentApproveApi.as_view(),
        name="review-approve",
    ),
    path(
        "labeling-jobs/<str:name>/assignments/<int:pk>/reject",
        AssignmentRejectApi.as_view(),
        name="review-reject",
    ),
]
