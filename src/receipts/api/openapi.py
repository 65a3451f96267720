"""The error answers of every API operation, documented in one place.

Each route declares its success and any answer peculiar to it (the 400 of an
ambiguous name, the 401 of a campaign read with a bad token). The answers that
follow from an operation's shape are added here, to the schema and so to the
interactive docs:

- 422 with ``{"detail": [...]}`` when it takes input (path, query or body),
  which is validated before the view runs;
- 404 when it has a path parameter, which names something that may not exist;
- 400, 401 and 403 when it needs a token: a refused write, no live token, a
  token not allowed to write this;
- 400 and 413 when it reads a body: one that is not JSON, or too large.

Every error body is ``{"detail": "..."}`` (``ErrorOut``) except the 422's; a
write a service refuses is a 400 that also carries ``{"errors": {field: [message]}}``
(``RefusalOut``).
"""

from __future__ import annotations

from http.client import responses as reasons
from typing import Any

from ninja.openapi.schema import REF_TEMPLATE, OpenAPISchema
from ninja.operation import Operation
from ninja.schema import NinjaGenerateJsonSchema

from .schemas import ErrorOut, RefusalOut, ValidationErrorOut

BODY_SOURCES = {"body", "form", "file"}


def implied_errors(operation: Operation) -> dict[int, type[Any]]:
    """The error answers an operation gives by its shape, by status."""
    sources = {model.__ninja_param_source__ for model in operation.models}
    found: dict[int, type[Any]] = {}
    if operation.auth_callbacks:
        found.update({400: RefusalOut, 401: ErrorOut, 403: ErrorOut})
    if "path" in sources:
        found[404] = ErrorOut
    if sources & BODY_SOURCES:
        found.setdefault(400, ErrorOut)
        found[413] = ErrorOut
    if sources:
        found[422] = ValidationErrorOut
    return dict(sorted(found.items()))


class ReceiptsOpenAPISchema(OpenAPISchema):
    """Ninja's schema, with each operation's implied error answers added to its own."""

    def responses(self, operation: Operation) -> dict[int, Any]:
        result = super().responses(operation)
        for status, model in implied_errors(operation).items():
            if status not in result:
                result[status] = {
                    "description": reasons.get(status, "Error"),
                    "content": {self.api.renderer.media_type: {"schema": self._component(model)}},
                }
        return dict(sorted(result.items()))

    def _component(self, model: type[Any]) -> dict[str, str]:
        """A reference to ``model`` under components/schemas, adding it there."""
        schema = model.model_json_schema(
            ref_template=REF_TEMPLATE,
            schema_generator=NinjaGenerateJsonSchema,
            mode="serialization",
        )
        self.add_schema_definitions(schema.pop("$defs", {}))
        self.add_schema_definitions({model.__name__: schema})
        return {"$ref": REF_TEMPLATE.format(model=model.__name__)}
