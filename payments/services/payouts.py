"""Payouts: payout accounts, batches, finance review, transfers."""


def payout_account_updated(obj, event):
    raise NotImplementedError  # SCAFFOLD: written by the payouts work


def transfer_created(obj, event):
    raise NotImplementedError  # SCAFFOLD


def transfer_reversed(obj, event):
    raise NotImplementedError  # SCAFFOLD


def bank_payout_failed(obj, event):
    raise NotImplementedError  # SCAFFOLD
