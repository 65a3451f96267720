"""The OpenAPI schema and the interactive docs, served from this site alone under its CSP."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

EXPECTED_PATHS = {
    "/api/entities": {"get", "post"},
    "/api/entities/{slug}": {"get", "patch"},
    "/api/entities/{slug}/ties": {"get"},
    "/api/ties": {"post"},
    "/api/ties/{tie_id}": {"get", "patch"},
    "/api/ties/{tie_id}/citations": {"post"},
    "/api/sources": {"get", "post"},
    "/api/sources/{source_id}": {"get"},
    "/api/captures": {"get", "post"},
    "/api/captures/{capture_id}": {"get"},
    "/api/campaigns": {"get", "post"},
    "/api/campaigns/{slug}": {"get", "patch"},
    "/api/campaigns/{slug}/demands": {"get", "post"},
    "/api/campaigns/{slug}/demands/{demand_id}": {"patch"},
    "/api/campaigns/{slug}/demands/{demand_id}/status": {"post"},
    "/api/campaigns/{slug}/demands/{demand_id}/confirm-met": {"post"},
    "/api/campaigns/{slug}/actions": {"get", "post"},
    "/api/campaigns/{slug}/actions/{action_id}": {"patch"},
    "/api/campaigns/{slug}/coalition": {"get", "post"},
    "/api/campaigns/{slug}/coalition/{organisation}": {"delete"},
    "/api/campaigns/{slug}/goals": {"get", "post"},
    "/api/campaigns/{slug}/goals/{goal_id}": {"patch"},
    "/api/campaigns/{slug}/goals/{goal_id}/progress": {"post"},
}


class AssetCollector(HTMLParser):
    """Every address a page loads, and every script it would run inline."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts: list[str] = []
        self.style_attributes: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href"):
            if values.get(name):
                self.urls.append(values[name] or "")
        if values.get("style"):
            self.style_attributes.append(values["style"] or "")
        if any(name.startswith("on") for name in values):
            self.inline_scripts.append(f"event handler on <{tag}>")
        script_type = (values.get("type") or "text/javascript").lower()
        executable = script_type in {"text/javascript", "module", "application/javascript"}
        self._in_inline_script = tag == "script" and executable and not values.get("src")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_inline_script = False

    def handle_data(self, data: str) -> None:
        if self._in_inline_script and data.strip():
            self.inline_scripts.append(data.strip())


def test_openapi_schema_is_json_listing_every_path(client: Client) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert {path: set(ops) for path, ops in schema["paths"].items()} == EXPECTED_PATHS
    assert schema["components"]["securitySchemes"] == {
        "ApiTokenAuth": {"type": "http", "scheme": "bearer"}
    }


def test_openapi_schema_marks_writes_as_needing_a_token(client: Client) -> None:
    schema = client.get("/api/openapi.json").json()
    assert schema["paths"], "the schema lists no operations"
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            needs_token = operation.get("security") == [{"ApiTokenAuth": []}]
            assert needs_token == (method != "get"), f"{method.upper()} {path}"


def test_openapi_schema_explains_its_fields(client: Client) -> None:
    schemas = client.get("/api/openapi.json").json()["components"]["schemas"]
    tie_in = schemas["TieIn"]
    assert "citations" in tie_in["required"]
    assert "citation" in tie_in["properties"]["citations"]["description"]
    for name in ("TieOut", "CitationOut", "EntityOut", "SourceDetailOut"):
        for field, spec in schemas[name]["properties"].items():
            assert spec.get("description"), f"{name}.{field} has no description"
    assert set(schemas["TieKind"]["enum"]) >= {"owns", "part_of", "hosting", "contract"}


def test_docs_page_loads_only_same_origin_assets_and_no_inline_script(client: Client) -> None:
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"(?i)(https?:)?//[a-z0-9.-]", html), "the docs page names another origin"
    collector = AssetCollector()
    collector.feed(html)
    assert collector.inline_scripts == []
    assert collector.style_attributes == []
    assert collector.urls, "the docs page loads no assets"
    for url in collector.urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        # Served with nosniff, so a wrong type would stop the browser from using the asset.
        if url.endswith(".js"):
            assert "javascript" in asset["Content-Type"], url
        if url.endswith(".css"):
            assert asset["Content-Type"].startswith("text/css"), url
        asset.close()
    assert "/static/ninja/swagger-ui-bundle.js" in collector.urls
    assert "/static/ninja/swagger-ui-init.js" in collector.urls


def test_docs_page_is_served_under_the_site_csp(client: Client) -> None:
    policy = client.get("/api/docs")["Content-Security-Policy"]
    directives = dict(
        (part.split()[0], part.split()[1:]) for part in policy.split(";") if part.strip()
    )
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]


def test_docs_settings_fetch_no_outside_validator(client: Client) -> None:
    html = client.get("/api/docs").content.decode()
    settings_json = re.search(
        r'<script type="application/json" id="swagger-settings">(.*?)</script>', html, re.S
    )
    assert settings_json is not None
    settings = json.loads(settings_json.group(1))
    assert settings["validatorUrl"] is None
    assert settings["url"] == "/api/openapi.json"


def test_every_error_answer_is_documented_with_its_body(client: Client) -> None:
    schema = json.loads(client.get("/api/openapi.json").content)
    error = {"$ref": "#/components/schemas/ErrorOut"}
    invalid = {"$ref": "#/components/schemas/ValidationErrorOut"}
    assert schema["paths"], "the schema lists no operations"
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            answers = {
                int(status): answer["content"]["application/json"]["schema"]
                for status, answer in operation["responses"].items()
            }
            where = f"{method.upper()} {path}"
            if operation["parameters"] or "requestBody" in operation:
                assert answers[422] == invalid, where
            if "{" in path:
                assert answers[404] == error, where
            if "security" in operation:
                assert {answers[s]["$ref"] for s in (401, 403)} <= {error["$ref"]}, where
                # A refused write also names each field under "errors".
                assert answers[400]["$ref"] in {
                    "#/components/schemas/RefusalOut",
                    "#/components/schemas/AmbiguousOut",
                }, where
            if "requestBody" in operation:
                assert answers[413] == error, where
    issue = schema["components"]["schemas"]["ValidationIssueOut"]
    assert set(issue["required"]) == {"type", "loc", "msg"}


def test_a_validation_error_answers_as_documented(client: Client) -> None:
    response = client.get("/api/entities", {"limit": 0, "kind": "person"})
    assert response.status_code == 422
    problems = response.json()["detail"]
    assert {tuple(p["loc"]) for p in problems} == {("query", "limit"), ("query", "kind")}
    assert all({"type", "loc", "msg"} <= set(p) for p in problems)
