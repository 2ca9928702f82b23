"""Payouts: payout accounts, batches, finance review, transfers.

A payout's amount leaves the payee's available balance when the payout is built (into their
`payouts_in_flight` account), so it is never both available and in a payout. Sending it (a
Stripe transfer, or finance paying by hand with a reference) moves it to the platform's
clearing account, the way money leaves; a rejection or a failure gives it back to available.
Each of the three movements is posted at most once (keys `payout:<id>:reserve|sent|return`).
"""

from datetime import datetime, timedelta
from typing import Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.module_loading import import_string

from marketplace.errors import ApplicationError
from payments import locks, selectors, stripe_gateway
from payments.models import (
    FinanceAction,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Payout,
    PayoutAccount,
    StripeEvent,
)
from payments.money import format_usd
from payments.services import ledger

Kind = LedgerAccount.Kind
Status = Payout.Status


class PayeeFacts(Protocol):
    """What the workforce tells of a payee (settings.PAYOUT_PAYEE_FACTS returns one)."""

    name: str
    joined_at: datetime
    approved_count: int
    rejected_count: int
    gold_answered_count: int
    gold_correct_count: int


# Stripe answers that no retry can fix: the request itself is refused (the destination cannot
# receive, say). Anything else (no answer, a timeout, a 5xx, a rate limit) is retried.
STRIPE_REFUSALS = (400, 402, 404)


# --- Payout accounts ----------------------------------------------------------------------------
def payout_account_connect(*, owner: str, email: str, refresh_url: str, return_url: str) -> str:
    """The onboarding address of the payee's Stripe Express account, created the first time.

    The Stripe idempotency key is the owner's, so two calls at once create one account at
    Stripe, and the unique owner keeps one PayoutAccount row."""
    _payee_kinds(owner)
    if not stripe_gateway.configured():
        raise ApplicationError(
            "stripe_not_configured", "Payouts through Stripe are not set up on this platform."
        )
    account = selectors.payout_account_for(owner=owner)
    try:
        if account is None:
            created = stripe_gateway.express_account_create(
                email=email, metadata={"owner": owner}, idempotency_key=f"payout-account:{owner}"
            )
            try:
                with transaction.atomic():
                    account = PayoutAccount.objects.create(
                        owner=owner, stripe_account_id=created.id
                    )
            except IntegrityError:
                account = PayoutAccount.objects.get(owner=owner)
        return stripe_gateway.account_link_create(
            account_id=account.stripe_account_id, refresh_url=refresh_url, return_url=return_url
        )
    except stripe_gateway.StripeError as error:
        raise ApplicationError(
            "stripe_unavailable", f"Stripe could not be reached: {error}", status=502
        ) from None


# --- Building payouts ---------------------------------------------------------------------------
def payout_request(*, owner: str) -> Payout:
    """The payee asks to be paid their available balance now."""
    return _payout_create(owner=owner, trigger=Payout.Trigger.REQUEST, now=timezone.now())


def payouts_build(*, now: datetime | None = None) -> list[Payout]:
    """The weekly batch: a payout for every payee whose available balance reaches the minimum
    and who has no open payout. A payee who asked meanwhile, or who cannot be paid by Stripe
    yet (no ready payout account), is skipped."""
    now = now or timezone.now()
    owners = (
        LedgerEntry.objects.filter(account__kind__in=[Kind.WORKER_AVAILABLE, Kind.VENDOR_AVAILABLE])
        .values_list("account__owner", flat=True)
        .annotate(total=Sum("amount_mills"))
        .filter(total__gte=settings.PAYOUT_MINIMUM_MILLS)
        .order_by("account__owner")
    )
    built = []
    for owner in owners:
        try:
            built.append(_payout_create(owner=owner, trigger=Payout.Trigger.SCHEDULE, now=now))
        except ApplicationError as error:
            if error.code not in ("payout_open", "below_minimum", "payout_account_not_ready"):
                raise
    return built


@transaction.atomic
def _payout_create(*, owner: str, trigger: str, now: datetime) -> Payout:
    pending_kind, available_kind = _payee_kinds(owner)
    available = ledger.account_get(kind=available_kind, owner=owner)
    # The same lock as every movement of this balance: a request and the batch at once build one.
    list(locks.ledger_accounts_for_update(pks=[available.pk]))
    balance = selectors.account_balance_mills(account=available)
    payout_account = selectors.payout_account_for(owner=owner)
    refusal = _refusal(owner=owner, available_mills=balance, payout_account=payout_account)
    if refusal is not None:
        raise refusal
    amount = balance - balance % 10  # Stripe pays whole cents; the rest stays available.
    rail = selectors.payout_rail()
    if rail == Payout.Rail.MANUAL:
        payout_account = None
    facts = import_string(settings.PAYOUT_PAYEE_FACTS)(owner=owner)
    try:
        with transaction.atomic():
            payout = Payout.objects.create(
                owner=owner,
                payee_name=facts.name[:255],
                amount_mills=amount,
                rail=rail,
                trigger=trigger,
                payout_account=payout_account,
                flags=_flags(
                    owner=owner,
                    facts=facts,
                    pending_kind=pending_kind,
                    amount_mills=amount,
                    payout_account=payout_account,
                    now=now,
                ),
            )
    except IntegrityError:  # payout_one_open_per_owner
        raise _payout_open() from None
    ledger.ledger_post(
        idempotency_key=f"payout:{payout.pk}:reserve",
        kind=LedgerTransaction.Kind.PAYOUT,
        memo=f"Payout {payout.pk} to {owner}",
        entries=[(available, -amount), (_in_flight(owner), amount)],
    )
    payout.earnings.set(_earnings_not_carried(owner=owner, pending_kind=pending_kind))
    return payout


def payout_request_refusal(*, owner: str, available_mills: int) -> ApplicationError | None:
    """Why `payout_request` would refuse this payee now, or None: for a page to say before the
    payee asks. The request checks again under the balance's lock."""
    return _refusal(
        owner=owner,
        available_mills=available_mills,
        payout_account=selectors.payout_account_for(owner=owner),
    )


def _refusal(
    *, owner: str, available_mills: int, payout_account: PayoutAccount | None
) -> ApplicationError | None:
    """The rules a payout is built under: no other payout open, at least the minimum in whole
    cents, and on the Stripe rail a payout account Stripe says is ready."""
    if Payout.objects.filter(owner=owner, status__in=Payout.OPEN_STATUSES).exists():
        return _payout_open()
    if available_mills - available_mills % 10 < settings.PAYOUT_MINIMUM_MILLS:
        return ApplicationError(
            "below_minimum",
            f"Payouts start at ${format_usd(settings.PAYOUT_MINIMUM_MILLS)}; "
            f"the available balance is ${format_usd(available_mills)}.",
        )
    ready = payout_account is not None and payout_account.status == PayoutAccount.Status.READY
    if selectors.payout_rail() == Payout.Rail.STRIPE and not ready:
        return ApplicationError(
            "payout_account_not_ready",
            "Connect a payout account, and finish Stripe's onboarding, before asking for a payout.",
        )
    return None


def _payout_open() -> ApplicationError:
    return ApplicationError(
        "payout_open", "A payout of this balance is already on its way.", status=409
    )


def _payee_kinds(owner: str) -> tuple[str, str]:
    kinds = selectors.PAYEE_KINDS.get(owner.partition(":")[0])
    if kinds is None:
        raise ApplicationError("invalid_payee", f"{owner} cannot be paid out.")
    return kinds


def _earnings_not_carried(*, owner: str, pending_kind: str):
    """The payee's released earnings and bonuses no live payout carries yet."""
    live = [status for status in Status if status not in (Status.REJECTED, Status.FAILED)]
    return (
        LedgerTransaction.objects.filter(
            kind__in=selectors.EARNING_KINDS,
            entries__account__kind=pending_kind,
            entries__account__owner=owner,
            release__isnull=False,
        )
        .exclude(payouts__status__in=live)
        .distinct()
    )


# --- Review flags -------------------------------------------------------------------------------
def _flags(
    *,
    owner: str,
    facts: PayeeFacts,
    pending_kind: str,
    amount_mills: int,
    payout_account: PayoutAccount | None,
    now: datetime,
) -> list[dict[str, str]]:
    """Why finance should look closer at this payout, as [{code, detail}], from what the
    workforce knows of the payee (`facts`, see settings.PAYOUT_PAYEE_FACTS) and the ledger."""
    flags = []
    new_since = now - timedelta(days=settings.PAYOUT_NEW_ACCOUNT_DAYS)
    if facts.joined_at > new_since:
        flags.append(_flag("new_account", f"The payee joined on {facts.joined_at:%Y-%m-%d}."))
    elif payout_account is not None and payout_account.created_at > new_since:
        flags.append(
            _flag(
                "new_account",
                f"The payout account was connected on {payout_account.created_at:%Y-%m-%d}.",
            )
        )
    if amount_mills > settings.PAYOUT_REVIEW_THRESHOLD_MILLS:
        flags.append(
            _flag(
                "over_threshold",
                f"${format_usd(amount_mills)} is above the review threshold of "
                f"${format_usd(settings.PAYOUT_REVIEW_THRESHOLD_MILLS)}.",
            )
        )
    reviewed = facts.approved_count + facts.rejected_count
    if (
        reviewed >= 10
        and facts.rejected_count * 100 > settings.PAYOUT_REJECTION_RATE_PERCENT * reviewed
    ):
        flags.append(
            _flag(
                "rejection_rate",
                f"{facts.rejected_count} of {reviewed} reviewed answers were rejected.",
            )
        )
    answered = facts.gold_answered_count
    failed = answered - facts.gold_correct_count
    if answered >= 10 and failed * 100 > settings.PAYOUT_GOLD_FAILURE_RATE_PERCENT * answered:
        flags.append(_flag("gold_failure_rate", f"{failed} of {answered} gold answers were wrong."))
    last_week = _earned_mills(
        owner=owner, kind=pending_kind, start=now - timedelta(days=7), end=now
    )
    weeks_before = _earned_mills(
        owner=owner, kind=pending_kind, start=now - timedelta(days=35), end=now - timedelta(days=7)
    )
    if weeks_before > 0 and last_week * 4 > settings.PAYOUT_VELOCITY_FACTOR * weeks_before:
        flags.append(
            _flag(
                "velocity",
                f"${format_usd(last_week)} earned in the last 7 days against a weekly average "
                f"of ${format_usd(weeks_before // 4)} over the 4 weeks before.",
            )
        )
    if payout_account is not None and payout_account.bank_fingerprint:
        others = (
            PayoutAccount.objects.filter(bank_fingerprint=payout_account.bank_fingerprint)
            .exclude(owner=owner)
            .order_by("owner")
            .values_list("owner", flat=True)
        )
        if others:
            flags.append(
                _flag(
                    "shared_payout_account",
                    f"The same bank account receives the payouts of {', '.join(others)}.",
                )
            )
    return flags


def _flag(code: str, detail: str) -> dict[str, str]:
    return {"code": code, "detail": detail}


def _earned_mills(*, owner: str, kind: str, start: datetime, end: datetime) -> int:
    """What the payee earned (approved work and bonuses) in [start, end), from the ledger."""
    total = LedgerEntry.objects.filter(
        account__kind=kind,
        account__owner=owner,
        transaction__kind__in=selectors.EARNING_KINDS,
        transaction__created_at__gte=start,
        transaction__created_at__lt=end,
    ).aggregate(total=Sum("amount_mills"))["total"]
    return total or 0


# --- Finance review -----------------------------------------------------------------------------
@transaction.atomic
def payout_approve(*, payout: Payout, actor, note: str = "") -> Payout:
    """Finance approves: on the Stripe rail the transfer is sent after the commit (once, even
    when two approvals arrive at once: the second finds the payout approved, a 409)."""
    payout = _decide(payout=payout, actor=actor, action=FinanceAction.Action.APPROVE, note=note)
    if payout.rail == Payout.Rail.STRIPE:
        from payments import tasks

        payout_id = payout.pk
        transaction.on_commit(lambda: tasks.payout_send_task.delay(payout_id))
    return payout


@transaction.atomic
def payout_hold(*, payout: Payout, actor, note: str) -> Payout:
    """Finance keeps the payout back to look into it; the amount stays in the payout."""
    _note_required(note)
    return _decide(payout=payout, actor=actor, action=FinanceAction.Action.HOLD, note=note)


@transaction.atomic
def payout_reject(*, payout: Payout, actor, note: str) -> Payout:
    """Finance refuses the payout: its amount goes back to the payee's available balance."""
    _note_required(note)
    payout = _decide(payout=payout, actor=actor, action=FinanceAction.Action.REJECT, note=note)
    _post_return(payout=payout)
    return payout


# A review decision → the status it moves the payout to.
DECIDED_STATUS = {
    FinanceAction.Action.APPROVE: Status.APPROVED,
    FinanceAction.Action.HOLD: Status.HELD,
    FinanceAction.Action.REJECT: Status.REJECTED,
}


def _decide(*, payout: Payout, actor, action: str, note: str) -> Payout:
    """Move the locked payout to the decision's status, with the decision recorded."""
    to = DECIDED_STATUS[action]
    payout = _payout_locked(payout=payout, to=to)
    _finance_action(payout=payout, actor=actor, action=action, to=to, note=note)
    payout.status = to
    payout.reviewed_at = timezone.now()
    payout.save(update_fields=["status", "reviewed_at"])
    return payout


@transaction.atomic
def payout_mark_paid(*, payout: Payout, actor, reference: str, note: str = "") -> Payout:
    """On the manual rail, finance paid an approved payout by hand: the reference of that
    payment (a bank transfer's, say) is kept on the payout and on the ledger."""
    reference = reference.strip()
    if not reference:
        raise ApplicationError(
            "reference_required", "Give the reference of the payment made.", field="reference"
        )
    locked = _payout_locked(payout=payout, to=Status.PAID)
    if locked.rail != Payout.Rail.MANUAL or locked.status != Status.APPROVED:
        raise ApplicationError(
            "invalid_transition",
            "Only an approved payout of the manual rail is marked paid by hand.",
            status=409,
        )
    _finance_action(
        payout=locked,
        actor=actor,
        action=FinanceAction.Action.MARK_PAID,
        to=Status.PAID,
        note=note,
        detail={"reference": reference},
    )
    now = timezone.now()
    _post_sent(payout=locked, external_id=reference, now=now)
    locked.status = Status.PAID
    locked.reference = reference
    locked.paid_at = now
    locked.save(update_fields=["status", "reference", "paid_at"])
    return locked


def _note_required(note: str) -> None:
    if not note.strip():
        raise ApplicationError("note_required", "Say why, for the record.", field="note")


def _payout_locked(*, payout: Payout, to: str) -> Payout:
    """The payout, locked and read again, if it may move to `to` from where it is now."""
    locked = locks.payout_for_update(pk=payout.pk)
    if to not in Payout.TRANSITIONS.get(locked.status, set()):
        raise ApplicationError(
            "invalid_transition",
            f"A payout that is {locked.get_status_display().lower()} cannot become {to}.",
            status=409,
        )
    return locked


def _finance_action(
    *, payout: Payout, actor, action: str, to: str, note: str, detail: dict | None = None
) -> None:
    """The decision, kept with the payout's move (before the payout row changes)."""
    FinanceAction.objects.create(
        actor=actor,
        action=action,
        payout=payout,
        note=note,
        detail={"from": payout.status, "to": to, **(detail or {})},
    )


# --- Sending ------------------------------------------------------------------------------------
def payout_send(*, payout_id: int) -> Payout:
    """Send an approved Stripe payout as a transfer to the payee's connected account.

    Nothing is posted until Stripe has answered. The idempotency key is the payout's, so a
    retry after a lost answer gets the transfer made the first time, never a second one. A
    refusal fails the payout and gives the amount back; any other Stripe error is raised for
    the task to retry later."""
    payout = Payout.objects.select_related("payout_account").get(pk=payout_id)
    if payout.status != Status.APPROVED or payout.rail != Payout.Rail.STRIPE:
        return payout
    try:
        transfer = stripe_gateway.transfer_create(
            amount_cents=payout.amount_mills // 10,
            destination=payout.payout_account.stripe_account_id,
            metadata={"payout_id": str(payout.pk), "owner": payout.owner},
            idempotency_key=f"payout:{payout.pk}",
        )
    except stripe_gateway.StripeError as error:
        if error.http_status not in STRIPE_REFUSALS:
            raise
        return _payout_fail(
            payout_id=payout_id,
            reason=f"Stripe refused the transfer: {error.user_message or error}",
            only_from=(Status.APPROVED,),
        )
    return _payout_sent(payout_id=payout_id, transfer_id=transfer.id)


@transaction.atomic
def _payout_sent(*, payout_id: int, transfer_id: str) -> Payout:
    payout = locks.payout_for_update(pk=payout_id)
    if payout.status != Status.APPROVED:  # the transfer.created webhook came first
        return payout
    _post_sent(payout=payout, external_id=transfer_id, now=timezone.now())
    payout.status = Status.SENT
    payout.transfer_id = transfer_id
    payout.save(update_fields=["status", "transfer_id"])
    return payout


@transaction.atomic
def _payout_fail(*, payout_id: int, reason: str, only_from: tuple[str, ...]) -> Payout:
    payout = locks.payout_for_update(pk=payout_id)
    if payout.status not in only_from:
        return payout
    payout.status = Status.FAILED
    payout.failure_reason = reason[:500]
    payout.failed_at = timezone.now()
    payout.save(update_fields=["status", "failure_reason", "failed_at"])
    _post_return(payout=payout)
    return payout


def _in_flight(owner: str) -> LedgerAccount:
    return ledger.account_get(kind=Kind.PAYOUTS_IN_FLIGHT, owner=owner)


def _clearing() -> LedgerAccount:
    return ledger.account_get(kind=Kind.FUNDING_CLEARING, owner=ledger.PLATFORM)


def _post_sent(*, payout: Payout, external_id: str, now: datetime) -> None:
    """The amount leaves the platform: in flight → clearing, with the transfer or reference."""
    sent = ledger.ledger_post(
        idempotency_key=f"payout:{payout.pk}:sent",
        kind=LedgerTransaction.Kind.PAYOUT_SENT,
        memo=f"Payout {payout.pk} to {payout.owner} sent",
        entries=[
            (_in_flight(payout.owner), -payout.amount_mills),
            (_clearing(), payout.amount_mills),
        ],
    )
    if sent.external_id != external_id:
        sent.external_id = external_id
        sent.save(update_fields=["external_id"])
    payout.sent_at = now
    payout.save(update_fields=["sent_at"])


def _post_return(*, payout: Payout) -> None:
    """The amount comes back to the payee's available balance: from clearing when it had been
    sent, else from the payout in flight."""
    _, available_kind = _payee_kinds(payout.owner)
    source = _clearing() if payout.sent_at is not None else _in_flight(payout.owner)
    ledger.ledger_post(
        idempotency_key=f"payout:{payout.pk}:return",
        kind=LedgerTransaction.Kind.PAYOUT_RETURN,
        memo=f"Payout {payout.pk} to {payout.owner} returned",
        entries=[
            (source, -payout.amount_mills),
            (ledger.account_get(kind=available_kind, owner=payout.owner), payout.amount_mills),
        ],
    )


# --- Webhook handlers (mapped in services/webhooks.py) ------------------------------------------
def payout_account_updated(obj: dict, event: StripeEvent) -> None:
    """account.updated: what Stripe says the connected account can do now."""
    account = locks.payout_account_for_update(stripe_account_id=obj["id"])
    if account is None:
        raise ApplicationError("unknown_account", f"No payout account is {obj['id']}.")
    account.details_submitted = bool(obj.get("details_submitted"))
    account.payouts_enabled = bool(obj.get("payouts_enabled"))
    account.requirements_due = list((obj.get("requirements") or {}).get("currently_due") or [])
    bank_accounts = (obj.get("external_accounts") or {}).get("data") or []
    if bank_accounts and bank_accounts[0].get("fingerprint"):
        account.bank_fingerprint = bank_accounts[0]["fingerprint"]
    if account.payouts_enabled:
        account.status = PayoutAccount.Status.READY
        account.ready_at = account.ready_at or timezone.now()
    elif account.ready_at is not None:
        account.status = PayoutAccount.Status.RESTRICTED
    else:
        account.status = PayoutAccount.Status.ONBOARDING
    account.save()


def transfer_created(obj: dict, event: StripeEvent) -> None:
    """transfer.created: Stripe confirms the transfer, so the payout is paid. If the answer to
    the transfer request had been lost (still approved), the sending is posted here."""
    payout = _payout_of_transfer(obj)
    if payout.status == Status.PAID:
        return
    if payout.status not in (Status.APPROVED, Status.SENT):
        raise ApplicationError(
            "invalid_transition", f"Payout {payout.pk} is {payout.status}, not being sent."
        )
    now = timezone.now()
    if payout.status == Status.APPROVED:
        _post_sent(payout=payout, external_id=obj["id"], now=now)
        payout.transfer_id = obj["id"]
    payout.status = Status.PAID
    payout.paid_at = now
    payout.save(update_fields=["status", "transfer_id", "paid_at"])


def transfer_reversed(obj: dict, event: StripeEvent) -> None:
    """transfer.reversed: the money came back from the connected account, so the payout failed
    and its amount is available to the payee again."""
    payout = _payout_of_transfer(obj)
    if payout.status == Status.FAILED:
        return
    if obj.get("amount_reversed", obj["amount"]) < obj["amount"]:
        raise ApplicationError(
            "partial_reversal",
            f"Only {obj['amount_reversed']} of {obj['amount']} cents of {obj['id']} were "
            "reversed: settle it by hand.",
        )
    _payout_fail(
        payout_id=payout.pk,
        reason=f"Stripe reversed the transfer {obj['id']}.",
        only_from=(Status.APPROVED, Status.SENT, Status.PAID),
    )


def bank_payout_failed(obj: dict, event: StripeEvent) -> None:
    """payout.failed on a connected account: the payee's bank refused Stripe's payout. Our
    transfer stands (the money is in their Stripe balance); their account needs a new bank
    account before it is paid again."""
    account = locks.payout_account_for_update(stripe_account_id=event.account)
    if account is None:
        raise ApplicationError("unknown_account", f"No payout account is {event.account!r}.")
    account.status = PayoutAccount.Status.RESTRICTED
    if "external_account" not in account.requirements_due:
        account.requirements_due = [*account.requirements_due, "external_account"]
    account.save(update_fields=["status", "requirements_due", "updated_at"])


def _payout_of_transfer(obj: dict) -> Payout:
    """The payout a transfer event is about (by its metadata), locked, checked against it."""
    payout_id = str((obj.get("metadata") or {}).get("payout_id", ""))
    if not payout_id.isdigit():
        raise ApplicationError("unknown_payout", f"The transfer {obj['id']} names no payout.")
    payout = locks.payouts_for_update(pks=[int(payout_id)]).first()
    if payout is None:
        raise ApplicationError("unknown_payout", f"No payout {payout_id}.")
    if payout.transfer_id not in (None, obj["id"]) or obj["amount"] * 10 != payout.amount_mills:
        raise ApplicationError(
            "transfer_mismatch", f"The transfer {obj['id']} is not the one of payout {payout.pk}."
        )
    return payout
