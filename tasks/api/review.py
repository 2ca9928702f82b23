"""Requesters review the work submitted on their jobs: `/api/v1/labeling-jobs/{name}/assignments`
lists it; approve and reject act on one assignment, or on many with a result per id. Approving a
rejected assignment reverses the rejection (within the reversal window)."""

from django.urls import include, path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace import selectors as jobs
from marketplace.api_views import ScopedListApi
from payments import money
from tasks import selectors
from tasks.models import Assignment
from tasks.services import review as services
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
            "rejection_reversed_at", "is_gold", "gold_correct",
        ]  # fmt: skip


class RejectInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class BulkApproveInput(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        min_length=1,
        max_length=services.BULK_REVIEW_MAX,
    )


class BulkRejectInput(BulkApproveInput):
    reason = serializers.CharField(max_length=2000)


class BonusInput(serializers.Serializer):
    amount = serializers.CharField(help_text='USD as a decimal string, e.g. "0.500".')
    reason = serializers.CharField(max_length=services.BONUS_REASON_MAX)
    unique_request_token = serializers.CharField(
        max_length=64,
        help_text="Your own id for this bonus: sending it again pays nothing more.",
    )

    def validate_amount(self, value: str) -> int:
        try:
            mills = money.parse_usd(value)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from None
        if mills == 0:
            raise serializers.ValidationError("The amount must be positive.")
        return mills


class BonusOutput(serializers.Serializer):
    id = serializers.IntegerField()
    assignment_id = serializers.IntegerField()
    worker_id = serializers.CharField(source="assignment.worker.public_id")
    amount = serializers.CharField(source="amount_usd", help_text="USD.")
    reason = serializers.CharField()
    unique_request_token = serializers.CharField()
    created_at = serializers.DateTimeField()


class ReviewErrorOutput(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class ReviewResultOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Assignment.Status.choices, allow_null=True)
    error = ReviewErrorOutput(allow_null=True)


class BulkReviewOutput(serializers.Serializer):
    results = ReviewResultOutput(many=True)


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


class AssignmentBonusApi(APIView):
    """Pay the worker of an answered assignment a bonus from the organisation's available
    balance (plus the platform fee), with a reason the worker sees. 201 when paid; 200 with the
    same bonus when the token was sent before."""

    permission_classes = [IsRequester]

    @extend_schema(request=BonusInput, responses={201: BonusOutput, 200: BonusOutput})
    def post(self, request: Request, name: str, pk: int) -> Response:
        payload = BonusInput(data=request.data)
        payload.is_valid(raise_exception=True)
        job = jobs.job_get_for(organization=request.organization, name=name)
        assignment = selectors.assignment_get_for_review(
            organization=request.organization, job=job, pk=pk
        )
        bonus, created = services.assignment_bonus(
            assignment=assignment,
            amount_mills=payload.validated_data["amount"],
            reason=payload.validated_data["reason"],
            unique_request_token=payload.validated_data["unique_request_token"],
            actor=request.user,
        )
        return Response(
            BonusOutput(bonus).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class AssignmentApproveBulkApi(APIView):
    permission_classes = [IsRequester]

    @extend_schema(
        operation_id="v1_labeling_jobs_assignments_approve_bulk",
        request=BulkApproveInput,
        responses=BulkReviewOutput,
    )
    def post(self, request: Request, name: str) -> Response:
        payload = BulkApproveInput(data=request.data)
        payload.is_valid(raise_exception=True)
        job = jobs.job_get_for(organization=request.organization, name=name)
        results = services.assignments_approve_many(
            assignments=selectors.assignment_list_for_review(
                organization=request.organization, job=job
            ),
            ids=payload.validated_data["ids"],
            actor=request.user,
        )
        return Response(BulkReviewOutput({"results": results}).data)


class AssignmentRejectBulkApi(APIView):
    permission_classes = [IsRequester]

    @extend_schema(
        operation_id="v1_labeling_jobs_assignments_reject_bulk",
        request=BulkRejectInput,
        responses=BulkReviewOutput,
    )
    def post(self, request: Request, name: str) -> Response:
        payload = BulkRejectInput(data=request.data)
        payload.is_valid(raise_exception=True)
        job = jobs.job_get_for(organization=request.organization, name=name)
        results = services.assignments_reject_many(
            assignments=selectors.assignment_list_for_review(
                organization=request.organization, job=job
            ),
            actor=request.user,
            **payload.validated_data,
        )
        return Response(BulkReviewOutput({"results": results}).data)


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
    path(
        "labeling-jobs/<str:name>/assignments/<int:pk>/bonus",
        AssignmentBonusApi.as_view(),
        name="review-bonus",
    ),
    path(
        "labeling-jobs/<str:name>/assignments/approve",
        AssignmentApproveBulkApi.as_view(),
        name="review-approve-bulk",
    ),
    path(
        "labeling-jobs/<str:name>/assignments/reject",
        AssignmentRejectBulkApi.as_view(),
        name="review-reject-bulk",
    ),
    path("", include("tasks.api.worker_history")),
]
