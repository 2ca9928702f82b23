"""Qualifications API: a requester's qualification types and grants (`qualification-types`), and
the worker's side (`worker/qualification-types`): the types they can see and the tests they take.
"""

from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api_views import ScopedListApi
from marketplace.errors import ApplicationError, exception_handler
from workforce.models import QualificationGrant, QualificationTestAttempt, QualificationType
from workforce.permissions import IsRequester, IsWorker
from workforce.selectors import qualifications as selectors
from workforce.selectors import workers as worker_selectors
from workforce.services import qualifications as services

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
MAX_QUESTIONS = 100
MAX_OPTIONS = 20
MAX_RETRY_DELAY_SECONDS = 31_536_000  # 365 days

# --- requester: serializers ----------------------------------------------------------------------


class QuestionInput(serializers.Serializer):
    question = serializers.CharField(max_length=2000)
    options = serializers.ListField(
        child=serializers.CharField(max_length=500), min_length=2, max_length=MAX_OPTIONS
    )
    answer = serializers.CharField(max_length=500, help_text="One of the options.")

    def validate_options(self, options: list[str]) -> list[str]:
        seen: set[str] = set()
        for option in options:
            if option in seen:
                raise serializers.ValidationError(f"“{option}” is listed twice.")
            seen.add(option)
        return options

    def validate(self, attrs: dict) -> dict:
        if attrs["answer"] not in attrs["options"]:
            raise serializers.ValidationError({"answer": "Must be one of the options."})
        return attrs


class TestInput(serializers.Serializer):
    # A ListField, not many=True: its errors are named "questions" and "questions[i].<field>".
    questions = serializers.ListField(
        child=QuestionInput(), allow_empty=False, max_length=MAX_QUESTIONS
    )
    passing_score_percent = serializers.IntegerField(min_value=0, max_value=100, default=100)
    retry_delay_seconds = serializers.IntegerField(
        min_value=0,
        max_value=MAX_RETRY_DELAY_SECONDS,
        default=86_400,
        help_text="How long a worker waits after an attempt before taking the test again.",
    )


class QualificationTypeCreateInput(serializers.Serializer):
    # Blank names, length and uniqueness are checked by the service.
    name = serializers.CharField(allow_blank=True, max_length=services.NAME_MAX_LENGTH)
    description = serializers.CharField(allow_blank=True, max_length=2000, default="")
    test = TestInput(
        required=False,
        allow_null=True,
        help_text="A test workers take to get the qualification: gold questions with an "
        "answer key.",
    )


class QualificationTypeUpdateInput(serializers.Serializer):
    """Fields left out are kept; a given `test` replaces the whole test, `null` removes it."""

    name = serializers.CharField(
        allow_blank=True, max_length=services.NAME_MAX_LENGTH, required=False
    )
    description = serializers.CharField(allow_blank=True, max_length=2000, required=False)
    test = TestInput(required=False, allow_null=True)


class TestOutput(serializers.Serializer):
    questions = serializers.ListField(child=serializers.DictField(), source="test_questions")
    passing_score_percent = serializers.IntegerField()
    retry_delay_seconds = serializers.IntegerField()


class QualificationTypeOutput(serializers.ModelSerializer):
    test = serializers.SerializerMethodField()
    grant_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = QualificationType
        fields = ["id", "name", "description", "test", "grant_count", "created_at"]

    @extend_schema_field(TestOutput(allow_null=True))
    def get_test(self, qualification_type: QualificationType) -> dict | None:
        if not qualification_type.test_questions:
            return None
        return TestOutput(qualification_type).data


class GrantInput(serializers.Serializer):
    worker_id = serializers.CharField(max_length=50, help_text="As in work results: worker-<n>.")
    value = serializers.IntegerField(min_value=INT32_MIN, max_value=INT32_MAX, default=1)


class GrantOutput(serializers.ModelSerializer):
    worker_id = serializers.CharField(source="worker.public_id")
    display_name = serializers.CharField(source="worker.display_name")

    class Meta:
        model = QualificationGrant
        fields = [
            "worker_id",
            "display_name",
            "value",
            "granted_by_test",
            "granted_at",
            "updated_at",
        ]


# --- requester: views ----------------------------------------------------------------------------


class RequesterQualificationMixin:
    def qualification_type(self) -> QualificationType:
        return selectors.qualification_type_get_for(
            organization=self.request.organization, pk=self.kwargs["pk"]
        )


class QualificationTypeListApi(RequesterQualificationMixin, ScopedListApi):
    permission_classes = [IsRequester]
    serializer_class = QualificationTypeOutput
    model = QualificationType

    def scoped_queryset(self):
        return selectors.qualification_type_list_for(organization=self.request.organization)

    @extend_schema(request=QualificationTypeCreateInput, responses={201: QualificationTypeOutput})
    def post(self, request: Request) -> Response:
        payload = QualificationTypeCreateInput(data=request.data)
        payload.is_valid(raise_exception=True)
        created = services.qualification_type_create(
            organization=request.organization, **payload.validated_data
        )
        created = selectors.qualification_type_get_for(
            organization=request.organization, pk=created.pk
        )
        return Response(QualificationTypeOutput(created).data, status=status.HTTP_201_CREATED)


class QualificationTypeDetailApi(RequesterQualificationMixin, APIView):
    permission_classes = [IsRequester]

    @extend_schema(responses=QualificationTypeOutput)
    def get(self, request: Request, pk: int) -> Response:
        return Response(QualificationTypeOutput(self.qualification_type()).data)

    @extend_schema(request=QualificationTypeUpdateInput, responses=QualificationTypeOutput)
    def patch(self, request: Request, pk: int) -> Response:
        qualification_type = self.qualification_type()
        payload = QualificationTypeUpdateInput(data=request.data)
        payload.is_valid(raise_exception=True)
        services.qualification_type_update(
            qualification_type=qualification_type, **payload.validated_data
        )
        return Response(QualificationTypeOutput(self.qualification_type()).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        services.qualification_type_delete(qualification_type=self.qualification_type())
        return Response(status=status.HTTP_204_NO_CONTENT)


class QualificationGrantListApi(RequesterQualificationMixin, ScopedListApi):
    """The workers holding the type. POST grants it to a worker by hand, or changes the value
    they hold (201 for a new grant, 200 for a changed one)."""

    permission_classes = [IsRequester]
    serializer_class = GrantOutput
    model = QualificationGrant

    def scoped_queryset(self):
        return selectors.qualification_grant_list_for(qualification_type=self.qualification_type())

    @extend_schema(request=GrantInput, responses={200: GrantOutput, 201: GrantOutput})
    def post(self, request: Request, pk: int) -> Response:
        qualification_type = self.qualification_type()
        payload = GrantInput(data=request.data)
        payload.is_valid(raise_exception=True)
        worker = worker_selectors.worker_get_by_public_id(
            public_id=payload.validated_data["worker_id"]
        )
        if worker is None:
            raise ApplicationError("unknown_worker", "No worker has this id.", field="worker_id")
        grant, created = services.qualification_grant_set(
            qualification_type=qualification_type,
            worker=worker,
            value=payload.validated_data["value"],
        )
        return Response(
            GrantOutput(grant).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class QualificationGrantDetailApi(RequesterQualificationMixin, APIView):
    permission_classes = [IsRequester]

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int, worker_pk: int) -> Response:
        grant = selectors.qualification_grant_get_for(
            qualification_type=self.qualification_type(), worker_pk=worker_pk
        )
        services.qualification_grant_delete(grant=grant)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- worker: serializers -------------------------------------------------------------------------


class WorkerQualificationTypeOutput(serializers.ModelSerializer):
    """A type as a worker sees it, with the worker's own value and when they may retake its
    test (null: now, or no test)."""

    requester = serializers.CharField(source="organization.name")
    has_test = serializers.SerializerMethodField()
    question_count = serializers.SerializerMethodField()
    passing_score_percent = serializers.SerializerMethodField()
    retry_delay_seconds = serializers.SerializerMethodField()
    value = serializers.IntegerField(allow_null=True)
    can_retake_at = serializers.SerializerMethodField()

    class Meta:
        model = QualificationType
        fields = [
            "id", "name", "description", "requester", "has_test", "question_count",
            "passing_score_percent", "retry_delay_seconds", "value", "can_retake_at",
        ]  # fmt: skip

    def get_has_test(self, qualification_type: QualificationType) -> bool:
        return bool(qualification_type.test_questions)

    def get_question_count(self, qualification_type: QualificationType) -> int:
        return len(qualification_type.test_questions)

    def get_passing_score_percent(self, qualification_type: QualificationType) -> int | None:
        return (
            qualification_type.passing_score_percent if qualification_type.test_questions else None
        )

    def get_retry_delay_seconds(self, qualification_type: QualificationType) -> int | None:
        return qualification_type.retry_delay_seconds if qualification_type.test_questions else None

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_can_retake_at(self, qualification_type: QualificationType) -> str | None:
        if not qualification_type.test_questions:
            return None
        at = selectors.retake_at(
            qualification_type=qualification_type,
            last_attempt_at=qualification_type.last_attempt_at,
        )
        return serializers.DateTimeField().to_representation(at) if at else None


class WorkerQuestionOutput(serializers.Serializer):
    question = serializers.CharField()
    options = serializers.ListField(child=serializers.CharField())


class WorkerTestOutput(WorkerQualificationTypeOutput):
    """The test to take: the questions and their options, never the answers."""

    questions = serializers.SerializerMethodField()

    class Meta(WorkerQualificationTypeOutput.Meta):
        fields = [*WorkerQualificationTypeOutput.Meta.fields, "questions"]

    @extend_schema_field(WorkerQuestionOutput(many=True))
    def get_questions(self, qualification_type: QualificationType) -> list[dict]:
        return [
            {"question": question["question"], "options": list(question["options"])}
            for question in qualification_type.test_questions
        ]


class TestSubmitInput(serializers.Serializer):
    answers = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        help_text="One chosen option per question, in the order of the questions.",
    )

    def validate(self, attrs: dict) -> dict:
        problems = services.qualification_test_answer_problems(
            qualification_type=self.context["qualification_type"], answers=attrs["answers"]
        )
        if problems:
            raise serializers.ValidationError(problems)
        return attrs


class TestResultOutput(serializers.ModelSerializer):
    passing_score_percent = serializers.IntegerField(
        source="qualification_type.passing_score_percent"
    )
    value = serializers.IntegerField(allow_null=True, help_text="Your value after this attempt.")
    can_retake_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        model = QualificationTestAttempt
        fields = [
            "score_percent", "passed", "passing_score_percent", "value", "submitted_at",
            "can_retake_at",
        ]  # fmt: skip


# --- worker: views -------------------------------------------------------------------------------


class WorkerQualificationTypeListApi(ScopedListApi):
    """Every qualification type with a test, and the types you hold, with your values."""

    permission_classes = [IsWorker]
    serializer_class = WorkerQualificationTypeOutput
    model = QualificationType

    def scoped_queryset(self):
        return selectors.qualification_types_for_worker(worker=self.request.worker)


class WorkerQualificationTestApi(APIView):
    permission_classes = [IsWorker]

    @extend_schema(responses=WorkerTestOutput)
    def get(self, request: Request, pk: int) -> Response:
        found = selectors.qualification_type_get_for_test(worker=request.worker, pk=pk)
        return Response(WorkerTestOutput(found).data)

    @extend_schema(request=TestSubmitInput, responses={201: TestResultOutput})
    def post(self, request: Request, pk: int) -> Response:
        """Take the test: scored at once. 429 (with Retry-After) before the retry delay since
        your last attempt has passed."""
        found = selectors.qualification_type_get_for_test(worker=request.worker, pk=pk)
        payload = TestSubmitInput(data=request.data, context={"qualification_type": found})
        payload.is_valid(raise_exception=True)
        try:
            attempt = services.qualification_test_submit(
                worker=request.worker, qualification_type=found, **payload.validated_data
            )
        except services.RetakeTooSoon as error:
            response = exception_handler(error, {"request": request, "view": self})
            response["Retry-After"] = str(error.retry_after_seconds)
            return response
        after = selectors.qualification_type_get_for_test(worker=request.worker, pk=pk)
        attempt.value = after.value
        attempt.can_retake_at = selectors.retake_at(
            qualification_type=after, last_attempt_at=after.last_attempt_at
        )
        return Response(TestResultOutput(attempt).data, status=status.HTTP_201_CREATED)


urlpatterns = [
    path(
        "qualification-types",
        QualificationTypeListApi.as_view(),
        name="qualification-type-list",
    ),
    path(
        "qualification-types/<int:pk>",
        QualificationTypeDetailApi.as_view(),
        name="qualification-type-detail",
    ),
    path(
        "qualification-types/<int:pk>/grants",
        QualificationGrantListApi.as_view(),
        name="qualification-grant-list",
    ),
    path(
        "qualification-types/<int:pk>/grants/<int:worker_pk>",
        QualificationGrantDetailApi.as_view(),
        name="qualification-grant-detail",
    ),
    path(
        "worker/qualification-types",
        WorkerQualificationTypeListApi.as_view(),
        name="worker-qualification-type-list",
    ),
    path(
        "worker/qualification-types/<int:pk>/test",
        WorkerQualificationTestApi.as_view(),
        name="worker-qualification-test",
    ),
]
