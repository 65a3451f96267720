"""Importers and exporters that move evidence in and out of interchange formats."""
