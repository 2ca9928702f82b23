"""A double-entry ledger in integer mills (1 USD = 1000 mills).

An account's balance is the sum of its entries; every transaction's entries sum to zero, so the
sum over all accounts is zero at all times. Money that comes from or goes to the outside world
passes through a clearing account, which is why that account's balance is negative.
"""

from django.conf import settings
from django.db import models


class LedgerAccount(models.Model):
    class Kind(models.TextChoices):
        REQUESTER_AVAILABLE = "requester_available"
        JOB_ESCROW = "job_escrow"
        WORKER_PENDING = "worker_pending"
        WORKER_AVAILABLE = "worker_available"
        VENDOR_PENDING = "vendor_pending"
        VENDOR_AVAILABLE = "vendor_available"
        PLATFORM_FEE_REVENUE = "platform_fee_revenue"
        FUNDING_CLEARING = "funding_clearing"
        PAYOUTS_IN_FLIGHT = "payouts_in_flight"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    owner = models.CharField(
        max_length=64,
        help_text="Whose account: 'organization:7', 'job:3', 'platform'.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "owner"], name="ledger_account_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.owner}"


class LedgerTransaction(models.Model):
    class Kind(models.TextChoices):
        FUNDING = "funding"
        ESCROW_RESERVE = "escrow_reserve"
        EARNING = "earning"
        EARNING_RELEASE = "earning_release"
        ESCROW_RETURN = "escrow_return"
        BONUS = "bonus"
        REFUND = "refund"
        DISPUTE = "dispute"
        DISPUTE_WON = "dispute_won"
        PAYOUT = "payout"
        PAYOUT_RETURN = "payout_return"
        PAYOUT_SENT = "payout_sent"

    idempotency_key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    memo = models.CharField(max_length=255, blank=True)
    external_id = models.CharField(
        max_length=255,
        blank=True,
        db_index=True,
        help_text="The Stripe object behind a movement from or to the outside world (a charge, "
        "refund, dispute or transfer), matched against Stripe's balance transactions.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    releases = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="release",
        help_text="For an earning release: the earning whose pending amount it made available "
        "(at most one release per earning).",
    )

    def __str__(self) -> str:
        return self.idempotency_key


class LedgerEntry(models.Model):
    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="entries"
    )
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="entries")
    amount_mills = models.BigIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount_mills=0), name="ledger_entry_nonzero")
        ]
        indexes = [models.Index(fields=["account", "transaction"])]

    def __str__(self) -> str:
        return f"{self.account}: {self.amount_mills}"


class StripeEvent(models.Model):
    """A webhook event from Stripe, stored once (the event id is unique) before it is handled, so
    a delivery repeated, even at the same moment, is handled once."""

    class Status(models.TextChoices):
        RECEIVED = "received"
        PROCESSED = "processed"
        IGNORED = "ignored"
        FAILED = "failed"

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    account = models.CharField(
        max_length=255, blank=True, help_text="The connected account an event of Connect is from."
    )
    livemode = models.BooleanField(default=False)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class TopUp(models.Model):
    """A requester's payment through a Stripe Checkout Session. The balance is credited only by
    the verified webhook that says it was paid, never by the redirect back."""

    class Status(models.TextChoices):
        OPEN = "open"
        PAID = "paid"
        EXPIRED = "expired"

    owner = models.CharField(
        max_length=64, help_text="The ledger owner credited: 'organization:7'."
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    amount_mills = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    checkout_session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    checkout_url = models.URLField(max_length=2000, blank=True)
    payment_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    charge_id = models.CharField(max_length=255, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_mills__gt=0), name="top_up_positive")
        ]

    def __str__(self) -> str:
        return f"Top-up {self.pk} of {self.owner}"


class PayoutAccount(models.Model):
    """Where a worker's or vendor's payouts go: a Stripe Express account, ready once Stripe says
    (by `account.updated`) that it can receive payouts."""

    class Status(models.TextChoices):
        ONBOARDING = "onboarding"
        READY = "ready"
        RESTRICTED = "restricted"

    owner = models.CharField(max_length=64, unique=True, help_text="'worker:12' or 'vendor:3'.")
    stripe_account_id = models.CharField(max_length=255, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ONBOARDING)
    details_submitted = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    bank_fingerprint = models.CharField(
        max_length=255,
        blank=True,
        db_index=True,
        help_text="Stripe's fingerprint of the bank account behind it: the same bank account "
        "behind several payees is flagged for review.",
    )
    requirements_due = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.owner} → {self.stripe_account_id}"


class Payout(models.Model):
    """Money leaving the platform for one payee. Its amount left the payee's available balance
    when it was built; finance reviews it before it is sent; a rejection or a failure gives the
    amount back."""

    class Status(models.TextChoices):
        IN_REVIEW = "in_review"
        HELD = "held"
        APPROVED = "approved"
        SENT = "sent"
        PAID = "paid"
        FAILED = "failed"
        REJECTED = "rejected"

    TRANSITIONS = {
        Status.IN_REVIEW: {Status.APPROVED, Status.HELD, Status.REJECTED},
        Status.HELD: {Status.APPROVED, Status.REJECTED},
        Status.APPROVED: {Status.SENT, Status.PAID, Status.FAILED},
        Status.SENT: {Status.PAID, Status.FAILED},
        Status.PAID: {Status.FAILED},
    }
    # A payee has at most one payout in these states: its balance is in one place.
    OPEN_STATUSES = (Status.IN_REVIEW, Status.HELD, Status.APPROVED, Status.SENT)
    # The money of a payout in these states has left the platform.
    SENT_STATUSES = (Status.SENT, Status.PAID)

    class Rail(models.TextChoices):
        STRIPE = "stripe"
        MANUAL = "manual"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule"
        REQUEST = "request"

    owner = models.CharField(max_length=64, help_text="'worker:12' or 'vendor:3'.")
    payee_name = models.CharField(
        max_length=255, blank=True, help_text="Who the payee was when the payout was built."
    )
    amount_mills = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_REVIEW)
    rail = models.CharField(max_length=16, choices=Rail.choices)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    payout_account = models.ForeignKey(
        PayoutAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="payouts"
    )
    flags = models.JSONField(
        default=list, blank=True, help_text="Why review should look closer: [{code, detail}]."
    )
    earnings = models.ManyToManyField(
        LedgerTransaction,
        blank=True,
        related_name="payouts",
        help_text="The earnings and bonuses whose released amounts this payout carries.",
    )
    transfer_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    reference = models.CharField(
        max_length=255, blank=True, help_text="The manual rail's payment reference."
    )
    failure_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_mills__gt=0), name="payout_positive"),
            models.UniqueConstraint(
                fields=["owner"],
                condition=models.Q(status__in=["in_review", "held", "approved", "sent"]),
                name="payout_one_open_per_owner",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"Payout {self.pk} to {self.owner}"


class FinanceAction(models.Model):
    """Every finance decision, kept: who, when, what, and the note they gave."""

    class Action(models.TextChoices):
        APPROVE = "approve"
        HOLD = "hold"
        REJECT = "reject"
        MARK_PAID = "mark_paid"
        STATEMENT_EXPORT = "statement_export"

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=32, choices=Action.choices)
    payout = models.ForeignKey(
        Payout, null=True, blank=True, on_delete=models.PROTECT, related_name="actions"
    )
    note = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_id}"
