"""Screening of holdings and vendor lists against the evidence: which lines are tied to the
agencies of a profile, and through which ties, with their receipts."""
