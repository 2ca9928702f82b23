from django.db import models

from payments import money


class DataObject(models.Model):
    """One line of a job's input manifest: the thing workers label."""

    class Status(models.TextChoices):
        PENDING = "pending"
        LABELED = "labeled"
        FAILED = "failed"
        # The input line already holds this job's label (a job continued by chaining): it is
        # copied to the output as read and never sent to workers.
        CARRIED = "carried"

    job = models.ForeignKey(
        "marketplace.Job", on_delete=models.CASCADE, related_name="data_objects"
    )
    position = models.PositiveIntegerField(help_text="Index in the manifest (datasetObjectId).")
    input_line = models.TextField(help_text="The manifest line as read, without its line ending.")
    source_ref = models.CharField(max_length=1024, blank=True)
    source = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    task_input = models.JSONField(
        null=True,
        blank=True,
        help_text="The pre-annotation hook's taskInput; empty means the default "
        '{"taskObject": source-ref or source}.',
    )
    label = models.JSONField(
        null=True,
        blank=True,
        help_text="A label index (indices for multi-label), or for jobs with raw labels "
        "(Job.has_raw_labels) the `<attr>` value of the output as consolidated.",
    )
    confidence = models.FloatField(null=True, blank=True)
    label_confidences = models.JSONField(
        null=True, blank=True, help_text="Multi-label: the confidence of each label in `label`."
    )
    human_annotated = models.BooleanField(default=True)
    labeled_at = models.DateTimeField(null=True, blank=True)
    extra_workers = models.PositiveSmallIntegerField(
        default=0,
        help_text="Dynamic overlap: workers asked for beyond the job's workers_per_object, one "
        "at a time while the consolidated confidence stayed below the job's target.",
    )
    is_gold = models.BooleanField(
        default=False,
        help_text="A gold task: an object with a known answer (`label`), not part of the "
        "manifest, served to workers at the job's gold share and never consolidated.",
    )
    in_flight_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the object was put out to workers (at most the job's "
        "max_concurrent_task_count objects are out at once); its availability lifetime runs "
        "from here.",
    )
    answered_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the object got the last answer it asked for: while it is still "
        "pending, it waits for the job's consolidation run.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "position"], name="data_object_position_unique")
        ]
        indexes = [
            models.Index(fields=["job", "status", "position"]),
            models.Index(
                fields=["job", "in_flight_since"],
                condition=models.Q(status="pending", in_flight_since__isnull=False),
                name="data_object_in_flight",
            ),
            models.Index(
                fields=["job", "id"],
                condition=models.Q(status="pending", answered_at__isnull=False),
                name="data_object_answered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.job_id}/{self.position}"


class ConsolidationRun(models.Model):
    """A consolidation run of the job is queued (data_objects_consolidate_task): the submit
    that completes an object queues one only when none is waiting, and otherwise counts the
    object here, holding the row's lock until it commits. The run deletes the row as it
    starts (waiting for those submits), so an object completed afterwards queues the next."""

    job = models.OneToOneField("marketplace.Job", on_delete=models.CASCADE, primary_key=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    objects_answered = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"consolidation of job {self.job_id}"


class Assignment(models.Model):
    """A worker's lease on one data object, and the answer they give."""

    class Status(models.TextChoices):
        RESERVED = "reserved"
        SUBMITTED = "submitted"
        APPROVED = "approved"
        REJECTED = "rejected"
        EXPIRED = "expired"
        RETURNED = "returned"  # released by the worker ("stop and resume later"), or at a stop
        DECLINED = "declined"  # the worker does not want this object: never offered again

    TRANSITIONS = {
        Status.RESERVED: {Status.SUBMITTED, Status.EXPIRED, Status.RETURNED, Status.DECLINED},
        Status.SUBMITTED: {Status.APPROVED, Status.REJECTED},
        Status.REJECTED: {Status.APPROVED},  # a rejection reversed within 30 days
    }
    ANSWERED = (Status.SUBMITTED, Status.APPROVED, Status.REJECTED)
    # Statuses that hold one of the object's workers_per_object slots (a reserved lease only
    # until it is marked expired, which a claim does before it counts).
    HOLDING_SLOT = ("reserved", "submitted", "approved", "rejected")
    MAX_SLOTS = 9  # the largest workers_per_object

    job = models.ForeignKey("marketplace.Job", on_delete=models.CASCADE, related_name="assignments")
    data_object = models.ForeignKey(
        DataObject, on_delete=models.CASCADE, related_name="assignments"
    )
    worker = models.ForeignKey(
        "workforce.Worker", on_delete=models.PROTECT, related_name="assignments"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RESERVED)
    slot = models.PositiveSmallIntegerField(
        help_text="Which of the object's workers_per_object places this assignment takes."
    )
    accepted_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    answer = models.JSONField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    rejection_reversed_at = models.DateTimeField(null=True, blank=True)
    is_gold = models.BooleanField(
        default=False, help_text="The object is a gold task (DataObject.is_gold)."
    )
    gold_correct = models.BooleanField(
        null=True, blank=True, help_text="A gold task's answer: whether it is the known label."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["data_object", "worker"],
                condition=models.Q(
                    status__in=["reserved", "submitted", "approved", "rejected", "declined"]
                ),
                name="assignment_one_live_per_worker_and_object",
            ),
            models.UniqueConstraint(
                fields=["data_object", "slot"],
                condition=models.Q(
                    status__in=["reserved", "submitted", "approved", "rejected"], is_gold=False
                ),
                name="assignment_one_per_object_slot",
            ),
            models.CheckConstraint(
                condition=models.Q(slot__lt=9), name="assignment_slot_below_max_workers"
            ),
            models.UniqueConstraint(
                fields=["job", "worker"],
                condition=models.Q(status="reserved"),
                name="assignment_one_reserved_per_worker_and_job",
            ),
        ]
        indexes = [
            models.Index(fields=["data_object", "status"]),
            models.Index(fields=["job", "status", "submitted_at"]),
            models.Index(fields=["status", "expires_at"]),
        ]

    def __str__(self) -> str:
        return f"assignment {self.pk} ({self.status})"

    @property
    def time_spent_seconds(self) -> float | None:
        if self.submitted_at is None:
            return None
        return round((self.submitted_at - self.accepted_at).total_seconds(), 3)


class Bonus(models.Model):
    """Money a requester gives a worker on top of the reward for an answered assignment, with a
    reason the worker sees. The requester's token makes a retry pay once."""

    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="bonuses")
    organization = models.ForeignKey(
        "workforce.Organization", on_delete=models.PROTECT, related_name="+"
    )
    amount_mills = models.BigIntegerField()
    reason = models.TextField()
    unique_request_token = models.CharField(max_length=64)
    paid_by = models.ForeignKey(
        "workforce.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "unique_request_token"], name="bonus_token_unique"
            ),
            models.CheckConstraint(condition=models.Q(amount_mills__gt=0), name="bonus_positive"),
        ]

    def __str__(self) -> str:
        return f"bonus {self.pk} on assignment {self.assignment_id}"

    @property
    def amount_usd(self) -> str:
        return money.format_usd(self.amount_mills)
