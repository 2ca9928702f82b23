"""Statements of one ledger account over a period: the balance it opened with, every entry with
the balance after it, and the balance it closed with; as CSV for finance to export.

Both days of the period are included (UTC). Amounts are USD with three decimals (mills).
"""

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.db.models import Sum

from marketplace.errors import ApplicationError
from payments import money
from payments.models import FinanceAction, LedgerAccount, LedgerEntry
from payments.reconciliation import period_bounds

CSV_HEADER = ["date", "transaction", "kind", "memo", "amount", "balance"]
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class StatementLine:
    created_at: datetime
    transaction_key: str
    kind: str
    memo: str
    amount_mills: int
    balance_mills: int


@dataclass
class Statement:
    account: LedgerAccount
    date_from: date
    date_to: date
    opening_mills: int
    lines: list[StatementLine]

    @property
    def closing_mills(self) -> int:
        return self.lines[-1].balance_mills if self.lines else self.opening_mills


def account_find(*, kind: str, owner: str) -> LedgerAccount:
    """The account of this kind and owner; 404 when the ledger has none."""
    account = LedgerAccount.objects.filter(kind=kind, owner=owner).first()
    if account is None:
        raise ApplicationError(
            "unknown_account", f"The ledger has no {kind} account of {owner}.", status=404
        )
    return account


def statement_build(*, account: LedgerAccount, date_from: date, date_to: date) -> Statement:
    start, end = period_bounds(date_from=date_from, date_to=date_to)
    entries = LedgerEntry.objects.filter(account=account)
    opening = (
        entries.filter(transaction__created_at__lt=start).aggregate(total=Sum("amount_mills"))[
            "total"
        ]
        or 0
    )
    balance = opening
    lines = []
    for entry in (
        entries.filter(transaction__created_at__gte=start, transaction__created_at__lt=end)
        .select_related("transaction")
        .order_by("transaction__created_at", "transaction_id", "pk")
    ):
        balance += entry.amount_mills
        lines.append(
            StatementLine(
                created_at=entry.transaction.created_at,
                transaction_key=entry.transaction.idempotency_key,
                kind=entry.transaction.kind,
                memo=entry.transaction.memo,
                amount_mills=entry.amount_mills,
                balance_mills=balance,
            )
        )
    return Statement(
        account=account, date_from=date_from, date_to=date_to, opening_mills=opening, lines=lines
    )


def _cell(text: str) -> str:
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def statement_csv(*, statement: Statement) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerow(
        [
            statement.date_from.isoformat(),
            "",
            "opening_balance",
            "Opening balance",
            "",
            money.format_usd(statement.opening_mills),
        ]
    )
    for line in statement.lines:
        writer.writerow(
            [
                line.created_at.isoformat(),
                _cell(line.transaction_key),
                line.kind,
                _cell(line.memo),
                money.format_usd(line.amount_mills),
                money.format_usd(line.balance_mills),
            ]
        )
    writer.writerow(
        [
            statement.date_to.isoformat(),
            "",
            "closing_balance",
            "Closing balance",
            "",
            money.format_usd(statement.closing_mills),
        ]
    )
    return out.getvalue()


def statement_filename(*, statement: Statement) -> str:
    owner = statement.account.owner.replace(":", "-")
    return (
        f"statement-{statement.account.kind}-{owner}-"
        f"{statement.date_from.isoformat()}-{statement.date_to.isoformat()}.csv"
    )


@transaction.atomic
def statement_export(
    *, actor, kind: str, owner: str, date_from: date, date_to: date
) -> tuple[Statement, str]:
    """The statement of an account as CSV, the export recorded as a finance action."""
    statement = statement_build(
        account=account_find(kind=kind, owner=owner), date_from=date_from, date_to=date_to
    )
    FinanceAction.objects.create(
        actor=actor,
        action=FinanceAction.Action.STATEMENT_EXPORT,
        detail={
            "kind": kind,
            "owner": owner,
            "from": date_from.isoformat(),
            "to": date_to.isoformat(),
            "entries": len(statement.lines),
        },
    )
    return statement, statement_csv(statement=statement)
