"""Importer for USAspending.gov contract downloads (prime transactions and award summaries)."""
