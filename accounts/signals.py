"""Signals other apps listen to. `accounts` imports nothing of ours, so it announces instead."""

from django.dispatch import Signal

# Sent inside the transaction that creates the account (kwargs: user). Receivers create the
# Personal project and the billing account; if one fails, the account is not created either.
account_created = Signal()
