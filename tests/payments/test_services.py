"""The double-entry ledger: balanced transactions, idempotency keys, funding, escrow, earnings."""

import pytest
from django.db.models import Sum

from marketplace.errors import ApplicationError
from payments import selectors
from payments.models import LedgerAccount, LedgerEntry, LedgerTransaction
from payments.services import ledger as services

pytestmark = pytest.mark.django_db

Kind = LedgerAccount.Kind
ORG = "organization:1"
OTHER_ORG = "organization:2"
JOB = "job:1"
OTHER_JOB = "job:2"
WORKER = "worker:1"


def ledger_state() -> tuple:
    """Everything the ledger holds, to show that a refused call wrote nothing."""
    return (
        sorted(LedgerAccount.objects.values_list("kind", "owner")),
        sorted(LedgerTransaction.objects.values_list("idempotency_key", "kind", "memo")),
        sorted(LedgerEntry.objects.values_list("transaction_id", "account_id", "amount_mills")),
    )


def entries_of(ledger_transaction: LedgerTransaction) -> list[tuple[str, str, int]]:
    return sorted(
        (entry.account.kind, entry.account.owner, entry.amount_mills)
        for entry in ledger_transaction.entries.select_related("account")
    )


def balance(kind: str, owner: str) -> int:
    return selectors.balance_mills(kind=kind, owner=owner)


# --- ledger_post ---------------------------------------------------------------------------------


def test_ledger_post_writes_one_balanced_transaction():
    # Given two accounts
    clearing = services.account_get(kind=Kind.FUNDING_CLEARING, owner=services.PLATFORM)
    available = services.account_get(kind=Kind.REQUESTER_AVAILABLE, owner=ORG)

    # When a balanced transaction is posted
    posted = services.ledger_post(
        idempotency_key="test:1",
        kind=LedgerTransaction.Kind.FUNDING,
        entries=[(clearing, -700), (available, 700)],
        memo="a test",
    )

    # Then it holds exactly those entries
    posted.refresh_from_db()
    assert (posted.idempotency_key, posted.kind, posted.memo) == ("test:1", "funding", "a test")
    assert entries_of(posted) == [
        (Kind.FUNDING_CLEARING, "platform", -700),
        (Kind.REQUESTER_AVAILABLE, ORG, 700),
    ]
    assert selectors.account_balance_mills(account=available) == 700
    assert selectors.account_balance_mills(account=clearing) == -700


def test_ledger_post_drops_zero_entries():
    clearing = services.account_get(kind=Kind.FUNDING_CLEARING, owner=services.PLATFORM)
    available = services.account_get(kind=Kind.REQUESTER_AVAILABLE, owner=ORG)
    fees = services.account_get(kind=Kind.PLATFORM_FEE_REVENUE, owner=services.PLATFORM)

    posted = services.ledger_post(
        idempotency_key="test:zero",
        kind=LedgerTransaction.Kind.FUNDING,
        entries=[(clearing, -5), (available, 5), (fees, 0)],
    )

    assert entries_of(posted) == [
        (Kind.FUNDING_CLEARING, "platform", -5),
        (Kind.REQUESTER_AVAILABLE, ORG, 5),
    ]


@pytest.mark.parametrize(
    ("amounts", "code", "message"),
    [
        ((-700, 699), "unbalanced_transaction", "Ledger entries must sum to zero."),
        ((700, 700), "unbalanced_transaction", "Ledger entries must sum to zero."),
        ((1, 0), "unbalanced_transaction", "Ledger entries must sum to zero."),
        ((0, 0), "empty_transaction", "A ledger transaction needs entries."),
    ],
)
def test_ledger_post_refuses_unbalanced_or_empty_and_writes_nothing(amounts, code, message):
    # Given two accounts and a ledger with one transaction already in it
    clearing = services.account_get(kind=Kind.FUNDING_CLEARING, owner=services.PLATFORM)
    available = services.account_get(kind=Kind.REQUESTER_AVAILABLE, owner=ORG)
    services.funding_record(owner=ORG, amount_mills=100, reference="before")
    before = ledger_state()

    # When entries that do not sum to zero (or are all zero) are posted
    with pytest.raises(ApplicationError) as refused:
        services.ledger_post(
            idempotency_key="test:bad",
            kind=LedgerTransaction.Kind.FUNDING,
            entries=[(clearing, amounts[0]), (available, amounts[1])],
        )

    # Then the call is refused and nothing is written
    assert (refused.value.code, refused.value.message, refused.value.status) == (code, message, 400)
    assert ledger_state() == before
    assert not LedgerTransaction.objects.filter(idempotency_key="test:bad").exists()


def test_ledger_post_with_no_entries_is_refused():
    with pytest.raises(ApplicationError) as refused:
        services.ledger_post(
            idempotency_key="test:none", kind=LedgerTransaction.Kind.FUNDING, entries=[]
        )
    assert refused.value.code == "empty_transaction"
    assert ledger_state() == ([], [], [])


def test_ledger_post_repeated_key_is_a_retry_or_a_conflict():
    # Given a posted transaction
    clearing = services.account_get(kind=Kind.FUNDING_CLEARING, owner=services.PLATFORM)
    available = services.account_get(kind=Kind.REQUESTER_AVAILABLE, owner=ORG)
    first = services.ledger_post(
        idempotency_key="test:once",
        kind=LedgerTransaction.Kind.FUNDING,
        entries=[(clearing, -300), (available, 300)],
    )
    after_first = ledger_state()

    # When the same key is posted again with the same entries (a retry)
    again = services.ledger_post(
        idempotency_key="test:once",
        kind=LedgerTransaction.Kind.FUNDING,
        entries=[(available, 300), (clearing, -300)],
    )
    # And once more for a different movement (a bug: keys name one movement)
    with pytest.raises(ApplicationError) as conflict:
        services.ledger_post(
            idempotency_key="test:once",
            kind=LedgerTransaction.Kind.FUNDING,
            entries=[(clearing, -999), (available, 999)],
        )

    # Then the retry returns the first transaction, the reuse is refused, nothing is written
    assert again.pk == first.pk
    assert (conflict.value.code, conflict.value.status) == ("idempotency_conflict", 409)
    assert ledger_state() == after_first
    assert balance(Kind.REQUESTER_AVAILABLE, ORG) == 300


# --- funding_record ------------------------------------------------------------------------------


def test_funding_record_credits_the_owner_from_the_clearing_account():
    funding = services.funding_record(owner=ORG, amount_mills=1_234, reference="pi_123")

    assert (funding.idempotency_key, funding.kind, funding.memo) == (
        "funding:pi_123",
        "funding",
        "Funding pi_123",
    )
    assert entries_of(funding) == [
        (Kind.FUNDING_CLEARING, "platform", -1_234),
        (Kind.REQUESTER_AVAILABLE, ORG, 1_234),
    ]
    assert balance(Kind.REQUESTER_AVAILABLE, ORG) == 1_234
    assert balance(Kind.REQUESTER_AVAILABLE, OTHER_ORG) == 0


def test_funding_record_same_reference_credits_once():
    first = services.funding_record(owner=ORG, amount_mills=500, reference="pi_1")
    state = ledger_state()

    again = services.funding_record(owner=ORG, amount_mills=500, reference="pi_1")

    assert again.pk == first.pk
    assert ledger_state() == state
    assert balance(Kind.REQUESTER_AVAILABLE, ORG) == 500


@pytest.mark.parametrize("amount", [0, -1, -500])
def test_funding_record_refuses_non_positive_amounts(amount):
    with pytest.raises(ApplicationError) as refused:
        services.funding_record(owner=ORG, amount_mills=amount, reference="pi_bad")

    assert (refused.value.code, refused.value.fields) == (
        "invalid_amount",
        {"amount": ["The amount must be positive."]},
    )
    assert ledger_state() == ([], [], [])


# --- escrow_reserve ------------------------------------------------------------------------------


def test_escrow_reserve_moves_the_amount_from_available_into_the_job_escrow():
    # Given a requester with 1.000 USD
    services.funding_record(owner=ORG, amount_mills=1_000, reference="pi_1")

    # When 600 mills are reserved for a job
    reserve = services.escrow_reserve(
        payer=ORG, escrow_owner=JOB, amount_mills=600, idempotency_key="job:1:escrow"
    )

    # Then available falls by 600 and the job's escrow holds 600, in one transaction
    assert (reserve.idempotency_key, reserve.kind, reserve.memo) == (
        "job:1:escrow",
        "escrow_reserve",
        "Escrow for job:1",
    )
    assert entries_of(reserve) == [
        (Kind.JOB_ESCROW, JOB, 600),
        (Kind.REQUESTER_AVAILABLE, ORG, -600),
    ]
    assert balance(Kind.REQUESTER_AVAILABLE, ORG) == 400
    assert balance(Kind.JOB_ESCROW, JOB) == 600


def test_escrow_reserve_may_use_the_whole_balance():
    services.funding_record(owner=ORG, amount_mills=1_000, reference="pi_1")

    services.escrow_reserve(
        payer=ORG, escrow_owner=JOB, amount_mills=1_000, idempotency_key="job:1:escrow"
    )

    assert balance(Kind.REQUESTER_AVAILABLE, ORG) == 0
    assert balance(Kind.JOB_ESCROW, JOB) == 1_000


def test_escrow_reserve_repeated_key_returns_the_first_reserve_without_checking_again():
    # Given a reserve that used most of the balance
    services.funding_record(owner=ORG, amount_mills=1_000, reference="pi_1")
    first = services.escrow_reserve(
        payer=ORG, escrow_owner=JOB, amount_mills=600, idempotency_key="job:1:escrow"
    )
    state = ledger_state()

    # When it is repeated (a retried task), although 600 more would not fit any longer
    again = services.escrow_reserve(
        payer=ORG, escrow_owner=JOB, amount_mills=600, idempotency_key="job:1:escrow"
    )

    # Then the first reserve comes back and nothing moves
    assert again.pk == first.pk
    assert ledger_state() == state
    assert balance(Kind.REQUESTER_AVAILABLE, ORG) == 400


def test_escrow_reserve_with_insufficient_balance_is_refused_and_writes_nothing():
    # Given 1.000 USD of which 600 mills are already reserved for another job
    services.funding_record(owner=ORG, amount_mills=1_000, reference="pi_1")
    services.escrow_reserve(
        payer=ORG, escrow_owner=OTHER_JOB, amount_mills=600, idempotency_key="job:2:escrow"
    )
    before = ledger_state()

    # When a job needs 401 mills
    with pytest.raises(ApplicationError) as refused:
        services.escrow_reserve(
            payer=ORG, escrow_owner=JOB, amount_mills=401, idempotency_key="job:1:escrow"
        )

    # Then it is refused, and no account, transaction or entry was written
    assert refused.value.code == "insufficient_balance"
    assert refused.value.message == (
        "The job needs 401 mills in escrow but the balance is 400 mills."
    )
    assert refused.value.status == 400
    assert ledger_state() == before
    assert not LedgerAccount.objects.filter(kind=Kind.JOB_ESCROW, owner=JOB).exists()
    assert balance(Kind.REQUESTER_AVAILABLE, ORG) == 400


def test_escrow_reserve_for_a_payer_that_was_never_funded_is_refused():
    with pytest.raises(ApplicationError) as refused:
        services.escrow_reserve(
            payer=ORG, escrow_owner=JOB, amount_mills=1, idempotency_key="job:1:escrow"
        )

    assert refused.value.code == "insufficient_balance"
    assert ledger_state() == ([], [], [])


@pytest.mark.parametrize("amount", [0, -100])
def test_escrow_reserve_refuses_a_non_positive_amount(amount):
    # Given a funded requester and a job escrow that holds 300 mills
    services.funding_record(owner=ORG, amount_mills=1_000, reference="pi_1")
    services.escrow_reserve(
        payer=ORG, escrow_owner=JOB, amount_mills=300, idempotency_key="job:1:escrow"
    )
    before = ledger_state()

    # When a reserve of zero or a negative amount is asked for
    with pytest.raises(ApplicationError):
        services.escrow_reserve(
            payer=ORG, escrow_owner=JOB, amount_mills=amount, idempotency_key="job:1:escrow:2"
        )

    # Then nothing moves: a negative "reserve" must not pull money out of escrow
    assert ledger_state() == before
    assert balance(Kind.JOB_ESCROW, JOB) == 300
    assert balance(Kind.REQUESTER_AVAILABLE, ORG) == 700


# --- earnings and the platform fee ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("reward", "fee"),
    [
        (50, 10),
        (3, 1),  # 0.6 rounds up
        (2, 0),  # 0.4 rounds down
        (0, 0),
        (1, 0),  # 0.2
        (8, 2),  # 1.6
        (12, 2),  # 2.4
        (13, 3),  # 2.6
        (1_000, 200),
    ],
)
def test_platform_fee_is_twenty_percent_rounded_half_up(reward, fee):
    assert services.platform_fee_mills(amount_mills=reward) == fee


@pytest.mark.parametrize(("reward", "fee"), [(5, 1), (15, 2), (25, 3), (4, 0), (6, 1)])
def test_platform_fee_rounds_exact_halves_up(settings, reward, fee):
    # With a 10% fee, 5 -> 0.5, 15 -> 1.5, 25 -> 2.5: half up, not to even
    settings.PLATFORM_FEE_PERCENT = 10
    assert services.platform_fee_mills(amount_mills=reward) == fee


@pytest.mark.parametrize(
    ("reward", "service_fee", "expected"),
    [
        (
            50,
            80,
            [
                (Kind.JOB_ESCROW, JOB, -140),
                (Kind.PLATFORM_FEE_REVENUE, "platform", 90),
                (Kind.WORKER_PENDING, WORKER, 50),
            ],
        ),
        (
            3,
            0,
            [
                (Kind.JOB_ESCROW, JOB, -4),
                (Kind.PLATFORM_FEE_REVENUE, "platform", 1),
                (Kind.WORKER_PENDING, WORKER, 3),
            ],
        ),
        (
            # a fee of 0.4 rounds to nothing, so the platform gets no entry at all
            2,
            0,
            [(Kind.JOB_ESCROW, JOB, -2), (Kind.WORKER_PENDING, WORKER, 2)],
        ),
        (
            2,
            80,
            [
                (Kind.JOB_ESCROW, JOB, -82),
                (Kind.PLATFORM_FEE_REVENUE, "platform", 80),
                (Kind.WORKER_PENDING, WORKER, 2),
            ],
        ),
    ],
)
def test_earning_record_pays_reward_fee_and_service_fee_from_escrow(reward, service_fee, expected):
    # Given a job escrow holding 1.000 USD
    services.funding_record(owner=ORG, amount_mills=1_000, reference="pi_1")
    services.escrow_reserve(
        payer=ORG, escrow_owner=JOB, amount_mills=1_000, idempotency_key="job:1:escrow"
    )

    # When approved work is paid
    earning = services.earning_record(
        escrow_owner=JOB,
        payee_owner=WORKER,
        amount_mills=reward,
        service_fee_mills=service_fee,
        idempotency_key="assignment:1:earning",
    )

    # Then one transaction holds the reward, the fees, and the escrow paying for both
    assert (earning.kind, earning.memo) == ("earning", "Earning of worker:1 from job:1")
    assert entries_of(earning) == expected
    escrow_paid = -expected[0][2]
    assert balance(Kind.JOB_ESCROW, JOB) == 1_000 - escrow_paid
    assert balance(Kind.WORKER_PENDING, WORKER) == reward


def test_earning_record_repeated_key_pays_once():
    services.funding_record(owner=ORG, amount_mills=1_000, reference="pi_1")
    services.escrow_reserve(
        payer=ORG, escrow_owner=JOB, amount_mills=1_000, idempotency_key="job:1:escrow"
    )
    arguments = {
        "escrow_owner": JOB,
        "payee_owner": WORKER,
        "amount_mills": 50,
        "service_fee_mills": 80,
        "idempotency_key": "assignment:1:earning",
    }
    first = services.earning_record(**arguments)
    state = ledger_state()

    again = services.earning_record(**arguments)

    assert again.pk == first.pk
    assert ledger_state() == state
    assert balance(Kind.WORKER_PENDING, WORKER) == 50
    assert balance(Kind.PLATFORM_FEE_REVENUE, services.PLATFORM) == 90


# --- the ledger as a whole -----------------------------------------------------------------------


def test_entries_sum_to_zero_after_a_mix_of_operations():
    # Given funding, reserves, earnings, repeats and refusals for two requesters
    services.funding_record(owner=ORG, amount_mills=2_000, reference="pi_1")
    services.funding_record(owner=ORG, amount_mills=2_000, reference="pi_1")  # repeated
    services.funding_record(owner=OTHER_ORG, amount_mills=777, reference="pi_2")
    services.escrow_reserve(
        payer=ORG, escrow_owner=JOB, amount_mills=1_500, idempotency_key="job:1:escrow"
    )
    with pytest.raises(ApplicationError):
        services.escrow_reserve(
            payer=OTHER_ORG, escrow_owner=OTHER_JOB, amount_mills=778, idempotency_key="job:2:e"
        )
    services.escrow_reserve(
        payer=OTHER_ORG, escrow_owner=OTHER_JOB, amount_mills=777, idempotency_key="job:2:e"
    )
    for number, reward in enumerate([50, 3, 2, 13], start=1):
        services.earning_record(
            escrow_owner=JOB,
            payee_owner=f"worker:{number}",
            amount_mills=reward,
            service_fee_mills=80,
            idempotency_key=f"assignment:{number}:earning",
        )
    services.earning_record(
        escrow_owner=JOB,
        payee_owner="worker:1",
        amount_mills=50,
        service_fee_mills=80,
        idempotency_key="assignment:1:earning",
    )

    # Then every transaction balances, and so does the whole table
    assert LedgerEntry.objects.aggregate(total=Sum("amount_mills"))["total"] == 0
    per_transaction = LedgerEntry.objects.values("transaction").annotate(total=Sum("amount_mills"))
    assert LedgerTransaction.objects.count() == 8
    assert {row["total"] for row in per_transaction} == {0}
    # And the balances are the exact sums of what happened
    assert balance(Kind.FUNDING_CLEARING, services.PLATFORM) == -2_777
    assert balance(Kind.REQUESTER_AVAILABLE, ORG) == 500
    assert balance(Kind.REQUESTER_AVAILABLE, OTHER_ORG) == 0
    # rewards 68, fees 10 + 1 + 0 + 3 = 14, service fees 4 x 80 = 320
    assert balance(Kind.JOB_ESCROW, JOB) == 1_500 - 68 - 14 - 320
    assert balance(Kind.JOB_ESCROW, OTHER_JOB) == 777
    assert balance(Kind.PLATFORM_FEE_REVENUE, services.PLATFORM) == 334
    assert [balance(Kind.WORKER_PENDING, f"worker:{n}") for n in (1, 2, 3, 4)] == [50, 3, 2, 13]


# --- selectors -----------------------------------------------------------------------------------


def test_balance_of_an_account_never_used_is_zero():
    assert balance(Kind.REQUESTER_AVAILABLE, "organization:404") == 0
    account = services.account_get(kind=Kind.WORKER_AVAILABLE, owner=WORKER)
    assert selectors.account_balance_mills(account=account) == 0


def test_account_get_returns_one_account_per_kind_and_owner():
    first = services.account_get(kind=Kind.JOB_ESCROW, owner=JOB)
    again = services.account_get(kind=Kind.JOB_ESCROW, owner=JOB)
    other_kind = services.account_get(kind=Kind.REQUESTER_AVAILABLE, owner=JOB)

    assert again.pk == first.pk
    assert other_kind.pk != first.pk
    assert LedgerAccount.objects.count() == 2


def test_entry_list_for_an_owner_lists_only_their_entries_in_posting_order():
    services.funding_record(owner=ORG, amount_mills=1_000, reference="pi_1")
    services.funding_record(owner=OTHER_ORG, amount_mills=50, reference="pi_2")
    services.escrow_reserve(
        payer=ORG, escrow_owner=JOB, amount_mills=400, idempotency_key="job:1:escrow"
    )

    entries = [
        (entry.transaction.idempotency_key, entry.account.kind, entry.amount_mills)
        for entry in selectors.entry_list_for(owner=ORG)
    ]

    assert entries == [
        ("funding:pi_1", Kind.REQUESTER_AVAILABLE, 1_000),
        ("job:1:escrow", Kind.REQUESTER_AVAILABLE, -400),
    ]


def test_an_earning_escrow_cannot_cover_is_refused_and_nothing_moves():
    # Given an escrow holding 100 mills
    services.funding_record(owner=ORG, amount_mills=100, reference="r")
    services.escrow_reserve(payer=ORG, escrow_owner="job:9", amount_mills=100, idempotency_key="e")
    before = ledger_state()

    # When approved work would cost 50 + 10 fee + 80 service fee = 140
    with pytest.raises(ApplicationError) as refused:
        services.earning_record(
            escrow_owner="job:9",
            payee_owner="worker:1",
            amount_mills=50,
            service_fee_mills=80,
            idempotency_key="a:1",
        )

    # Then it is refused and the ledger is as it was
    assert (refused.value.code, refused.value.status) == ("escrow_exhausted", 409)
    assert ledger_state() == before
