from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from payments import money


class Organization(models.Model):
    """A requester organisation: it funds a balance and owns labeling jobs."""

    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    @property
    def ledger_owner(self) -> str:
        return f"organization:{self.pk}"


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner"
        ADMIN = "admin"
        MEMBER = "member"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"


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
        IMAGE_CLASSIFICATION = "image_classification"

    class Workforce(models.TextChoices):
        PUBLIC = "public"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(max_length=63)
    label_attribute_name = models.CharField(max_length=127)
    task_type = models.CharField(max_length=40, choices=TaskType.choices)
    input_manifest_uri = models.CharField(max_length=1024)
    output_path = models.CharField(max_length=1024)
    labels = models.JSONField(help_text="Label names in the order of the category document.")
    title = models.CharField(max_length=128)
    description = models.CharField(max_length=255)
    keywords = models.JSONField(default=list)
    short_instructions = models.TextField(blank=True)
    full_instructions = models.TextField(blank=True)
    workforce = models.CharField(max_length=80, choices=Workforce.choices, default=Workforce.PUBLIC)
    workers_per_object = models.PositiveSmallIntegerField(default=3)
    task_time_limit_seconds = models.PositiveIntegerField(default=300)
    task_availability_lifetime_seconds = models.PositiveIntegerField(default=21_600)
    max_concurrent_task_count = models.PositiveIntegerField(default=1_000)
    reward_per_task_mills = models.BigIntegerField()
    auto_approval_delay_seconds = models.PositiveIntegerField(default=259_200)

    object_count = models.PositiveIntegerField(default=0)
    human_labeled_count = models.PositiveIntegerField(default=0)
    machine_labeled_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.INITIALIZING)
    failure_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

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
                condition=models.Q(reward_per_task_mills__gte=1), name="job_reward_positive"
            ),
        ]
        indexes = [models.Index(fields=["status", "workforce"])]

    def __str__(self) -> str:
        return self.name

    @property
    def reward_per_task_usd(self) -> str:
        return money.format_usd(self.reward_per_task_mills)

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
