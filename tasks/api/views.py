from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace import selectors as jobs
from marketplace.api_views import ScopedListApi
from marketplace.models import Job
from tasks import selectors, services
from tasks.api.serializers import (
    AssignmentSubmitQuery,
    AssignmentSubmitWithNextOutput,
    JobBoardOutput,
    WorkerAssignmentOutput,
)
from workforce.permissions import IsWorker


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
    `{"crowd-image-classifier": {"label": "cat"}}`. With `?next=1` the worker's next task in
    the same job is leased too, and both are returned: `{"submitted": ..., "next": ...}`."""

    permission_classes = [IsWorker]

    @extend_schema(
        request=dict,
        parameters=[AssignmentSubmitQuery],
        responses=PolymorphicProxySerializer(
            component_name="AssignmentSubmitResult",
            serializers=[WorkerAssignmentOutput, AssignmentSubmitWithNextOutput],
            resource_type_field_name=None,
        ),
    )
    def post(self, request: Request, pk: int) -> Response:
        query = AssignmentSubmitQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        assignment = selectors.assignment_get_for_worker(worker=request.worker, pk=pk)
        context = {"request": request}
        if not query.validated_data["next"]:
            assignment = services.assignment_submit(assignment=assignment, answer=request.data)
            return Response(WorkerAssignmentOutput(assignment, context=context).data)
        submitted, following = services.assignment_submit_and_claim_next(
            assignment=assignment, answer=request.data
        )
        return Response(
            AssignmentSubmitWithNextOutput(
                {"submitted": submitted, "next": following}, context=context
            ).data
        )


class AssignmentDeclineApi(APIView):
    """The worker does not want this task: the object is never offered to them again."""

    permission_classes = [IsWorker]

    @extend_schema(request=None, responses=WorkerAssignmentOutput)
    def post(self, request: Request, pk: int) -> Response:
        assignment = selectors.assignment_get_for_worker(worker=request.worker, pk=pk)
        assignment = services.assignment_decline(assignment=assignment)
        return Response(WorkerAssignmentOutput(assignment, context={"request": request}).data)


class AssignmentReleaseApi(APIView):
    """ "Stop and resume later": the lease goes back to the queue."""

    permission_classes = [IsWorker]

    @extend_schema(request=None, responses=WorkerAssignmentOutput)
    def post(self, request: Request, pk: int) -> Response:
        assignment = selectors.assignment_get_for_worker(worker=request.worker, pk=pk)
        assignment = services.assignment_release(assignment=assignment)
        return Response(WorkerAssignmentOutput(assignment, context={"request": request}).data)
