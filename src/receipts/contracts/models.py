"""Federal contract records under their natural keys: awards, their
transactions, the records a delta file deleted, and the totals each contract
tie carries. The importers in ``receipts.ingest`` fill these tables; readers
go through ``receipts.contracts.queries``.

Amounts are integer cents so sums are exact on every database. Dates are ISO
text, as in the evidence graph. The tables keep the names they had when the
models lived in the ingest app, so a database of an earlier version keeps
every row.
"""

from __future__ import annotations

from django.db import models

from receipts.evidence.models import Entity, Source, Tie


class ContractAward(models.Model):
    """A federal contract award, keyed by USAspending's ``contract_award_unique_key``."""

    award_key = models.CharField(
        max_length=200, unique=True, verbose_name="contract award unique key"
    )
    piid = models.CharField(max_length=100, blank=True, verbose_name="PIID")
    parent_piid = models.CharField(max_length=100, blank=True, verbose_name="parent award PIID")
    awarding_agency_code = models.CharField(max_length=10, blank=True)
    awarding_sub_agency_code = models.CharField(max_length=10, blank=True)
    awarding_office_code = models.CharField(max_length=20, blank=True)
    sub_agency = models.ForeignKey(
        Entity,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The awarding sub-agency (e.g. ICE), the object of the contract tie.",
    )
    recipient = models.ForeignKey(
        Entity, on_delete=models.PROTECT, null=True, blank=True, related_name="contract_awards"
    )
    recipient_uei = models.CharField(max_length=12, blank=True, verbose_name="recipient UEI")
    recipient_duns = models.CharField(max_length=9, blank=True, verbose_name="recipient DUNS")
    recipient_name = models.CharField(max_length=500, blank=True)
    parent_uei = models.CharField(max_length=12, blank=True, verbose_name="recipient parent UEI")
    parent_duns = models.CharField(max_length=9, blank=True, verbose_name="recipient parent DUNS")
    parent_name = models.CharField(max_length=500, blank=True, verbose_name="recipient parent name")
    description = models.TextField(blank=True)
    summary_obligated_cents = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="total_obligated_amount from an award summary file; used only when no "
        "transaction of the award is stored.",
    )
    summary_base_date = models.CharField(max_length=10, blank=True)
    summary_latest_date = models.CharField(max_length=10, blank=True)
    permalink = models.URLField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=32, blank=True)
    # The period of performance its latest action (or summary) gives: the contract's end
    # as things stand, and its end if every option is exercised. YYYY-MM-DD or empty.
    current_end_date = models.CharField(
        max_length=10, blank=True, verbose_name="period of performance current end date"
    )
    potential_end_date = models.CharField(
        max_length=10, blank=True, verbose_name="period of performance potential end date"
    )
    source = models.ForeignKey(
        Source,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The dataset-row source that cites this award.",
    )

    class Meta:
        db_table = "ingest_contractaward"
        indexes = [models.Index(fields=["recipient", "sub_agency"])]

    def __str__(self) -> str:
        return self.award_key


class ContractTransaction(models.Model):
    """One action (award or modification) on a contract, keyed by ``contract_transaction_unique_key``."""

    transaction_key = models.CharField(
        max_length=250, unique=True, verbose_name="contract transaction unique key"
    )
    award_key = models.CharField(max_length=200, db_index=True)
    modification_number = models.CharField(max_length=50, blank=True)
    action_date = models.CharField(max_length=10)
    fiscal_year = models.PositiveSmallIntegerField()
    obligation_cents = models.BigIntegerField(
        help_text="federal_action_obligation, in cents; negative for de-obligations."
    )
    # The entity this action's own recipient resolved to. Usually the award's
    # recipient; after a novation earlier actions name the company that held
    # the award then, and their obligations count for that company. Derived
    # (an import or a merge sets it), so it has an index but no database
    # constraint: a million inserts would each pay a deferred foreign-key check.
    recipient = models.ForeignKey(
        Entity,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    recipient_uei = models.CharField(max_length=12, blank=True)
    recipient_duns = models.CharField(max_length=9, blank=True)
    recipient_name = models.CharField(max_length=500, blank=True)
    parent_uei = models.CharField(max_length=12, blank=True)
    parent_duns = models.CharField(max_length=9, blank=True)
    parent_name = models.CharField(max_length=500, blank=True)
    corrected = models.BooleanField(
        default=False,
        help_text="Written by a delta file's correction (C): a row of the same date without "
        "the mark (the download it corrected, read again) does not undo it.",
    )
    last_modified = models.CharField(max_length=32, blank=True)

    class Meta:
        db_table = "ingest_contracttransaction"

    def __str__(self) -> str:
        return self.transaction_key


class DeletedContractRecord(models.Model):
    """A transaction or award a delta file deleted, so that reading an older download
    again does not bring it back.

    A row of that key is stored again only when it was modified after the
    deleted record (``last_modified``: the later of the deleted row's and the
    deletion mark's, empty when neither had one), and then this goes.
    """

    class Kind(models.TextChoices):
        TRANSACTION = "transaction", "transaction"
        AWARD = "award", "award"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    key = models.CharField(max_length=250)
    last_modified = models.CharField(max_length=32, blank=True)
    deleted_at = models.DateTimeField()

    class Meta:
        db_table = "ingest_deletedcontractrecord"
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="deleted_contract_record_key")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} (deleted {self.deleted_at:%Y-%m-%d})"


class ContractTotals(models.Model):
    """The figures behind a contract tie, derived from the stored awards and transactions."""

    tie = models.OneToOneField(Tie, on_delete=models.CASCADE, related_name="contract_totals")
    obligated_cents = models.BigIntegerField()
    award_count = models.PositiveIntegerField()
    transaction_count = models.PositiveIntegerField()
    first_action_date = models.CharField(max_length=10, blank=True)
    last_action_date = models.CharField(max_length=10, blank=True)
    by_fiscal_year = models.JSONField(default=dict, help_text="Fiscal year -> obligated cents.")

    class Meta:
        db_table = "ingest_contracttotals"
        verbose_name_plural = "contract totals"

    def __str__(self) -> str:
        return f"totals of {self.tie}"
