from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person who signs in by email. Roles come from the profiles and memberships they hold."""

    username = None
    email = models.EmailField("email address", unique=True)
    is_finance = models.BooleanField(
        "finance staff", default=False, help_text="Reviews payouts and reads the ledger."
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email


class Worker(models.Model):
    """The worker profile of a user: someone who may claim and label tasks."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="worker"
    )
    display_name = models.CharField(max_length=100, blank=True)
    terms_accepted_at = models.DateTimeField(null=True, blank=True)
    banned_at = models.DateTimeField(null=True, blank=True)
    ban_reason = models.TextField(blank=True)
    # Work results behind the system qualifications, kept current by the review services.
    approved_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    gold_answered_count = models.PositiveIntegerField(default=0)
    gold_correct_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.display_name or self.user.email

    @property
    def ledger_owner(self) -> str:
        return f"worker:{self.pk}"

    @property
    def public_id(self) -> str:
        """The id written into worker-response files, as Ground Truth's `workerId`."""
        return f"worker-{self.pk}"


class ApiKey(models.Model):
    """A bearer key for the API. Only a SHA-256 hash of the secret is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    roles = models.JSONField(
        default=list, help_text="The roles this key acts in: a subset of its user's roles."
    )
    prefix = models.CharField(max_length=16, unique=True)
    hashed_secret = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Role(models.TextChoices):
    """What a user may act as. A user can hold several roles."""

    REQUESTER = "requester"
    WORKER = "worker"
    VENDOR_MANAGER = "vendor_manager"
    FINANCE = "finance"
    ADMIN = "admin"


class Organization(models.Model):
    """A requester organisation: it funds a balance, owns jobs, private teams and
    qualification types."""

    name = models.CharField(max_length=200)
    hook_secret = models.CharField(
        max_length=64,
        blank=True,
        help_text="Signs the requests sent to the organisation's HTTPS annotation hooks.",
    )
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


class Vendor(models.Model):
    """A vendor organisation: manages its own teams and is paid per approved object."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=63, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    @property
    def ledger_owner(self) -> str:
        return f"vendor:{self.pk}"


class VendorManager(models.Model):
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="managers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vendor_roles"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["vendor", "user"], name="vendor_manager_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} manages {self.vendor}"


class Team(models.Model):
    """A team of workers: a requester's private team, or one of a vendor's teams."""

    name = models.CharField(max_length=63)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="teams"
    )
    vendor = models.ForeignKey(
        Vendor, null=True, blank=True, on_delete=models.CASCADE, related_name="teams"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(organization__isnull=False, vendor__isnull=True)
                    | models.Q(organization__isnull=True, vendor__isnull=False)
                ),
                name="team_has_one_owner",
            ),
            models.UniqueConstraint(
                "organization", Lower("name"), name="team_name_unique_per_organization"
            ),
            models.UniqueConstraint("vendor", Lower("name"), name="team_name_unique_per_vendor"),
        ]

    def __str__(self) -> str:
        return self.name


class TeamMember(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="members")
    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="team_memberships")
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "worker"], name="team_member_unique")
        ]

    def __str__(self) -> str:
        return f"{self.worker} in {self.team}"


class Invitation(models.Model):
    """An emailed invitation to join a team. Only a hash of its token is stored."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "team",
                Lower("email"),
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_team_and_email",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.team}"


class WorkerBlock(models.Model):
    """A requester organisation blocks a worker from its jobs."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="worker_blocks"
    )
    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="blocks")
    reason = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "worker"], name="worker_block_unique")
        ]

    def __str__(self) -> str:
        return f"{self.worker} blocked by {self.organization}"


class WorkerSkill(models.Model):
    """A worker's accuracy on one requester organisation's single-label classification jobs,
    as Dawid-Skene EM estimates it from the agreement between workers (`answers`: how many of
    the worker's answers the estimate rests on)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="worker_skills"
    )
    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="skills")
    accuracy = models.FloatField()
    answers = models.PositiveIntegerField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "worker"], name="worker_skill_unique"),
            models.CheckConstraint(
                condition=models.Q(accuracy__gte=0) & models.Q(accuracy__lte=1),
                name="worker_skill_accuracy_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.worker} at {self.organization}: {self.accuracy:.3f}"


class QualificationType(models.Model):
    """A requester-defined qualification. Workers get a value by hand or by passing its test:
    `test_questions` is [{"question": str, "options": [str, ...], "answer": str}, ...]."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="qualification_types"
    )
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    test_questions = models.JSONField(default=list, blank=True)
    passing_score_percent = models.PositiveSmallIntegerField(default=100)
    retry_delay_seconds = models.PositiveIntegerField(default=86_400)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "organization", Lower("name"), name="qualification_type_name_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(passing_score_percent__lte=100),
                name="qualification_passing_score_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class QualificationGrant(models.Model):
    qualification_type = models.ForeignKey(
        QualificationType, on_delete=models.CASCADE, related_name="grants"
    )
    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="qualifications")
    value = models.IntegerField(default=1)
    granted_by_test = models.BooleanField(default=False)
    granted_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["qualification_type", "worker"], name="qualification_grant_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.worker}: {self.qualification_type} = {self.value}"


class QualificationTestAttempt(models.Model):
    qualification_type = models.ForeignKey(
        QualificationType, on_delete=models.CASCADE, related_name="attempts"
    )
    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="test_attempts")
    answers = models.JSONField()
    score_percent = models.PositiveSmallIntegerField()
    passed = models.BooleanField()
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["qualification_type", "worker", "submitted_at"])]

    def __str__(self) -> str:
        return f"{self.worker} scored {self.score_percent}% on {self.qualification_type}"
