"""Requesters block workers from their jobs: `/api/v1/worker-blocks`."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api_views import ScopedListApi
from marketplace.errors import ApplicationError
from workforce.models import WorkerBlock
from workforce.permissions import IsRequester
from workforce.selectors import workers as selectors
from workforce.services import workers as services


class WorkerBlockInput(serializers.Serializer):
    worker_id = serializers.CharField(max_length=40, help_text='As in work results: "worker-12".')
    reason = serializers.CharField(max_length=2000)


class WorkerBlockOutput(serializers.ModelSerializer):
    worker_id = serializers.CharField(source="worker.public_id")

    class Meta:
        model = WorkerBlock
        fields = ["id", "worker_id", "reason", "created_at"]


class WorkerBlockListCreateApi(ScopedListApi):
    permission_classes = [IsRequester]
    serializer_class = WorkerBlockOutput
    model = WorkerBlock

    def scoped_queryset(self):
        return selectors.worker_block_list_for(organization=self.request.organization)

    @extend_schema(request=WorkerBlockInput, responses={201: WorkerBlockOutput})
    def post(self, request: Request) -> Response:
        payload = WorkerBlockInput(data=request.data)
        payload.is_valid(raise_exception=True)
        worker = selectors.worker_get_by_public_id(public_id=payload.validated_data["worker_id"])
        if worker is None:
            raise ApplicationError("unknown_worker", "There is no such worker.", field="worker_id")
        block = services.worker_block_create(
            organization=request.organization,
            worker=worker,
            reason=payload.validated_data["reason"],
            created_by=request.user,
        )
        return Response(WorkerBlockOutput(block).data, status=status.HTTP_201_CREATED)


class WorkerBlockDetailApi(APIView):
    permission_classes = [IsRequester]

    @extend_schema(responses=WorkerBlockOutput)
    def get(self, request: Request, pk: int) -> Response:
        block = selectors.worker_block_get_for(organization=request.organization, pk=pk)
        return Response(WorkerBlockOutput(block).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        block = selectors.worker_block_get_for(organization=request.organization, pk=pk)
        services.worker_block_delete(block=block)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("worker-blocks", WorkerBlockListCreateApi.as_view(), name="worker-block-list"),
    path("worker-blocks/<int:pk>", WorkerBlockDetailApi.as_view(), name="worker-block-detail"),
]
