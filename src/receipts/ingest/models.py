"""What imports store besides the data itself: the runs that brought records in
and the entity-resolution decisions around them (the review queue, merges,
name-only recipients). The contract records live in ``receipts.contracts``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from receipts.evidence.models import Entity


class ImportRun(models.Model):
    """One run of an importer: which files, what it found, how it ended."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    importer = models.CharField(max_length=50)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    files = models.JSONField(default=list, help_text="Each file read, with the kind found.")
    counts = models.JSONField(default=dict)
    report_path = models.CharField(max_length=1000, blank=True, help_text="Rejected rows report.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.importer} run {self.pk} ({self.status})"


class ReviewItem(models.Model):
    """A possible duplicate found by name alone. It waits for an editor; nothing merges silently."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        MERGED = "merged", "Merged"
        DISTINCT = "distinct", "Kept apart"

    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="review_items")
    candidate = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField(help_text="Name similarity, 0 to 100.")
    reason = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["status", "-score", "id"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "candidate"], name="review_item_unique_pair")
        ]

    def __str__(self) -> str:
        return f"{self.entity} ~ {self.candidate} ({self.score:.0f})"


class EntityMerge(models.Model):
    """A merge of one entity into another, with what moved, so it can be undone."""

    keep = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="+")
    dropped = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="+")
    moved = models.JSONField(help_text="Ids of the rows moved from the dropped entity, by table.")
    reason = models.CharField(max_length=300, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    merged_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-merged_at"]

    def __str__(self) -> str:
        return f"{self.dropped} merged into {self.keep}"


class NameOnlyRecipient(models.Model):
    """The entity a recipient named without UEI or DUNS resolved to, by its name key.

    Re-imports find the same entity through it; a name is not a strong
    identifier, so only an exact name key leads here.
    """

    kind = models.CharField(max_length=20)
    name_key = models.CharField(max_length=500, help_text="The name's comparison form.")
    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "name_key"], name="name_only_recipient_unique_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name_key} -> {self.entity}"
