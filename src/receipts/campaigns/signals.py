"""Signals the campaign services send.

Sent inside the writing transaction after the change's citations are stored,
so a receiver sees its receipts; ``post_save`` on the change would fire
before they exist.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent with ``change``: the DemandStatusChange just recorded.
demand_status_changed = Signal()
