"""Finance staff (with two-factor authentication): `/api/v1/finance/...`.

The payout review queue and each payout's detail (the earnings it carries, what finance did,
the payee's balances), the review actions (approve, hold, reject, mark paid), the ledger
(transactions and accounts), the reconciliation with Stripe, and CSV statements.
"""

import django_filters
from django.db.models import Exists, OuterRef
from django.http import HttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api_views import ScopedListApi
from payments import money, reconciliation, selectors, statements
from payments.models import LedgerAccount, LedgerEntry, LedgerTransaction, Payout
from payments.services import payouts
from workforce.permissions import IsFinance

# Reconciliation reads Stripe page after page: a period is at most this long.
RECONCILIATION_MAX_DAYS = 366


# --- payouts -------------------------------------------------------------------------------------


class FinancePayoutOutput(serializers.ModelSerializer):
    amount = serializers.SerializerMethodField(help_text="USD, three decimals.")
    payout_account_status = serializers.SerializerMethodField(
        help_text="onboarding, ready or restricted; null without a payout account."
    )

    class Meta:
        model = Payout
        fields = [
            "id", "owner", "payee_name", "amount", "amount_mills", "status", "rail", "trigger",
            "flags", "payout_account_status", "created_at", "reviewed_at",
        ]  # fmt: skip

    def get_amount(self, payout: Payout) -> str:
        return money.format_usd(payout.amount_mills)

    def get_payout_account_status(self, payout: Payout) -> str | None:
        return payout.payout_account.status if payout.payout_account_id else None


class MoneyOutput(serializers.Serializer):
    amount = serializers.CharField(help_text="USD, three decimals.")
    amount_mills = serializers.IntegerField()


def money_output(mills: int) -> dict:
    return {"amount": money.format_usd(mills), "amount_mills": mills}


class PayoutEarningOutput(serializers.Serializer):
    key = serializers.CharField(help_text="The earning's ledger key.")
    kind = serializers.CharField()
    amount = serializers.CharField(help_text="What the payee earned by it, USD.")
    amount_mills = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    memo = serializers.CharField()


class FinanceActionOutput(serializers.Serializer):
    who = serializers.EmailField()
    when = serializers.DateTimeField()
    what = serializers.CharField()
    note = serializers.CharField()
    detail = serializers.JSONField()


class PayeeBalancesOutput(serializers.Serializer):
    pending = MoneyOutput()
    available = MoneyOutput()
    in_payout = MoneyOutput()
    paid = MoneyOutput()


class FinancePayoutDetailOutput(FinancePayoutOutput):
    earnings = serializers.SerializerMethodField()
    history = serializers.SerializerMethodField()
    balances = serializers.SerializerMethodField()

    class Meta(FinancePayoutOutput.Meta):
        fields = [
            *FinancePayoutOutput.Meta.fields, "transfer_id", "reference", "failure_reason",
            "sent_at", "paid_at", "failed_at", "earnings", "history", "balances",
        ]  # fmt: skip

    @extend_schema_field(PayoutEarningOutput(many=True))
    def get_earnings(self, payout: Payout) -> list[dict]:
        return PayoutEarningOutput(payout_earning_rows(payout), many=True).data

    @extend_schema_field(FinanceActionOutput(many=True))
    def get_history(self, payout: Payout) -> list[dict]:
        return [
            {
                "who": action.actor.email,
                "when": action.created_at,
                "what": action.action,
                "note": action.note,
                "detail": action.detail,
            }
            for action in selectors.payout_actions(payout=payout)
        ]

    @extend_schema_field(PayeeBalancesOutput)
    def get_balances(self, payout: Payout) -> dict:
        balances = selectors.payee_balances_mills(owner=payout.owner)
        return {name: money_output(mills) for name, mills in balances.items()}


def payout_earning_rows(payout: Payout) -> list[dict]:
    """Each earning the payout carries, with the amount the payee earned by it."""
    return [
        {
            "key": earning.idempotency_key,
            "kind": earning.kind,
            "amount": money.format_usd(earning.payee_mills or 0),
            "amount_mills": earning.payee_mills or 0,
            "created_at": earning.created_at,
            "memo": earning.memo,
        }
        for earning in selectors.payout_earnings_with_amounts(payout=payout)
    ]


class PayoutFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Payout.Status.choices)
    flagged = django_filters.BooleanFilter(method="filter_flagged", help_text="Has flags.")

    class Meta:
        model = Payout
        fields = ["status", "flagged"]

    def filter_flagged(self, queryset, name, value):
        return queryset.exclude(flags=[]) if value else queryset.filter(flags=[])


class PayoutNoteInput(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class PayoutMarkPaidInput(PayoutNoteInput):
    reference = serializers.CharField(
        required=False, allow_blank=True, max_length=255, default="",
        help_text="The payment's reference on the manual rail (a bank transfer's id).",
    )  # fmt: skip


class FinancePayoutListApi(ScopedListApi):
    """The review queue, oldest first."""

    permission_classes = [IsFinance]
    serializer_class = FinancePayoutOutput
    filterset_class = PayoutFilter
    model = Payout

    def scoped_queryset(self):
        return selectors.payout_list()


class FinancePayoutDetailApi(APIView):
    permission_classes = [IsFinance]

    @extend_schema(responses=FinancePayoutDetailOutput)
    def get(self, request: Request, pk: int) -> Response:
        return Response(FinancePayoutDetailOutput(selectors.payout_get(pk=pk)).data)


class _FinancePayoutActionApi(APIView):
    """One review decision on a payout: parse, fetch, one service call, the payout after it."""

    permission_classes = [IsFinance]
    input_class: type[serializers.Serializer] = PayoutNoteInput
    service = None  # the payouts service the decision calls

    def post(self, request: Request, pk: int) -> Response:
        payload = self.input_class(data=request.data)
        payload.is_valid(raise_exception=True)
        payout = selectors.payout_get(pk=pk)
        payout = type(self).service(payout=payout, actor=request.user, **payload.validated_data)
        return Response(FinancePayoutDetailOutput(payout).data)


def _action_schema(input_class):
    return extend_schema_view(
        post=extend_schema(request=input_class, responses=FinancePayoutDetailOutput)
    )


@_action_schema(PayoutNoteInput)
class FinancePayoutApproveApi(_FinancePayoutActionApi):
    service = payouts.payout_approve


@_action_schema(PayoutNoteInput)
class FinancePayoutHoldApi(_FinancePayoutActionApi):
    service = payouts.payout_hold


@_action_schema(PayoutNoteInput)
class FinancePayoutRejectApi(_FinancePayoutActionApi):
    service = payouts.payout_reject


@_action_schema(PayoutMarkPaidInput)
class FinancePayoutMarkPaidApi(_FinancePayoutActionApi):
    input_class = PayoutMarkPaidInput
    service = payouts.payout_mark_paid


# --- the ledger ----------------------------------------------------------------------------------


class LedgerEntryOutput(serializers.ModelSerializer):
    account_kind = serializers.CharField(source="account.kind")
    owner = serializers.CharField(source="account.owner")
    amount = serializers.SerializerMethodField(help_text="USD, three decimals.")

    class Meta:
        model = LedgerEntry
        fields = ["account_id", "account_kind", "owner", "amount", "amount_mills"]

    def get_amount(self, entry: LedgerEntry) -> str:
        return money.format_usd(entry.amount_mills)


class LedgerTransactionOutput(serializers.ModelSerializer):
    key = serializers.CharField(source="idempotency_key")
    entries = serializers.SerializerMethodField()

    class Meta:
        model = LedgerTransaction
        fields = ["id", "key", "kind", "memo", "external_id", "created_at", "entries"]

    @extend_schema_field(LedgerEntryOutput(many=True))
    def get_entries(self, ledger_transaction: LedgerTransaction) -> list[dict]:
        entries = sorted(ledger_transaction.entries.all(), key=lambda entry: entry.pk)
        return LedgerEntryOutput(entries, many=True).data


class LedgerTransactionFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=LedgerTransaction.Kind.choices)
    owner = django_filters.CharFilter(
        method="filter_entries", help_text="Has an entry on an account of this owner."
    )
    account_kind = django_filters.ChoiceFilter(
        choices=LedgerAccount.Kind.choices,
        method="filter_entries",
        help_text="Has an entry on an account of this kind (of `owner`, when given).",
    )
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = LedgerTransaction
        fields = ["kind", "owner", "account_kind", "created_after", "created_before"]

    def filter_entries(self, queryset, name, value):
        # `owner` and `account_kind` together name one account: filtered once, in filter_queryset.
        return queryset

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        conditions = {
            f"account__{name}": self.form.cleaned_data[field]
            for field, name in (("owner", "owner"), ("account_kind", "kind"))
            if self.form.cleaned_data.get(field)
        }
        if not conditions:
            return queryset
        entries = LedgerEntry.objects.filter(transaction=OuterRef("pk"), **conditions)
        return queryset.filter(Exists(entries))


class LedgerTransactionListApi(ScopedListApi):
    """Ledger transactions, newest first, each with its entries."""

    permission_classes = [IsFinance]
    serializer_class = LedgerTransactionOutput
    filterset_class = LedgerTransactionFilter
    model = LedgerTransaction

    def scoped_queryset(self):
        return selectors.ledger_transaction_list()


class LedgerAccountOutput(serializers.ModelSerializer):
    balance = serializers.SerializerMethodField(help_text="USD, three decimals.")
    balance_mills = serializers.SerializerMethodField()

    class Meta:
        model = LedgerAccount
        fields = ["id", "kind", "owner", "balance", "balance_mills", "created_at"]

    def get_balance(self, account: LedgerAccount) -> str:
        return money.format_usd(account.balance_mills or 0)

    def get_balance_mills(self, account: LedgerAccount) -> int:
        return account.balance_mills or 0


class LedgerAccountFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=LedgerAccount.Kind.choices)
    owner = django_filters.CharFilter()

    class Meta:
        model = LedgerAccount
        fields = ["kind", "owner"]


class LedgerAccountListApi(ScopedListApi):
    """Accounts with their balances; `grand_total` is the sum of every account of the ledger,
    zero when the ledger is whole."""

    permission_classes = [IsFinance]
    serializer_class = LedgerAccountOutput
    filterset_class = LedgerAccountFilter
    model = LedgerAccount

    def scoped_queryset(self):
        return selectors.ledger_account_list()

    def list(self, request: Request, *args, **kwargs) -> Response:
        response = super().list(request, *args, **kwargs)
        total = selectors.ledger_total_mills()
        response.data["grand_total"] = money.format_usd(total)
        response.data["grand_total_mills"] = total
        return response


# --- reconciliation and statements ---------------------------------------------------------------


class PeriodInput(serializers.Serializer):
    """`from` and `to` (both days included, UTC), as `date_from` and `date_to`."""

    def get_fields(self) -> dict:
        # `from` is a Python keyword: the fields are named here rather than declared.
        return {
            "from": serializers.DateField(source="date_from", help_text="First day, YYYY-MM-DD."),
            "to": serializers.DateField(source="date_to", help_text="Last day, included."),
            **super().get_fields(),
        }

    def validate(self, attrs):
        if attrs["date_to"] < attrs["date_from"]:
            raise serializers.ValidationError({"to": ["The period ends before it starts."]})
        return attrs


class ReconciliationInput(PeriodInput):
    def validate(self, attrs):
        attrs = super().validate(attrs)
        if (attrs["date_to"] - attrs["date_from"]).days >= RECONCILIATION_MAX_DAYS:
            raise serializers.ValidationError(
                {"to": [f"A period is at most {RECONCILIATION_MAX_DAYS} days."]}
            )
        return attrs


class ReconciliationLineOutput(serializers.Serializer):
    source_id = serializers.CharField(help_text="The Stripe object (or the manual reference).")
    ledger_key = serializers.CharField()
    ledger_kind = serializers.CharField()
    ledger_amount_mills = serializers.IntegerField(allow_null=True)
    stripe_id = serializers.CharField(help_text="Stripe's balance transaction.")
    stripe_type = serializers.CharField()
    stripe_amount_mills = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField(allow_null=True)
    difference = serializers.CharField(
        help_text="missing_in_ledger, missing_in_stripe or amount_differs; empty when matched."
    )
    note = serializers.CharField()


class ReconciliationOutput(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    stripe_configured = serializers.BooleanField()
    message = serializers.SerializerMethodField()
    matched_count = serializers.IntegerField()
    difference_count = serializers.SerializerMethodField()
    ledger_total_mills = serializers.IntegerField()
    stripe_total_mills = serializers.IntegerField()
    matched_total_mills = serializers.IntegerField()
    differences = ReconciliationLineOutput(many=True)
    matched = ReconciliationLineOutput(many=True)
    manual = ReconciliationLineOutput(many=True)
    ledger_only = ReconciliationLineOutput(many=True)
    stripe_other = ReconciliationLineOutput(many=True)

    def get_message(self, report: reconciliation.Report) -> str:
        if not report.stripe_configured:
            return "Stripe is not configured: the ledger's side is listed without a comparison."
        if report.differences:
            return f"{len(report.differences)} differences between the ledger and Stripe."
        return "The ledger and Stripe agree."

    def get_difference_count(self, report: reconciliation.Report) -> int:
        return len(report.differences)


class ReconciliationApi(APIView):
    permission_classes = [IsFinance]

    @extend_schema(parameters=[ReconciliationInput], responses=ReconciliationOutput)
    def get(self, request: Request) -> Response:
        payload = ReconciliationInput(data=request.query_params)
        payload.is_valid(raise_exception=True)
        report = reconciliation.reconciliation_report(**payload.validated_data)
        return Response(ReconciliationOutput(report).data)


class StatementInput(PeriodInput):
    owner = serializers.CharField(max_length=64, help_text="'worker:12', 'organization:7'.")
    kind = serializers.ChoiceField(choices=LedgerAccount.Kind.choices)


class CsvRenderer(BaseRenderer):
    """Lets a client that asks for CSV (`Accept: text/csv`) have the statement."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class StatementApi(APIView):
    """One account's statement for a period as CSV: an opening balance line, one line per
    entry (date, transaction key, kind, memo, amount, balance after it), a closing balance line.
    Each export is recorded as a finance action."""

    permission_classes = [IsFinance]
    renderer_classes = [JSONRenderer, CsvRenderer]

    def handle_exception(self, exc: Exception) -> Response:
        # Errors keep the API's one shape, in JSON, whatever the client asked for.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    @extend_schema(parameters=[StatementInput], responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request: Request) -> HttpResponse:
        payload = StatementInput(data=request.query_params)
        payload.is_valid(raise_exception=True)
        statement, text = statements.statement_export(actor=request.user, **payload.validated_data)
        filename = statements.statement_filename(statement=statement)
        return HttpResponse(
            text,
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )


urlpatterns = [
    path("finance/payouts", FinancePayoutListApi.as_view(), name="finance-payout-list"),
    path("finance/payouts/<int:pk>", FinancePayoutDetailApi.as_view(), name="finance-payout"),
    path(
        "finance/payouts/<int:pk>/approve",
        FinancePayoutApproveApi.as_view(),
        name="finance-payout-approve",
    ),
    path(
        "finance/payouts/<int:pk>/hold", FinancePayoutHoldApi.as_view(), name="finance-payout-hold"
    ),
    path(
        "finance/payouts/<int:pk>/reject",
        FinancePayoutRejectApi.as_view(),
        name="finance-payout-reject",
    ),
    path(
        "finance/payouts/<int:pk>/mark-paid",
        FinancePayoutMarkPaidApi.as_view(),
        name="finance-payout-mark-paid",
    ),
    path("finance/ledger", LedgerTransactionListApi.as_view(), name="finance-ledger"),
    path("finance/ledger/accounts", LedgerAccountListApi.as_view(), name="finance-ledger-accounts"),
    path("finance/reconciliation", ReconciliationApi.as_view(), name="finance-reconciliation"),
    path("finance/statements", StatementApi.as_view(), name="finance-statements"),
]
