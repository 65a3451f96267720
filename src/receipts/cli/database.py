"""Django set-up for the command line, and bringing the database schema up to date."""

from __future__ import annotations

import os


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receipts.config.settings")
    import django

    django.setup()


def _migrate(quiet: bool = True) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0 if quiet else 1)
