"""Payouts on the manual rail (Stripe not configured): building, finance review, review flags.

Helpers here are shared by test_payouts_stripe.py and test_payouts_races.py.
"""

import itertools
from contextlib import contextmanager
from datetime import datetime, timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.utils import timezone

from marketplace.errors import ApplicationError
from payments import selectors
from payments.models import FinanceAction, LedgerAccount, LedgerTransaction, Payout
from payments.services import ledger
from payments.services import payouts as services
from tests.factories import UserFactory, WorkerFactory
from tests.workforce.test_teams_services import invite, vendor_with_manager
from workforce.selectors.payees import PayeeFacts, payee_facts
from workforce.services import teams
from workforce.services import workers as worker_services

Kind = LedgerAccount.Kind
ORG = "organization:900"
_numbers = itertools.count(1)


# --- helpers ------------------------------------------------------------------------------------
@contextmanager
def at(when: datetime):
    """Everything written inside happens at `when` (its created_at, and `timezone.now()`)."""
    with mock.patch("django.utils.timezone.now", return_value=when):
        yield


def earn(payee: str, amount_mills: int, *, kind: str = Kind.WORKER_PENDING) -> LedgerTransaction:
    """Approved work for the payee, paid from a freshly funded escrow: pending, not released."""
    n = next(_numbers)
    cost = amount_mills + ledger.platform_fee_mills(amount_mills=amount_mills)
    ledger.funding_record(owner=ORG, amount_mills=cost, reference=f"payouts-test-{n}")
    ledger.escrow_reserve(
        payer=ORG, escrow_owner=f"job:{n}", amount_mills=cost, idempotency_key=f"job:{n}:escrow"
    )
    return ledger.earning_record(
        escrow_owner=f"job:{n}",
        payee_owner=payee,
        payee_kind=kind,
        amount_mills=amount_mills,
        service_fee_mills=0,
        idempotency_key=f"job:{n}:earning",
    )


def release_all() -> None:
    """The hold is over for every earning posted so far."""
    later = timezone.now() + timedelta(days=settings.EARNINGS_HOLD_DAYS + 1)
    ledger.earnings_release_due(now=later)


def earn_available(payee: str, amount_mills: int, **kwargs) -> LedgerTransaction:
    earning = earn(payee, amount_mills, **kwargs)
    release_all()
    return earning


def money(owner: str) -> dict[str, int]:
    return selectors.payee_balances_mills(owner=owner)


def clearing() -> int:
    return selectors.balance_mills(kind=Kind.FUNDING_CLEARING, owner="platform")


def entries(key: str) -> list[tuple[str, str, int]]:
    """A ledger transaction's entries as (account kind, owner, amount), sorted."""
    posted = LedgerTransaction.objects.get(idempotency_key=key).entries.select_related("account")
    return sorted((e.account.kind, e.account.owner, e.amount_mills) for e in posted)


def veteran_worker():
    """A worker who joined long before PAYOUT_NEW_ACCOUNT_DAYS."""
    with at(timezone.now() - timedelta(days=90)):
        return WorkerFactory()


def snapshot() -> tuple:
    """Every row payouts write, to assert that a refusal changed nothing."""
    return (
        list(Payout.objects.order_by("pk").values()),
        list(FinanceAction.objects.order_by("pk").values()),
        list(LedgerTransaction.objects.order_by("pk").values_list("pk", "idempotency_key")),
    )


@pytest.fixture
def finance():
    return UserFactory()


pytestmark = pytest.mark.django_db


# --- building -----------------------------------------------------------------------------------
def test_a_request_moves_the_available_balance_in_whole_cents_into_a_payout():
    worker = veteran_worker()
    owner = worker.ledger_owner
    earning = earn_available(owner, 12_345)

    payout = services.payout_request(owner=owner)

    assert (payout.amount_mills, payout.status) == (12_340, Payout.Status.IN_REVIEW)
    assert (payout.rail, payout.trigger) == (Payout.Rail.MANUAL, Payout.Trigger.REQUEST)
    assert payout.payee_name == str(worker)
    assert payout.payout_account is None
    assert payout.flags == []
    assert money(owner) == {"pending": 0, "available": 5, "in_payout": 12_340, "paid": 0}
    assert entries(f"payout:{payout.pk}:reserve") == [
        (Kind.PAYOUTS_IN_FLIGHT, owner, 12_340),
        (Kind.WORKER_AVAILABLE, owner, -12_340),
    ]
    assert list(selectors.payout_earnings(payout=payout)) == [earning]


def test_a_request_below_the_minimum_is_refused_and_says_the_minimum(settings):
    settings.PAYOUT_MINIMUM_MILLS = 10_000
    owner = veteran_worker().ledger_owner
    earn_available(owner, 10_009)  # 10_000 in whole cents would do; 9_999 would not
    other = veteran_worker().ledger_owner
    earn_available(other, 9_999)
    before = snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.payout_request(owner=other)

    assert (refused.value.code, refused.value.status) == ("below_minimum", 400)
    assert refused.value.message == ("Payouts start at $10.000; the available balance is $9.999.")
    assert snapshot() == before
    assert services.payout_request(owner=owner).amount_mills == 10_000


def test_a_second_request_while_a_payout_is_open_is_a_409():
    owner = veteran_worker().ledger_owner
    earn_available(owner, 20_000)
    first = services.payout_request(owner=owner)
    earn_available(owner, 15_000)
    before = snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.payout_request(owner=owner)

    assert (refused.value.code, refused.value.status) == ("payout_open", 409)
    assert snapshot() == before
    assert list(Payout.objects.values_list("pk", flat=True)) == [first.pk]
    assert money(owner)["available"] == 15_000


def test_only_workers_and_vendors_are_paid_out():
    with pytest.raises(ApplicationError) as refused:
        services.payout_request(owner=ORG)

    assert refused.value.code == "invalid_payee"
    assert Payout.objects.count() == 0


def test_the_batch_pays_every_payee_at_the_minimum_without_an_open_payout(settings):
    settings.PAYOUT_MINIMUM_MILLS = 10_000
    due = veteran_worker().ledger_owner
    earn_available(due, 10_004)
    short = veteran_worker().ledger_owner
    earn_available(short, 9_990)
    asked = veteran_worker().ledger_owner
    earn_available(asked, 30_000)
    requested = services.payout_request(owner=asked)
    earn_available(asked, 12_000)  # more since, but their payout is still open
    vendor, _ = vendor_with_manager()
    earn_available(vendor.ledger_owner, 50_000, kind=Kind.VENDOR_PENDING)

    built = services.payouts_build()

    assert sorted((p.owner, p.amount_mills, p.trigger) for p in built) == sorted(
        [
            (due, 10_000, Payout.Trigger.SCHEDULE),
            (vendor.ledger_owner, 50_000, Payout.Trigger.SCHEDULE),
        ]
    )
    assert Payout.objects.count() == 3
    assert money(short) == {"pending": 0, "available": 9_990, "in_payout": 0, "paid": 0}
    assert money(asked) == {"pending": 0, "available": 12_000, "in_payout": 30_000, "paid": 0}
    assert money(due)["available"] == 4
    assert money(vendor.ledger_owner)["in_payout"] == 50_000
    assert Payout.objects.get(pk=requested.pk).status == Payout.Status.IN_REVIEW
    assert services.payouts_build() == []


def test_a_payout_carries_the_released_earnings_no_live_payout_carries(finance):
    owner = veteran_worker().ledger_owner
    first = earn_available(owner, 8_000)
    bonus = ledger.bonus_pay(
        payer=funded_payer(), payee_owner=owner, amount_mills=4_000, idempotency_key="bonus:1"
    )
    release_all()
    still_held = earn(owner, 1_000)
    payout = services.payout_request(owner=owner)
    assert set(selectors.payout_earnings(payout=payout)) == {first, bonus}
    assert money(owner) == {"pending": 1_000, "available": 0, "in_payout": 12_000, "paid": 0}

    services.payout_reject(payout=payout, actor=finance, note="Checking the account first.")
    again = services.payout_request(owner=owner)
    assert set(selectors.payout_earnings(payout=again)) == {first, bonus}

    services.payout_approve(payout=again, actor=finance)
    services.payout_mark_paid(payout=again, actor=finance, reference="WIRE-1")
    release_all()
    later = earn_available(owner, 10_000)
    third = services.payout_request(owner=owner)
    assert set(selectors.payout_earnings(payout=third)) == {still_held, later}
    assert third.amount_mills == 11_000


def funded_payer() -> str:
    """A requester with money for a bonus (the bonus and its platform fee)."""
    ledger.funding_record(owner=ORG, amount_mills=100_000, reference=f"bonus-{next(_numbers)}")
    return ORG


# --- finance review -----------------------------------------------------------------------------
def test_manual_rail_approve_then_mark_paid_sends_the_money_with_the_reference(
    finance, django_capture_on_commit_callbacks
):
    owner = veteran_worker().ledger_owner
    earn_available(owner, 25_008)
    payout = services.payout_request(owner=owner)
    clearing_before = clearing()

    with django_capture_on_commit_callbacks() as queued:
        approved = services.payout_approve(payout=payout, actor=finance, note="Looks right.")

    assert queued == []  # the manual rail sends nothing to Stripe
    assert approved.status == Payout.Status.APPROVED
    assert approved.reviewed_at is not None
    assert money(owner) == {"pending": 0, "available": 8, "in_payout": 25_000, "paid": 0}

    paid = services.payout_mark_paid(
        payout=approved, actor=finance, reference=" WIRE-2024-001 ", note="Paid by bank."
    )

    assert paid.status == Payout.Status.PAID
    assert paid.reference == "WIRE-2024-001"
    assert paid.sent_at is not None and paid.paid_at is not None
    assert money(owner) == {"pending": 0, "available": 8, "in_payout": 0, "paid": 25_000}
    assert clearing() == clearing_before + 25_000
    sent = LedgerTransaction.objects.get(idempotency_key=f"payout:{payout.pk}:sent")
    assert (sent.kind, sent.external_id) == (LedgerTransaction.Kind.PAYOUT_SENT, "WIRE-2024-001")
    assert entries(sent.idempotency_key) == [
        (Kind.FUNDING_CLEARING, "platform", 25_000),
        (Kind.PAYOUTS_IN_FLIGHT, owner, -25_000),
    ]
    assert list(
        FinanceAction.objects.filter(payout=payout).values_list("actor", "action", "note", "detail")
    ) == [
        (finance.pk, "approve", "Looks right.", {"from": "in_review", "to": "approved"}),
        (
            finance.pk,
            "mark_paid",
            "Paid by bank.",
            {"from": "approved", "to": "paid", "reference": "WIRE-2024-001"},
        ),
    ]


def test_mark_paid_needs_a_reference_and_an_approved_payout(finance):
    owner = veteran_worker().ledger_owner
    earn_available(owner, 20_000)
    payout = services.payout_request(owner=owner)
    before = snapshot()

    with pytest.raises(ApplicationError) as not_approved:
        services.payout_mark_paid(payout=payout, actor=finance, reference="WIRE-1")
    after_refusal = snapshot()
    services.payout_approve(payout=payout, actor=finance)
    with pytest.raises(ApplicationError) as no_reference:
        services.payout_mark_paid(payout=payout, actor=finance, reference="   ")

    assert (not_approved.value.code, not_approved.value.status) == ("invalid_transition", 409)
    assert after_refusal == before
    assert (no_reference.value.code, no_reference.value.fields) == (
        "reference_required",
        {"reference": ["Give the reference of the payment made."]},
    )
    assert Payout.objects.get(pk=payout.pk).status == Payout.Status.APPROVED
    assert money(owner) == {"pending": 0, "available": 0, "in_payout": 20_000, "paid": 0}


def test_reject_needs_a_note_and_gives_the_amount_back(finance):
    owner = veteran_worker().ledger_owner
    earn_available(owner, 20_005)
    payout = services.payout_request(owner=owner)
    before = snapshot()

    with pytest.raises(ApplicationError) as no_note:
        services.payout_reject(payout=payout, actor=finance, note=" ")
    assert (no_note.value.code, list(no_note.value.fields)) == ("note_required", ["note"])
    assert snapshot() == before

    rejected = services.payout_reject(payout=payout, actor=finance, note="Fraud suspected.")

    assert rejected.status == Payout.Status.REJECTED
    assert money(owner) == {"pending": 0, "available": 20_005, "in_payout": 0, "paid": 0}
    assert entries(f"payout:{payout.pk}:return") == [
        (Kind.PAYOUTS_IN_FLIGHT, owner, -20_000),
        (Kind.WORKER_AVAILABLE, owner, 20_000),
    ]
    action = FinanceAction.objects.get(payout=payout)
    assert (action.action, action.note, action.detail) == (
        "reject",
        "Fraud suspected.",
        {"from": "in_review", "to": "rejected"},
    )


def test_hold_needs_a_note_then_the_held_payout_can_be_approved(finance):
    owner = veteran_worker().ledger_owner
    earn_available(owner, 20_000)
    payout = services.payout_request(owner=owner)

    with pytest.raises(ApplicationError) as no_note:
        services.payout_hold(payout=payout, actor=finance, note="")
    held = services.payout_hold(payout=payout, actor=finance, note="Asked for ID.")
    with pytest.raises(ApplicationError) as held_twice:
        services.payout_hold(payout=held, actor=finance, note="Again.")
    approved = services.payout_approve(payout=held, actor=finance, note="ID checked.")

    assert no_note.value.code == "note_required"
    assert (held_twice.value.code, held_twice.value.status) == ("invalid_transition", 409)
    assert approved.status == Payout.Status.APPROVED
    assert money(owner) == {"pending": 0, "available": 0, "in_payout": 20_000, "paid": 0}
    assert list(FinanceAction.objects.values_list("action", "note")) == [
        ("hold", "Asked for ID."),
        ("approve", "ID checked."),
    ]


def test_a_decision_out_of_order_is_a_409_and_changes_nothing(finance):
    owner = veteran_worker().ledger_owner
    earn_available(owner, 20_000)
    payout = services.payout_request(owner=owner)
    services.payout_approve(payout=payout, actor=finance)
    before = snapshot()

    for decide in (
        lambda: services.payout_approve(payout=payout, actor=finance),
        lambda: services.payout_reject(payout=payout, actor=finance, note="Too late."),
        lambda: services.payout_hold(payout=payout, actor=finance, note="Too late."),
    ):
        with pytest.raises(ApplicationError) as refused:
            decide()
        assert (refused.value.code, refused.value.status) == ("invalid_transition", 409)

    assert snapshot() == before
    assert money(owner) == {"pending": 0, "available": 0, "in_payout": 20_000, "paid": 0}


def test_a_stale_payout_object_is_checked_against_the_row(finance):
    owner = veteran_worker().ledger_owner
    earn_available(owner, 20_000)
    payout = services.payout_request(owner=owner)
    services.payout_reject(payout=Payout.objects.get(pk=payout.pk), actor=finance, note="No.")

    with pytest.raises(ApplicationError) as refused:
        services.payout_approve(payout=payout, actor=finance)  # still says in_review

    assert refused.value.code == "invalid_transition"
    assert Payout.objects.get(pk=payout.pk).status == Payout.Status.REJECTED
    assert money(owner)["available"] == 20_000


# --- flags --------------------------------------------------------------------------------------
def flag_codes(payout: Payout) -> list[str]:
    return [flag["code"] for flag in payout.flags]


def test_a_payee_who_joined_recently_is_flagged_new_account(settings):
    settings.PAYOUT_NEW_ACCOUNT_DAYS = 14
    now = timezone.now()
    with at(now - timedelta(days=13)):
        recent = WorkerFactory()
    with at(now - timedelta(days=15)):
        older = WorkerFactory()
    earn_available(recent.ledger_owner, 10_000)
    earn_available(older.ledger_owner, 10_000)

    recent_payout = services.payout_request(owner=recent.ledger_owner)
    older_payout = services.payout_request(owner=older.ledger_owner)

    assert recent_payout.flags == [
        {
            "code": "new_account",
            "detail": f"The payee joined on {recent.created_at:%Y-%m-%d}.",
        }
    ]
    assert older_payout.flags == []


def test_a_payout_above_the_review_threshold_is_flagged(settings):
    settings.PAYOUT_REVIEW_THRESHOLD_MILLS = 20_000
    at_threshold = veteran_worker().ledger_owner
    earn_available(at_threshold, 20_009)
    above = veteran_worker().ledger_owner
    earn_available(above, 20_010)

    assert services.payout_request(owner=at_threshold).flags == []
    assert services.payout_request(owner=above).flags == [
        {
            "code": "over_threshold",
            "detail": "$20.010 is above the review threshold of $20.000.",
        }
    ]


def reviewed(worker, *, approved: int, rejected: int) -> None:
    for _ in range(approved):
        worker_services.worker_record_review(worker=worker, approved=True)
    for _ in range(rejected):
        worker_services.worker_record_review(worker=worker, approved=False)


def gold(worker, *, correct: int, wrong: int) -> None:
    for _ in range(correct):
        worker_services.worker_record_gold(worker=worker, correct=True)
    for _ in range(wrong):
        worker_services.worker_record_gold(worker=worker, correct=False)


@pytest.mark.parametrize(
    ("approved", "rejected", "flags"),
    [
        (8, 2, []),  # 20%: not above 20%
        (7, 3, [{"code": "rejection_rate", "detail": "3 of 10 reviewed answers were rejected."}]),
        (5, 4, []),  # 44%, but fewer than 10 reviewed
    ],
)
def test_a_high_rejection_rate_is_flagged_from_ten_reviews(settings, approved, rejected, flags):
    settings.PAYOUT_REJECTION_RATE_PERCENT = 20
    worker = veteran_worker()
    reviewed(worker, approved=approved, rejected=rejected)
    earn_available(worker.ledger_owner, 10_000)

    assert services.payout_request(owner=worker.ledger_owner).flags == flags


@pytest.mark.parametrize(
    ("correct", "wrong", "flags"),
    [
        (7, 3, []),  # 30%: not above 30%
        (6, 4, [{"code": "gold_failure_rate", "detail": "4 of 10 gold answers were wrong."}]),
        (0, 9, []),  # fewer than 10 gold answers
    ],
)
def test_a_high_gold_failure_rate_is_flagged_from_ten_gold_answers(settings, correct, wrong, flags):
    settings.PAYOUT_GOLD_FAILURE_RATE_PERCENT = 30
    worker = veteran_worker()
    gold(worker, correct=correct, wrong=wrong)
    earn_available(worker.ledger_owner, 10_000)

    assert services.payout_request(owner=worker.ledger_owner).flags == flags


@pytest.mark.parametrize(
    ("last_week", "flags"),
    [
        (3_000, []),  # exactly 3 × the weekly average of 1_000
        (
            3_010,
            [
                {
                    "code": "velocity",
                    "detail": "$3.010 earned in the last 7 days against a weekly average of "
                    "$1.000 over the 4 weeks before.",
                }
            ],
        ),
    ],
)
def test_earnings_far_above_the_weekly_average_are_flagged_velocity(settings, last_week, flags):
    settings.PAYOUT_VELOCITY_FACTOR = 3
    worker = veteran_worker()
    owner = worker.ledger_owner
    now = timezone.now()
    with at(now - timedelta(days=40)):  # before the 4 weeks: not counted
        earn(owner, 50_000)
    with at(now - timedelta(days=30)):
        earn(owner, 1_500)
    with at(now - timedelta(days=10)):
        earn(owner, 2_500)
    with at(now - timedelta(days=2)):
        earn(owner, last_week)
    release_all()

    assert services.payout_request(owner=owner).flags == flags


def test_no_velocity_flag_without_earnings_in_the_four_weeks_before():
    owner = veteran_worker().ledger_owner
    now = timezone.now()
    with at(now - timedelta(days=40)):
        earn(owner, 1_000)
    earn_available(owner, 90_000)

    assert services.payout_request(owner=owner).flags == []


def test_the_batch_computes_flags_at_its_own_time(settings):
    settings.PAYOUT_NEW_ACCOUNT_DAYS = 14
    worker = WorkerFactory()
    earn_available(worker.ledger_owner, 10_000)

    [payout] = services.payouts_build(now=timezone.now() + timedelta(days=15))

    assert payout.flags == []


# --- payee facts --------------------------------------------------------------------------------
def test_payee_facts_of_a_worker_are_their_counters():
    worker = veteran_worker()
    reviewed(worker, approved=4, rejected=1)
    gold(worker, correct=2, wrong=1)

    assert payee_facts(owner=worker.ledger_owner) == PayeeFacts(
        joined_at=worker.created_at,
        approved_count=4,
        rejected_count=1,
        gold_answered_count=3,
        gold_correct_count=2,
        name=str(worker),
    )


def test_payee_facts_of_a_vendor_sum_the_workers_of_its_teams(django_capture_on_commit_callbacks):
    vendor, _ = vendor_with_manager()
    first, second, outsider = WorkerFactory(), WorkerFactory(), WorkerFactory()
    team_a = teams.team_create(owner=vendor, name="A")
    team_b = teams.team_create(owner=vendor, name="B")
    for team, members in ((team_a, [first, second]), (team_b, [first])):
        for member in members:
            [(invitation, _)] = invite(django_capture_on_commit_callbacks, team, member.user.email)
            teams.invitation_accept(invitation=invitation, user=member.user)
    reviewed(first, approved=3, rejected=1)
    reviewed(second, approved=2, rejected=0)
    reviewed(outsider, approved=50, rejected=50)
    gold(second, correct=1, wrong=2)

    assert payee_facts(owner=vendor.ledger_owner) == PayeeFacts(
        joined_at=vendor.created_at,
        approved_count=5,
        rejected_count=1,
        gold_answered_count=3,
        gold_correct_count=1,
        name=vendor.name,
    )
    empty, _ = vendor_with_manager()
    assert payee_facts(owner=empty.ledger_owner) == PayeeFacts(
        empty.created_at, 0, 0, 0, 0, name=empty.name
    )
