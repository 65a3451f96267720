"""``python -m receipts`` runs the ``receipts`` command."""

from receipts.cli import main

main()
