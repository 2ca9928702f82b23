from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace import selectors as jobs
from marketplace.api_views import ScopedListApi
from marketplace.models import Job
from tasks import selectors, services
from tasks.api.serializers import (
    JobBoardOutput,
    RejectInput,
    ReviewAssignmentOutput,
    WorkerAssignmentOutput,
)
from tasks.models import Assignment
from workforce.permissions import IsRequester, IsWorker


class JobBoardApi(ScopedListApi):
    permission_classes = [IsWorker]
    serializer_class = JobBoardOutput
    model = Job

    def scoped_queryset(self):
        return selectors.job_board_for(worker=self.request.worker)


class AssignmentClaimApi(APIView):
    permission_classes = [IsWorker]

    @extend_schema(request=None, responses={201: WorkerAssignmentOutput, 204: None})
    def post(self, request: Request, job_id: int) -> Response:
        job = jobs.job_get_eligible_for(worker=request.worker, pk=job_id)
        assignment, created = services.assignment_claim(worker=request.worker, job=job)
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(
            WorkerAssignmentOutput(assignment, context={"request": request}).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class WorkerAssignmentDetailApi(APIView):
    permission_classes = [IsWorker]

    @extend_schema(responses=WorkerAssignmentOutput)
    def get(self, request: Request, pk: int) -> Response:
        assignment = selectors.assignment_get_for_worker(worker=request.worker, pk=pk)
        return Response(WorkerAssignmentOutput(assignment, context={"request": request}).data)


class AssignmentSubmitApi(APIView):
    """The body is the answer in Ground Truth's shape, e.g.
    `{"crowd-image-classifier": {"label": "cat"}}`."""

    permission_classes = [IsWorker]

    @extend_schema(request=dict, responses=WorkerAssignmentOutput)
    def post(self, request: Request, pk: int) -> Response:
        assignment = selectors.assignment_get_for_worker(worker=request.worker, pk=pk)
        assignment = services.assignment_submit(assignment=assignment, answer=request.data)
        return Response(WorkerAssignmentOutput(assignment, context={"request": request}).data)


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
