"""A double-entry ledger in integer mills (1 USD = 1000 mills).

An account's balance is the sum of its entries; every transaction's entries sum to zero, so the
sum over all accounts is zero at all times. Money that comes from or goes to the outside world
passes through a clearing account, which is why that account's balance is negative.
"""

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

    idempotency_key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    memo = models.CharField(max_length=255, blank=True)
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
