"""Signals the importers send about stored contract records.

Sent inside the batch's transaction after the rows are stored, so a receiver
sees them and anything it writes commits or rolls back with the batch.
Awards go in by bulk insert, which Django's ``post_save`` never sees.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent with ``award_keys``: the contract_award_unique_key of every award row of
# the batch, new, updated or unchanged.
awards_stored = Signal()
