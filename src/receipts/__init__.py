"""Receipts: ties between companies and government agencies, each with its receipts."""
