import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace import selectors
from marketplace.api.serializers import JobOutput, JobSpecInput
from marketplace.api_views import ScopedListApi
from marketplace.models import Job
from marketplace.services import jobs as services
from payments import money
from payments import selectors as ledger
from payments.models import LedgerAccount
from workforce.permissions import IsRequester


class JobFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Job.Status.choices)
    name_contains = django_filters.CharFilter(field_name="name", lookup_expr="icontains")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Job
        fields = ["status"]


class JobListCreateApi(ScopedListApi):
    permission_classes = [IsRequester]
    serializer_class = JobOutput
    filterset_class = JobFilter
    model = Job

    def scoped_queryset(self):
        return selectors.job_list_for(organization=self.request.organization)

    @extend_schema(request=JobSpecInput, responses={201: JobOutput})
    def post(self, request: Request) -> Response:
        payload = JobSpecInput(data=request.data)
        payload.is_valid(raise_exception=True)
        job = services.job_create(
            organization=request.organization, created_by=request.user, spec=payload.validated_data
        )
        return Response(JobOutput(job).data, status=status.HTTP_201_CREATED)


class JobStopApi(APIView):
    permission_classes = [IsRequester]

    @extend_schema(request=None, responses=JobOutput)
    def post(self, request: Request, name: str) -> Response:
        job = selectors.job_get_for(organization=request.organization, name=name)
        job = services.job_stop(job=job, actor=request.user, reason="Stopped by the requester.")
        return Response(JobOutput(job).data)


class JobDetailApi(APIView):
    permission_classes = [IsRequester]

    @extend_schema(responses=JobOutput)
    def get(self, request: Request, name: str) -> Response:
        job = selectors.job_get_for(organization=request.organization, name=name)
        return Response(JobOutput(job).data)


class BalanceApi(APIView):
    permission_classes = [IsRequester]

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        available = ledger.balance_mills(
            kind=LedgerAccount.Kind.REQUESTER_AVAILABLE, owner=request.organization.ledger_owner
        )
        return Response({"available": money.format_usd(available), "available_mills": available})
