from decimal import Decimal

import nh3
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from marketplace import hook_targets, s3uri, task_templates
from marketplace.errors import ApplicationError
from marketplace.models import Job
from payments import money
from workforce import qualifications

NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$"
NAME_PATTERN_MESSAGE = (
    "Use letters, digits and hyphens, starting and ending with a letter or digit."
)
CATEGORY_DOCUMENT_VERSION = "2018-11-28"
RESERVED_ATTRIBUTE_NAMES = {"source", "source-ref"}
DEFAULT_AVAILABILITY_SECONDS = {
    Job.Workforce.PUBLIC: 21_600,
    Job.Workforce.PRIVATE: 864_000,
    Job.Workforce.VENDOR: 864_000,
}
MAX_REWARD_MILLS = 10_000_000  # $10,000 per task
# Fields of the spec whose features are not built yet: refused with a reason rather than ignored.
NOT_AVAILABLE_YET = {
    "auto_labeling": "Automated labeling is not available yet.",
}
CLASSIFICATION_MIN_LABELS = 2
DYNAMIC_OVERLAP_TASK_TYPES = (Job.TaskType.IMAGE_CLASSIFICATION, Job.TaskType.TEXT_CLASSIFICATION)
# Task types of Ground Truth that Groundwork does not run yet: named as such, not as unknown.
TASK_TYPES_NOT_AVAILABLE_YET = (
    "bounding_box",
    "semantic_segmentation",
    "named_entity_recognition",
    "label_verification",
    "bounding_box_adjustment",
)
PRICE_FIELD_BY_WORKFORCE = {"public": "reward_per_task", "vendor": "vendor_price_per_object"}
GOLD_TASK_TYPES = (Job.TaskType.IMAGE_CLASSIFICATION, Job.TaskType.TEXT_CLASSIFICATION)
GOLD_MAX_OBJECTS = 1_000
GOLD_DEFAULT_MIN_ANSWERS = 5
GOLD_MAX_SOURCE_CHARS = 20_000  # as a manifest line's `source`
GOLD_MAX_SOURCE_REF_CHARS = 1_024
GOLD_EXTENSIONS = {
    Job.TaskType.IMAGE_CLASSIFICATION: (".jpg", ".jpeg", ".png"),
    Job.TaskType.TEXT_CLASSIFICATION: (".txt",),
}


@extend_schema_field({"type": "string", "pattern": r"^\d+(\.\d{1,3})?$", "example": "0.050"})
class UsdField(serializers.Field):
    """A USD amount given as a decimal string ("0.012"), read as integer mills. JSON numbers are
    refused: they are floats to most clients."""

    default_error_messages = {
        "too_small": "Must be at least ${low}.",
        "too_large": "Must be at most ${high}.",
    }

    def __init__(self, *, min_mills: int, max_mills: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.min_mills, self.max_mills = min_mills, max_mills

    def to_internal_value(self, data) -> int:
        try:
            mills = money.parse_usd(data)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from None
        if mills < self.min_mills:
            self.fail("too_small", low=money.format_usd(self.min_mills))
        if mills > self.max_mills:
            self.fail("too_large", high=money.format_usd(self.max_mills))
        return mills

    def to_representation(self, mills: int) -> str:
        return money.format_usd(mills)


class QualificationRequirementInput(serializers.Serializer):
    qualification = serializers.CharField(
        max_length=100,
        help_text="approval_rate, approved_count, gold_accuracy, or one of your qualification "
        "types by name.",
    )
    comparator = serializers.ChoiceField(choices=qualifications.COMPARATORS)
    value = serializers.IntegerField(required=False)
    values = serializers.ListField(
        child=serializers.IntegerField(), min_length=1, max_length=100, required=False
    )

    def validate(self, attrs: dict) -> dict:
        comparator = attrs["comparator"]
        if comparator == "in" and "values" not in attrs:
            raise serializers.ValidationError({"values": "'in' needs a list of values."})
        if comparator in (">=", "<=", "==") and "value" not in attrs:
            raise serializers.ValidationError({"value": f"'{comparator}' needs a value."})
        return attrs


class StoppingConditionsInput(serializers.Serializer):
    max_human_labeled_objects = serializers.IntegerField(min_value=1, required=False)
    max_percentage_labeled = serializers.IntegerField(min_value=1, max_value=100, required=False)


class DynamicOverlapInput(serializers.Serializer):
    """Ask one more worker at a time while an object's consolidated confidence is below the
    target, up to max_workers_per_object (single-label classification)."""

    max_workers_per_object = serializers.IntegerField(min_value=2, max_value=9)
    target_confidence = serializers.DecimalField(
        max_digits=3, decimal_places=2, min_value=Decimal("0.01"), max_value=Decimal("1.00")
    )


class InstructionsInput(serializers.Serializer):
    """Ground Truth's UiConfig text: short and full instructions, and a good and a bad example
    (HTML; scripts and unsafe markup are removed)."""

    short = serializers.CharField(required=False, allow_blank=True, default="", max_length=20_000)
    full = serializers.CharField(required=False, allow_blank=True, default="", max_length=100_000)
    good_example = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=20_000
    )
    bad_example = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=20_000
    )


class JobSpecInput(serializers.Serializer):
    """The job spec (Ground Truth's CreateLabelingJob). `validated_data` is the model's fields."""

    name = serializers.RegexField(
        NAME_PATTERN, max_length=63, error_messages={"invalid": NAME_PATTERN_MESSAGE}
    )
    label_attribute_name = serializers.RegexField(
        NAME_PATTERN,
        max_length=127,
        required=False,
        error_messages={"invalid": NAME_PATTERN_MESSAGE},
    )
    task_type = serializers.ChoiceField(choices=Job.TaskType.choices)
    input_manifest_uri = serializers.CharField(max_length=1024, required=False)
    input_s3_prefix = serializers.CharField(
        max_length=1024,
        required=False,
        help_text="Instead of a manifest: every supported object under this S3 prefix.",
    )
    output_path = serializers.CharField(max_length=1024)
    label_categories = serializers.JSONField()
    title = serializers.CharField(max_length=128)
    description = serializers.CharField(max_length=255)
    keywords = serializers.ListField(
        child=serializers.CharField(max_length=30), min_length=1, max_length=5, required=False
    )
    instructions = InstructionsInput(required=False)
    workforce = serializers.RegexField(
        r"^(public|private:.+|vendor:.+)$",
        default="public",
        max_length=100,
        error_messages={"invalid": "Use 'public', 'private:<team name>' or 'vendor:<vendor>'."},
    )
    workers_per_object = serializers.IntegerField(min_value=1, max_value=9, default=3)
    task_time_limit_seconds = serializers.IntegerField(min_value=30, max_value=28_800, default=300)
    task_availability_lifetime_seconds = serializers.IntegerField(
        min_value=60, max_value=2_592_000, required=False
    )
    max_concurrent_task_count = serializers.IntegerField(
        min_value=1, max_value=5_000, default=1_000
    )
    reward_per_task = UsdField(
        min_mills=1,
        max_mills=MAX_REWARD_MILLS,
        required=False,
        help_text='Public jobs: USD per task as a decimal string (tenths of a cent): "0.012".',
    )
    vendor_price_per_object = UsdField(
        min_mills=1,
        max_mills=MAX_REWARD_MILLS,
        required=False,
        help_text="Vendor jobs: USD per labeled object, as a decimal string.",
    )
    qualification_requirements = QualificationRequirementInput(
        many=True, required=False, max_length=qualifications.MAX_REQUIREMENTS
    )
    auto_approval_delay_seconds = serializers.IntegerField(
        min_value=0, max_value=2_592_000, default=259_200
    )
    stopping_conditions = StoppingConditionsInput(required=False)
    dynamic_overlap = DynamicOverlapInput(required=False)
    consolidation = serializers.ChoiceField(
        choices=Job.Consolidation.choices,
        required=False,
        help_text="auto (the default; custom tasks pass every answer through), majority, "
        "dawid_skene, or custom: the post-annotation hook consolidates (the default when one "
        "is given).",
    )
    auto_labeling = serializers.BooleanField(default=False)
    pre_annotation_hook = serializers.CharField(
        max_length=1024,
        required=False,
        allow_blank=True,
        help_text="An HTTPS URL (called with a signed POST) or an allowed dotted Python path: "
        "receives each data object, returns its taskInput (Ground Truth's pre-annotation "
        "Lambda payloads).",
    )
    post_annotation_hook = serializers.CharField(
        max_length=1024,
        required=False,
        allow_blank=True,
        help_text="An HTTPS URL or an allowed dotted Python path that consolidates the answers "
        "(Ground Truth's annotation-consolidation Lambda payloads).",
    )
    ui_template = serializers.CharField(
        max_length=task_templates.MAX_TEMPLATE_CHARS,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="Custom jobs: the Liquid template workers see; `task.input` is the task input.",
    )
    gold = serializers.JSONField(
        required=False,
        help_text='Gold tasks (classification): {"objects": [{"source-ref" or "source", '
        '"label"}, ...], "share": "0.10", "min_answers": 5, "accuracy_threshold": "0.70"}.',
    )

    def to_internal_value(self, data):
        """Field errors, and which price the workforce needs, reported together."""
        errors: dict = {}
        try:
            attrs = super().to_internal_value(data)
        except serializers.ValidationError as error:
            errors, attrs = dict(error.detail), None
        workforce = str(data.get("workforce", "public")).partition(":")[0]
        for kind, field in PRICE_FIELD_BY_WORKFORCE.items():
            if field in errors or "workforce" in errors:
                continue
            if workforce == kind and field not in data:
                errors[field] = [f"Required for {kind} jobs."]
            elif workforce != kind and field in data:
                errors[field] = [f"Only {kind} jobs take this."]
        given = [field for field in ("input_manifest_uri", "input_s3_prefix") if field in data]
        if not given:
            errors.setdefault("input_manifest_uri", ["Give input_manifest_uri or input_s3_prefix."])
        elif len(given) == 2:
            errors.setdefault("input_s3_prefix", ["Give input_manifest_uri or this, not both."])
        for field, reason in NOT_AVAILABLE_YET.items():
            if data.get(field) not in (None, "", [], {}, False):
                errors.setdefault(field, [reason])
        if data.get("task_type") in TASK_TYPES_NOT_AVAILABLE_YET:
            available = ", ".join(Job.TaskType.values)
            errors["task_type"] = [
                f"{data['task_type']} jobs are not available yet; available: {available}."
            ]
        for field, reason in _custom_rules(data).items():
            errors.setdefault(field, [reason])
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def validate_label_attribute_name(self, value: str) -> str:
        if value.endswith("-metadata") or value in RESERVED_ATTRIBUTE_NAMES:
            raise serializers.ValidationError(
                "Must not end in '-metadata' nor be 'source' or 'source-ref'."
            )
        if value.endswith("-ref"):  # the suffix of label files (semantic segmentation only)
            raise serializers.ValidationError(
                "Must not end in '-ref': that suffix is for semantic segmentation jobs."
            )
        return value

    def validate_pre_annotation_hook(self, value: str) -> str:
        return self._hook(value)

    def validate_post_annotation_hook(self, value: str) -> str:
        return self._hook(value)

    @staticmethod
    def _hook(value: str) -> str:
        if not value.strip():
            return ""
        try:
            return hook_targets.hook_target_check(value.strip())
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from None

    def validate_ui_template(self, value: str) -> str:
        reason = task_templates.template_syntax_error(value) if value.strip() else None
        if reason:
            raise serializers.ValidationError(reason)
        return value

    def validate_input_manifest_uri(self, value: str) -> str:
        return str(self._s3(s3uri.parse_uri, value))

    def validate_input_s3_prefix(self, value: str) -> str:
        return str(self._s3(s3uri.parse_prefix, value))

    def validate_output_path(self, value: str) -> str:
        return str(self._s3(s3uri.parse_prefix, value))

    @staticmethod
    def _s3(parse, value: str) -> s3uri.S3Uri:
        try:
            return parse(value)
        except ApplicationError as error:
            raise serializers.ValidationError(error.message) from None

    def validate_label_categories(self, value) -> list[str]:
        if not isinstance(value, dict) or not isinstance(value.get("labels"), list):
            raise serializers.ValidationError(
                'Give the label category document: {"document-version": "2018-11-28", '
                '"labels": [{"label": "..."}, ...]}.'
            )
        if value.get("document-version", CATEGORY_DOCUMENT_VERSION) != CATEGORY_DOCUMENT_VERSION:
            raise serializers.ValidationError(
                f"'document-version' must be {CATEGORY_DOCUMENT_VERSION}."
            )
        labels = []
        for index, entry in enumerate(value["labels"]):
            label = entry.get("label") if isinstance(entry, dict) else None
            if not isinstance(label, str) or not label.strip():
                raise serializers.ValidationError(f"labels[{index}] needs a 'label' string.")
            if len(label) > 256:
                raise serializers.ValidationError(f"labels[{index}] is longer than 256 characters.")
            if label in labels:
                raise serializers.ValidationError(f"'{label}' is listed twice.")
            labels.append(label)
        if not labels:
            raise serializers.ValidationError("Give at least 1 label.")
        custom = self.initial_data.get("task_type") == Job.TaskType.CUSTOM
        if not custom and len(labels) < CLASSIFICATION_MIN_LABELS:
            raise serializers.ValidationError("Classification needs at least 2 labels.")
        return labels

    def validate(self, attrs: dict) -> dict:
        if "label_attribute_name" not in attrs:  # it defaults to the job's name: same rules
            try:
                attrs["label_attribute_name"] = self.validate_label_attribute_name(attrs["name"])
            except serializers.ValidationError as error:
                raise serializers.ValidationError({"label_attribute_name": error.detail}) from None
        workforce, _, target = attrs["workforce"].partition(":")
        availability = attrs.get(
            "task_availability_lifetime_seconds", DEFAULT_AVAILABILITY_SECONDS[workforce]
        )
        if attrs["task_time_limit_seconds"] > availability:
            raise serializers.ValidationError(
                {"task_time_limit_seconds": "Must not exceed the task availability lifetime."}
            )
        overlap = attrs.get("dynamic_overlap")
        if overlap:
            if attrs["task_type"] not in DYNAMIC_OVERLAP_TASK_TYPES or attrs.get(
                "post_annotation_hook"
            ):
                raise serializers.ValidationError(
                    {
                        "dynamic_overlap": "Dynamic overlap is for single-label classification "
                        "jobs consolidated without a hook."
                    }
                )
            if overlap["max_workers_per_object"] <= attrs["workers_per_object"]:
                raise serializers.ValidationError(
                    {
                        "dynamic_overlap.max_workers_per_object": (
                            "Must be more than workers_per_object."
                        )
                    }
                )
        gold = _gold_validated(attrs) if attrs.get("gold") not in (None, {}) else None
        post_hook = attrs.get("post_annotation_hook", "")
        consolidation = attrs.get(
            "consolidation", Job.Consolidation.CUSTOM if post_hook else Job.Consolidation.AUTO
        )
        instructions = attrs.get("instructions") or dict.fromkeys(InstructionsInput().fields, "")
        stopping = attrs.get("stopping_conditions") or {}
        return {
            "name": attrs["name"],
            "label_attribute_name": attrs["label_attribute_name"],
            "task_type": attrs["task_type"],
            "input_manifest_uri": attrs.get("input_manifest_uri", ""),
            "input_s3_prefix": attrs.get("input_s3_prefix", ""),
            "output_path": attrs["output_path"],
            "labels": attrs["label_categories"],
            "title": attrs["title"],
            "description": attrs["description"],
            "keywords": attrs.get("keywords", []),
            "short_instructions": nh3.clean(instructions["short"]),
            "full_instructions": nh3.clean(instructions["full"]),
            "good_example": nh3.clean(instructions["good_example"]),
            "bad_example": nh3.clean(instructions["bad_example"]),
            "workforce": workforce,
            "workforce_target": target,
            "workers_per_object": attrs["workers_per_object"],
            "task_time_limit_seconds": attrs["task_time_limit_seconds"],
            "task_availability_lifetime_seconds": availability,
            "max_concurrent_task_count": attrs["max_concurrent_task_count"],
            "reward_per_task_mills": attrs.get("reward_per_task", 0),
            "vendor_price_per_object_mills": attrs.get("vendor_price_per_object"),
            "qualification_requirements": [
                dict(requirement) for requirement in attrs.get("qualification_requirements", [])
            ],
            "auto_approval_delay_seconds": attrs["auto_approval_delay_seconds"],
            "max_human_labeled_objects": stopping.get("max_human_labeled_objects"),
            "max_percentage_labeled": stopping.get("max_percentage_labeled"),
            "consolidation": consolidation,
            "max_workers_per_object": overlap["max_workers_per_object"] if overlap else None,
            "target_confidence": float(overlap["target_confidence"]) if overlap else None,
            "pre_annotation_hook": attrs.get("pre_annotation_hook", ""),
            "post_annotation_hook": post_hook,
            "ui_template": attrs.get("ui_template", ""),
            "gold_objects": gold["objects"] if gold else [],
            "gold_share": gold["share"] if gold else None,
            "gold_min_answers": gold["min_answers"] if gold else GOLD_DEFAULT_MIN_ANSWERS,
            "gold_accuracy_threshold": gold["accuracy_threshold"] if gold else None,
        }


def _gold_validated(attrs: dict) -> dict:
    """The gold tasks of the spec, checked against the job's task type and labels: objects as
    stored on the job, share and threshold as floats. Errors name the field, as in
    `gold.objects[3].label`."""
    gold = attrs["gold"]
    if attrs["task_type"] not in GOLD_TASK_TYPES:
        raise serializers.ValidationError(
            {"gold": "Gold tasks are for single-label classification jobs."}
        )
    if not isinstance(gold, dict):
        raise serializers.ValidationError({"gold": 'Give {"objects": [...], "share": "0.10"}.'})
    unknown = sorted(set(gold) - {"objects", "share", "min_answers", "accuracy_threshold"})
    if unknown:
        raise serializers.ValidationError({f"gold.{unknown[0]}": "Unknown field."})
    objects = gold.get("objects")
    if not isinstance(objects, list) or not 1 <= len(objects) <= GOLD_MAX_OBJECTS:
        raise serializers.ValidationError(
            {"gold.objects": f"Give a list of 1 to {GOLD_MAX_OBJECTS:,} objects."}
        )
    stored = [
        _gold_object(entry, field=f"gold.objects[{index}]", attrs=attrs)
        for index, entry in enumerate(objects)
    ]
    share = _gold_decimal(gold.get("share"), field="gold.share", low="0.01", high="0.50")
    if share is None:
        raise serializers.ValidationError({"gold.share": "Give the share of gold tasks."})
    min_answers = gold.get("min_answers", GOLD_DEFAULT_MIN_ANSWERS)
    if isinstance(min_answers, bool) or not isinstance(min_answers, int) or min_answers < 1:
        raise serializers.ValidationError({"gold.min_answers": "Must be a whole number >= 1."})
    threshold = _gold_decimal(
        gold.get("accuracy_threshold"), field="gold.accuracy_threshold", low="0.00", high="1.00"
    )
    return {
        "objects": stored,
        "share": float(share),
        "min_answers": min_answers,
        "accuracy_threshold": None if threshold is None else float(threshold),
    }


def _gold_object(entry, *, field: str, attrs: dict) -> dict:
    if not isinstance(entry, dict):
        raise serializers.ValidationError({field: 'Give {"source-ref" or "source", "label"}.'})
    unknown = sorted(set(entry) - {"source-ref", "source", "label"})
    if unknown:
        raise serializers.ValidationError({f"{field}.{unknown[0]}": "Unknown field."})
    source_ref, source = entry.get("source-ref"), entry.get("source")
    if (source_ref is None) == (source is None):
        raise serializers.ValidationError({field: "Give 'source-ref' or 'source', one of them."})
    task_type = attrs["task_type"]
    if source_ref is not None:
        if not isinstance(source_ref, str) or len(source_ref) > GOLD_MAX_SOURCE_REF_CHARS:
            raise serializers.ValidationError(
                {f"{field}.source-ref": "Must be an S3 object URI of at most 1,024 characters."}
            )
        try:
            s3uri.parse_uri(source_ref)
        except ApplicationError as error:
            raise serializers.ValidationError({f"{field}.source-ref": error.message}) from None
        extensions = GOLD_EXTENSIONS[task_type]
        if not source_ref.lower().endswith(extensions):
            raise serializers.ValidationError(
                {f"{field}.source-ref": f"Must be a {', '.join(extensions)} object."}
            )
        stored = {"source-ref": source_ref}
    else:
        if task_type != Job.TaskType.TEXT_CLASSIFICATION:
            raise serializers.ValidationError(
                {f"{field}.source": f"{task_type} needs 'source-ref' pointing to an image."}
            )
        if not isinstance(source, str) or not source.strip():
            raise serializers.ValidationError({f"{field}.source": "Give the text."})
        if len(source) > GOLD_MAX_SOURCE_CHARS:
            raise serializers.ValidationError(
                {f"{field}.source": f"Longer than {GOLD_MAX_SOURCE_CHARS:,} characters."}
            )
        stored = {"source": source}
    label = entry.get("label")
    if label not in attrs["label_categories"]:
        raise serializers.ValidationError({f"{field}.label": "Must be one of the job's labels."})
    return {**stored, "label": label}


def _gold_decimal(value, *, field: str, low: str, high: str) -> Decimal | None:
    """A decimal string with at most 2 places in [low, high]; None when not given."""
    if value is None:
        return None
    try:
        number = Decimal(value) if isinstance(value, str) else None
    except ArithmeticError:
        number = None
    if number is None or not number.is_finite() or number.as_tuple().exponent < -2:
        raise serializers.ValidationError(
            {field: f'Give a decimal string with at most 2 places, like "{high}".'}
        )
    if not Decimal(low) <= number <= Decimal(high):
        raise serializers.ValidationError({field: f"Must be from {low} to {high}."})
    return number


def _custom_rules(data) -> dict[str, str]:
    """What custom task types, templates, hooks and custom consolidation need of each other,
    checked on the raw input so every clash is reported with the field errors."""
    errors = {}
    custom = data.get("task_type") == Job.TaskType.CUSTOM
    has_template = bool(str(data.get("ui_template") or "").strip())
    has_post_hook = bool(str(data.get("post_annotation_hook") or "").strip())
    consolidation = data.get("consolidation")
    if custom and not has_template:
        errors["ui_template"] = "Custom jobs need the Liquid template workers see."
    elif has_template and not custom and "task_type" in data:
        errors["ui_template"] = "Only custom jobs take a template."
    if consolidation == Job.Consolidation.CUSTOM and not has_post_hook:
        errors["post_annotation_hook"] = "Custom consolidation needs a post-annotation hook."
    elif has_post_hook and consolidation not in (None, Job.Consolidation.CUSTOM):
        errors["consolidation"] = (
            "A post-annotation hook consolidates the answers: use custom, or leave it out."
        )
    elif custom and consolidation in (Job.Consolidation.MAJORITY, Job.Consolidation.DAWID_SKENE):
        errors["consolidation"] = (
            "Custom tasks are consolidated by a post-annotation hook (custom) or passed through "
            "with every answer (auto)."
        )
    return errors


class JobOutput(serializers.ModelSerializer):
    label_categories = serializers.SerializerMethodField()
    reward_per_task = serializers.SerializerMethodField()
    vendor_price_per_object = serializers.SerializerMethodField()
    workforce = serializers.SerializerMethodField()
    label_counters = serializers.DictField(child=serializers.IntegerField(), read_only=True)
    output_manifest_uri = serializers.SerializerMethodField()
    stopping_conditions = serializers.SerializerMethodField()
    instructions = serializers.SerializerMethodField()
    dynamic_overlap = serializers.SerializerMethodField()
    gold = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id", "name", "status", "failure_reason", "task_type", "label_attribute_name",
            "input_manifest_uri", "output_path", "output_manifest_uri", "label_categories",
            "title", "description", "keywords", "instructions", "workforce", "workers_per_object",
            "task_time_limit_seconds", "task_availability_lifetime_seconds",
            "max_concurrent_task_count", "reward_per_task", "vendor_price_per_object",
            "qualification_requirements", "auto_approval_delay_seconds", "input_s3_prefix",
            "stopping_conditions", "dynamic_overlap", "consolidation", "auto_labeling",
            "pre_annotation_hook", "post_annotation_hook", "ui_template", "failure_report_uri",
            "expires_at", "gold",
            "label_counters", "created_at", "started_at", "ended_at",
        ]  # fmt: skip

    def get_label_categories(self, job: Job) -> dict:
        return {
            "document-version": CATEGORY_DOCUMENT_VERSION,
            "labels": [{"label": label} for label in job.labels],
        }

    @extend_schema_field(DynamicOverlapInput(allow_null=True))
    def get_dynamic_overlap(self, job: Job) -> dict | None:
        if job.max_workers_per_object is None:
            return None
        return {
            "max_workers_per_object": job.max_workers_per_object,
            "target_confidence": f"{job.target_confidence:.2f}",
        }

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {
                "objects": {"type": "array", "items": {"type": "object"}},
                "share": {"type": "string"},
                "min_answers": {"type": "integer"},
                "accuracy_threshold": {"type": "string", "nullable": True},
            },
        }
    )
    def get_gold(self, job: Job) -> dict | None:
        if not job.gold_objects:
            return None
        threshold = job.gold_accuracy_threshold
        return {
            "objects": job.gold_objects,
            "share": f"{job.gold_share:.2f}",
            "min_answers": job.gold_min_answers,
            "accuracy_threshold": None if threshold is None else f"{threshold:.2f}",
        }

    @extend_schema_field(InstructionsInput)
    def get_instructions(self, job: Job) -> dict:
        return {
            "short": job.short_instructions,
            "full": job.full_instructions,
            "good_example": job.good_example,
            "bad_example": job.bad_example,
        }

    def get_reward_per_task(self, job: Job) -> str | None:
        return job.public_reward_usd

    def get_vendor_price_per_object(self, job: Job) -> str | None:
        mills = job.vendor_price_per_object_mills
        return None if mills is None else money.format_usd(mills)

    def get_workforce(self, job: Job) -> str:
        return job.workforce_spec

    def get_stopping_conditions(self, job: Job) -> dict:
        conditions = {
            "max_human_labeled_objects": job.max_human_labeled_objects,
            "max_percentage_labeled": job.max_percentage_labeled,
        }
        return {name: value for name, value in conditions.items() if value is not None}

    def get_output_manifest_uri(self, job: Job) -> str | None:
        ended_with_output = job.status in (Job.Status.COMPLETED, Job.Status.STOPPED)
        return job.output_manifest_uri if ended_with_output else None
