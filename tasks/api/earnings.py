"""A payee's money: `worker/earnings`, `worker/payouts`, `worker/payout-account` for workers, and
`vendor/payouts`, `vendor/payout-account` for vendor managers (`vendor/earnings` is mounted in
tasks/api/vendor.py with the vendor's other reads). Each reads and acts on the caller's own
ledger owner only, so another payee's money never shows."""

from django.urls import path, reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api_views import ScopedListApi
from marketplace.pagination import Pagination
from payments import money
from payments import selectors as payments
from payments.models import Payout
from payments.services import payouts as payout_services
from tasks import earnings
from workforce.permissions import IsVendorManager, IsWorker

BALANCES = ("pending", "available", "in_payout", "paid")


class EarningOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="The earning's ledger transaction.")
    kind = serializers.ChoiceField(choices=["reward", "bonus"])
    amount = serializers.SerializerMethodField(help_text='USD as a decimal string, e.g. "0.050".')
    amount_mills = serializers.IntegerField()
    approved_at = serializers.DateTimeField(
        help_text="When the work was approved or the bonus paid."
    )
    state = serializers.ChoiceField(
        choices=["pending", "available", "in_payout", "paid"],
        help_text="Where the money is: on hold, available, in a payout not sent yet, or paid.",
    )
    available_from = serializers.DateTimeField(
        allow_null=True, help_text="While pending: when the hold (EARNINGS_HOLD_DAYS) is over."
    )
    released_at = serializers.DateTimeField(allow_null=True)
    payout_id = serializers.IntegerField(source="payout.pk", allow_null=True, default=None)
    assignment_id = serializers.IntegerField(source="assignment.pk", allow_null=True, default=None)
    job_name = serializers.CharField(source="job.name", allow_null=True, default=None)
    job_title = serializers.CharField(source="job.title", allow_null=True, default=None)
    bonus_reason = serializers.CharField(source="bonus.reason", allow_null=True, default=None)

    def get_amount(self, earning: earnings.Earning) -> str:
        return money.format_usd(earning.amount_mills)


class PayeeEarningsOutput(serializers.Serializer):
    pending = serializers.CharField(help_text="USD on hold after approval, as a decimal string.")
    pending_mills = serializers.IntegerField()
    available = serializers.CharField(help_text="USD ready to be paid out.")
    available_mills = serializers.IntegerField()
    in_payout = serializers.CharField(help_text="USD in a payout that is not sent yet.")
    in_payout_mills = serializers.IntegerField()
    paid = serializers.CharField(help_text="USD sent in payouts.")
    paid_mills = serializers.IntegerField()
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = EarningOutput(many=True, help_text="The earnings, newest first.")


class PayoutOutput(serializers.ModelSerializer):
    amount = serializers.SerializerMethodField(help_text="USD.")

    class Meta:
        model = Payout
        fields = [
            "id", "amount", "amount_mills", "status", "rail", "trigger", "created_at",
            "sent_at", "paid_at", "failed_at", "failure_reason",
        ]  # fmt: skip

    def get_amount(self, payout: Payout) -> str:
        return money.format_usd(payout.amount_mills)


class PayoutAccountOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["none", "onboarding", "ready", "restricted"])
    requirements_due = serializers.ListField(
        child=serializers.CharField(), help_text="What Stripe still needs from the payee."
    )
    rail = serializers.ChoiceField(
        choices=Payout.Rail.choices,
        help_text="stripe: payouts go to the connected account; manual: the platform pays by "
        "bank transfer and no payout account is needed.",
    )


class OnboardingOutput(serializers.Serializer):
    onboarding_url = serializers.URLField(help_text="Stripe's onboarding page: redirect there.")


def balances_output(owner: str) -> dict:
    balances = payments.payee_balances_mills(owner=owner)
    output = {}
    for name in BALANCES:
        output[name] = money.format_usd(balances[name])
        output[f"{name}_mills"] = balances[name]
    return output


class PayeeApi:
    """Whose money the caller acts for: the worker or vendor its permission put on the request,
    and the page Stripe's onboarding sends them back to."""

    payee: str  # the request attribute the permission sets: "worker" or "vendor"
    page_name: str

    def owner_of(self, request: Request) -> str:
        return getattr(request, self.payee).ledger_owner

    def page_url(self, request: Request, onboarding: str) -> str:
        return request.build_absolute_uri(f"{reverse(self.page_name)}?onboarding={onboarding}")


class WorkerApi(PayeeApi):
    permission_classes = [IsWorker]
    payee = "worker"
    page_name = "tasks:earnings"


class VendorApi(PayeeApi):
    permission_classes = [IsVendorManager]
    payee = "vendor"
    page_name = "vendor-earnings"


class EarningsApi(APIView):
    """The payee's balances, and the earnings behind them, newest first (paginated)."""

    @extend_schema(responses=PayeeEarningsOutput)
    def get(self, request: Request) -> Response:
        owner = self.owner_of(request)
        paginator = Pagination()
        entries = paginator.paginate_queryset(
            earnings.earning_entry_list_for(owner=owner), request, view=self
        )
        described = earnings.earnings_described(entries=entries)
        return Response(
            {
                **balances_output(owner),
                "count": paginator.page.paginator.count,
                "next": paginator.get_next_link(),
                "previous": paginator.get_previous_link(),
                "results": EarningOutput(described, many=True).data,
            }
        )


class PayoutsApi(ScopedListApi):
    """GET: the payee's payouts, newest first. POST: ask for a payout of the available balance
    now (it goes to finance review)."""

    serializer_class = PayoutOutput
    model = Payout

    def scoped_queryset(self):
        return payments.payout_list_for(owner=self.owner_of(self.request))

    @extend_schema(request=None, responses={201: PayoutOutput})
    def post(self, request: Request) -> Response:
        payout = payout_services.payout_request(owner=self.owner_of(request))
        return Response(PayoutOutput(payout).data, status=status.HTTP_201_CREATED)


class PayoutAccountApi(APIView):
    """GET: the payout account's status. POST: start (or continue) Stripe onboarding."""

    @extend_schema(responses=PayoutAccountOutput)
    def get(self, request: Request) -> Response:
        account = payments.payout_account_for(owner=self.owner_of(request))
        return Response(
            PayoutAccountOutput(
                {
                    "status": account.status if account is not None else "none",
                    "requirements_due": account.requirements_due if account is not None else [],
                    "rail": payments.payout_rail(),
                }
            ).data
        )

    @extend_schema(request=None, responses=OnboardingOutput)
    def post(self, request: Request) -> Response:
        url = payout_services.payout_account_connect(
            owner=self.owner_of(request),
            email=request.user.email,
            refresh_url=self.page_url(request, "expired"),
            return_url=self.page_url(request, "done"),
        )
        return Response(OnboardingOutput({"onboarding_url": url}).data)


class WorkerEarningsApi(WorkerApi, EarningsApi):
    pass


class WorkerPayoutsApi(WorkerApi, PayoutsApi):
    pass


class WorkerPayoutAccountApi(WorkerApi, PayoutAccountApi):
    pass


class VendorEarningsApi(VendorApi, EarningsApi):
    pass


class VendorPayoutsApi(VendorApi, PayoutsApi):
    pass


class VendorPayoutAccountApi(VendorApi, PayoutAccountApi):
    pass


urlpatterns = [
    path("worker/earnings", WorkerEarningsApi.as_view(), name="worker-earnings"),
    path("worker/payouts", WorkerPayoutsApi.as_view(), name="worker-payouts"),
    path("worker/payout-account", WorkerPayoutAccountApi.as_view(), name="worker-payout-account"),
    path("vendor/payouts", VendorPayoutsApi.as_view(), name="vendor-payouts"),
    path("vendor/payout-account", VendorPayoutAccountApi.as_view(), name="vendor-payout-account"),
]
