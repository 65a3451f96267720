"""The JSON API under /api/, with its OpenAPI schema at /api/openapi.json."""

from ninja import NinjaAPI

api = NinjaAPI(
    title="Receipts API",
    version="1",
    description="Entities, ties with their citations, and sources. Reads are public; writes need a token.",
    urls_namespace="api",
)
