from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from payments import money


class Job(models.Model):
    """A labeling job: a priced piece of work over the objects of an input manifest."""

    class Status(models.TextChoices):
        INITIALIZING = "Initializing"
        IN_PROGRESS = "InProgress"
        COMPLETED = "Completed"
        STOPPING = "Stopping"
        STOPPED = "Stopped"
        FAILED = "Failed"

    TRANSITIONS = {
        Status.INITIALIZING: {Status.IN_PROGRESS, Status.STOPPING, Status.FAILED},
        Status.IN_PROGRESS: {Status.COMPLETED, Status.STOPPING, Status.FAILED},
        Status.STOPPING: {Status.STOPPED, Status.FAILED},
    }

    class TaskType(models.TextChoices):
        IMAGE_CLASSIFICATION = "image_classification", "Image classification (one label)"
        IMAGE_CLASSIFICATION_MULTILABEL = (
            "image_classification_multilabel",
            "Image classification (several labels)",
        )
        TEXT_CLASSIFICATION = "text_classification", "Text classification (one label)"
        TEXT_CLASSIFICATION_MULTILABEL = (
            "text_classification_multilabel",
            "Text classification (several labels)",
        )
        CUSTOM = "custom", "Custom (your own template)"

    class Consolidation(models.TextChoices):
        AUTO = "auto", "Automatic"
        MAJORITY = "majority", "Majority vote"
        DAWID_SKENE = "dawid_skene", "Dawid-Skene"
        CUSTOM = "custom", "Custom (post-annotation hook)"

    class Workforce(models.TextChoices):
        PUBLIC = "public"
        PRIVATE = "private"
        VENDOR = "vendor"

    organization = models.ForeignKey(
        "workforce.Organization", on_delete=models.PROTECT, related_name="jobs"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(max_length=63)
    label_attribute_name = models.CharField(max_length=127)
    task_type = models.CharField(max_length=40, choices=TaskType.choices)
    input_manifest_uri = models.CharField(
        max_length=1024, help_text="Given, or built from input_s3_prefix beside the output."
    )
    input_s3_prefix = models.CharField(max_length=1024, blank=True)
    output_path = models.CharField(max_length=1024)
    labels = models.JSONField(help_text="Label names in the order of the category document.")
    title = models.CharField(max_length=128)
    description = models.CharField(max_length=255)
    keywords = models.JSONField(default=list)
    short_instructions = models.TextField(blank=True)
    full_instructions = models.TextField(blank=True)
    good_example = models.TextField(blank=True, help_text="HTML (sanitised): a well done task.")
    bad_example = models.TextField(blank=True, help_text="HTML (sanitised): a task done wrong.")
    workforce = models.CharField(max_length=10, choices=Workforce.choices, default=Workforce.PUBLIC)
    team = models.ForeignKey(
        "workforce.Team",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="jobs",
        help_text="The private team working a private job.",
    )
    vendor = models.ForeignKey(
        "workforce.Vendor",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="jobs",
        help_text="The vendor a vendor job is offered to.",
    )
    vendor_price_per_object_mills = models.BigIntegerField(null=True, blank=True)
    qualification_requirements = models.JSONField(default=list, blank=True)
    workers_per_object = models.PositiveSmallIntegerField(default=3)
    task_time_limit_seconds = models.PositiveIntegerField(default=300)
    task_availability_lifetime_seconds = models.PositiveIntegerField(default=21_600)
    max_concurrent_task_count = models.PositiveIntegerField(default=1_000)
    reward_per_task_mills = models.BigIntegerField()
    auto_approval_delay_seconds = models.PositiveIntegerField(default=259_200)
    max_workers_per_object = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Dynamic overlap: ask one more worker at a time, up to this many, while the "
        "consolidated confidence is below target_confidence.",
    )
    target_confidence = models.FloatField(null=True, blank=True)
    max_human_labeled_objects = models.PositiveIntegerField(null=True, blank=True)
    max_percentage_labeled = models.PositiveSmallIntegerField(null=True, blank=True)
    consolidation = models.CharField(
        max_length=20, choices=Consolidation.choices, default=Consolidation.AUTO
    )
    auto_labeling = models.BooleanField(default=False)
    pre_annotation_hook = models.CharField(
        max_length=1024,
        blank=True,
        help_text="HTTPS URL or allowed dotted path: turns each data object into the task input.",
    )
    post_annotation_hook = models.CharField(
        max_length=1024,
        blank=True,
        help_text="HTTPS URL or allowed dotted path: consolidates answers (consolidation custom).",
    )
    ui_template = models.TextField(blank=True, help_text="Liquid template of a custom task.")

    gold_objects = models.JSONField(
        default=list,
        blank=True,
        help_text='Gold tasks: objects with a known answer, [{"source-ref" or "source", '
        '"label"}], served to workers at gold_share of their tasks.',
    )
    gold_share = models.FloatField(
        null=True, blank=True, help_text="The share of a worker's tasks that are gold tasks."
    )
    gold_min_answers = models.PositiveIntegerField(
        default=5, help_text="Gold answers a worker gives before gold_accuracy_threshold applies."
    )
    gold_accuracy_threshold = models.FloatField(
        null=True,
        blank=True,
        help_text="A worker whose gold accuracy on the organisation's jobs falls below this is "
        "blocked from them.",
    )

    object_count = models.PositiveIntegerField(default=0)
    human_labeled_count = models.PositiveIntegerField(default=0)
    machine_labeled_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.INITIALIZING)
    failure_reason = models.TextField(blank=True)
    failure_report_uri = models.CharField(
        max_length=1024, blank=True, help_text="Every bad manifest line, when the manifest failed."
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    escrow_settled_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the job, ended, had returned all its unspent escrow: nothing it may "
        "still pay was left (answers to review, rejections that can be reversed).",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "organization", Lower("name"), name="job_name_unique_per_organization"
            ),
            models.CheckConstraint(
                condition=models.Q(workers_per_object__gte=1, workers_per_object__lte=9),
                name="job_workers_per_object_range",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(workforce="public", reward_per_task_mills__gte=1)
                    | models.Q(workforce="private", team__isnull=False, reward_per_task_mills=0)
                    | models.Q(
                        workforce="vendor",
                        vendor__isnull=False,
                        reward_per_task_mills=0,
                        vendor_price_per_object_mills__gte=1,
                    )
                ),
                name="job_workforce_is_consistent",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    max_workers_per_object__isnull=True, target_confidence__isnull=True
                )
                | models.Q(
                    max_workers_per_object__gt=models.F("workers_per_object"),
                    max_workers_per_object__lte=9,
                    target_confidence__gt=0,
                    target_confidence__lte=1,
                ),
                name="job_dynamic_overlap_range",
            ),
            models.CheckConstraint(
                condition=~models.Q(consolidation="custom") | ~models.Q(post_annotation_hook=""),
                name="job_custom_consolidation_has_hook",
            ),
            models.CheckConstraint(
                condition=~models.Q(task_type="custom") | ~models.Q(ui_template=""),
                name="job_custom_task_has_template",
            ),
        ]
        indexes = [models.Index(fields=["status", "workforce"])]

    def __str__(self) -> str:
        return self.name

    @property
    def workforce_spec(self) -> str:
        """The workforce as the job spec names it: public, private:<team>, vendor:<vendor>."""
        if self.workforce == self.Workforce.PRIVATE:
            return f"private:{self.team.name}"
        if self.workforce == self.Workforce.VENDOR:
            return f"vendor:{self.vendor.slug}"
        return "public"

    @property
    def most_workers_per_object(self) -> int:
        """How many workers may answer one object: workers_per_object, or with dynamic overlap
        max_workers_per_object."""
        return self.max_workers_per_object or self.workers_per_object

    @property
    def arn(self) -> str:
        """The job's name in hook payloads, shaped like Ground Truth's labelingJobArn."""
        return f"arn:groundwork:labeling:{self.organization_id}:labeling-job/{self.name}"

    @property
    def has_raw_labels(self) -> bool:
        """Whether an object's label is stored as its output value (`<attr>`) as given: custom
        tasks and jobs a post-annotation hook consolidates. Otherwise it is a label index (or
        indices for multi-label)."""
        return (
            self.task_type == self.TaskType.CUSTOM
            or self.consolidation == self.Consolidation.CUSTOM
        )

    @property
    def reward_per_task_usd(self) -> str:
        return money.format_usd(self.reward_per_task_mills)

    @property
    def public_reward_usd(self) -> str | None:
        """What the platform pays a worker per task: public jobs only (teams are not paid per
        task by the platform)."""
        return self.reward_per_task_usd if self.workforce == self.Workforce.PUBLIC else None

    @property
    def label_counters(self) -> dict[str, int]:
        """Ground Truth's LabelCounters."""
        labeled = self.human_labeled_count + self.machine_labeled_count
        return {
            "total_labeled": labeled,
            "human_labeled": self.human_labeled_count,
            "machine_labeled": self.machine_labeled_count,
            "failed_non_retryable_error": self.failed_count,
            "unlabeled": self.object_count - labeled - self.failed_count,
        }

    @property
    def is_finished_labeling(self) -> bool:
        return self.label_counters["unlabeled"] == 0

    @property
    def ledger_escrow_owner(self) -> str:
        return f"job:{self.pk}"

    @property
    def output_prefix(self) -> str:
        """`<output_path>/<job name>/`, where every output file of the job is written."""
        return f"{self.output_path.rstrip('/')}/{self.name}/"

    @property
    def output_manifest_uri(self) -> str:
        return f"{self.output_prefix}manifests/output/output.manifest"


class JobEvent(models.Model):
    """One state change of a job: when, from what, to what, who, and why."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.job}: {self.from_status or '-'} → {self.to_status}"


class VendorOffer(models.Model):
    """A requester offers a vendor job to its vendor at a price per object."""

    class Status(models.TextChoices):
        PENDING = "pending"
        ACCEPTED = "accepted"
        DECLINED = "declined"
        WITHDRAWN = "withdrawn"

    TRANSITIONS = {
        Status.PENDING: {Status.ACCEPTED, Status.DECLINED, Status.WITHDRAWN},
    }

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="vendor_offers")
    vendor = models.ForeignKey("workforce.Vendor", on_delete=models.PROTECT, related_name="offers")
    price_per_object_mills = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    team = models.ForeignKey(
        "workforce.Team",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="vendor_offers",
        help_text="The vendor's team that works the job, chosen on acceptance.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decline_reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job"],
                condition=models.Q(status__in=["pending", "accepted"]),
                name="vendor_offer_one_live_per_job",
            ),
            models.CheckConstraint(
                condition=models.Q(price_per_object_mills__gte=1), name="vendor_offer_price"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="accepted") | models.Q(team__isnull=False),
                name="vendor_offer_accepted_has_team",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.job} offered to {self.vendor} ({self.status})"
