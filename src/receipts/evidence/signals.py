"""Signals the evidence services send when ties are added or end.

They are sent inside the writing transaction, after the ties' citations are
stored, so a receiver sees the receipts and anything it writes commits or
rolls back with the change itself. Every path that writes ties (web, admin,
API, CLI, importers, bulk inserts) goes through ``services``, which sends
them; Django's ``post_save`` would miss the bulk inserts and fire before the
citations exist.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent with ``added`` (ids of new ties), ``ended`` (ids of existing ties whose
# status became ended) and ``citations`` (tie id -> id of the citation that
# backs the change, where the caller knows it).
ties_changed = Signal()

# Sent with ``removed`` (ids of ties about to be deleted because no stored record
# supports them any more: an importer's derived ties), before they go, so a
# receiver can still read them.
ties_removing = Signal()
