"""The input manifest's error report: every bad line of a failed job's manifest, as JSON Lines."""

import json

from django.http import Http404, StreamingHttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from marketplace import selectors as jobs
from marketplace.errors import ApplicationError
from tasks import storage
from workforce.permissions import IsRequester

JSONL = "application/jsonl"


class JsonLinesRenderer(BaseRenderer):
    """Lets a client ask for `Accept: application/jsonl`; an error body is then one JSON line."""

    media_type = JSONL
    format = "jsonl"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return b"" if data is None else json.dumps(data).encode() + b"\n"


class ManifestErrorsApi(APIView):
    """Every bad line of the job's input manifest, one `{"line": n, "reason": "..."}` a line.
    404 when the job's manifest had no bad line."""

    permission_classes = [IsRequester]
    renderer_classes = [JSONRenderer, JsonLinesRenderer]

    @extend_schema(responses={(200, JSONL): OpenApiTypes.BINARY})
    def get(self, request: Request, name: str) -> StreamingHttpResponse:
        job = jobs.job_get_for(organization=request.organization, name=name)
        if not job.failure_report_uri:
            raise Http404("This labeling job has no manifest error report.")
        try:
            chunks = storage.iter_chunks(job.failure_report_uri)
        except storage.StorageErrors:
            raise ApplicationError(
                "report_unavailable",
                "The manifest error report cannot be read right now; try again later.",
                status=503,
            ) from None
        response = StreamingHttpResponse(chunks, content_type=JSONL)
        response["Content-Disposition"] = f'attachment; filename="{job.name}-input-errors.jsonl"'
        return response


urlpatterns = [
    path(
        "labeling-jobs/<str:name>/manifest-errors",
        ManifestErrorsApi.as_view(),
        name="manifest-errors",
    ),
]
