"""Production settings: Django's deploy checks pass, and real responses carry the security headers.

Settings are read from the environment once, at import, so each case starts a
new Python process with the environment a deployment would have and reads
what Django reports and what the pages send back.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

SITE_HOST = "receipts.example.org"

# Runs in the child process: migrate a fresh SQLite database, log in through
# the real login page, and report the headers and cookies of the responses.
RESPONSES_SCRIPT = r"""
import json, django
django.setup()
from django.core.management import call_command
from django.contrib.auth import get_user_model
from django.test import Client

call_command("migrate", interactive=False, verbosity=0)
get_user_model().objects.create_user("deploy-check", password="a long passphrase 7")
client = Client(HTTP_HOST="receipts.example.org")
secure = __import__("django.conf").conf.settings.HTTPS
page = client.get("/", secure=secure)
plain = client.get("/", secure=False)
login = client.get("/accounts/login/", secure=secure)
posted = client.post(
    "/accounts/login/",
    {"username": "deploy-check", "password": "a long passphrase 7"},
    secure=secure,
)

def cookie(response, name):
    morsel = response.cookies[name]
    return {
        "httponly": bool(morsel["httponly"]),
        "secure": bool(morsel["secure"]),
        "samesite": morsel["samesite"],
    }

print(json.dumps({
    "status": page.status_code,
    "headers": dict(page.headers),
    "plain_status": plain.status_code,
    "plain_location": plain.headers.get("Location", ""),
    "csrf": cookie(login, "csrftoken"),
    "session": cookie(posted, "sessionid"),
}))
"""


def _environment(tmp_path: Path, *, https: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECEIPTS_")}
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for the test process only
    (tmp_path / "data").mkdir(exist_ok=True)
    env.update(
        DJANGO_SETTINGS_MODULE="receipts.config.settings",
        RECEIPTS_DATA_DIR=str(tmp_path / "data"),
        RECEIPTS_SECRET_KEY=secrets.token_urlsafe(60),
        RECEIPTS_ALLOWED_HOSTS=SITE_HOST,
    )
    if https:
        env["RECEIPTS_HTTPS"] = "1"
    return env


def test_django_deploy_checks_report_nothing_under_https(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "DEBUG"],
        env=_environment(tmp_path, https=True),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def _responses(tmp_path: Path, *, https: bool) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", RESPONSES_SCRIPT],
        env=_environment(tmp_path, https=https),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("https", [True, False], ids=["https", "plain-http"])
@pytest.mark.slow
def test_responses_carry_the_security_headers_and_cookie_flags(tmp_path: Path, https: bool) -> None:
    seen = _responses(tmp_path, https=https)
    assert seen["status"] == 200
    headers = seen["headers"]

    policy = headers["Content-Security-Policy"]
    directives = dict(
        (part.split(None, 1) + [""])[:2] for part in (p.strip() for p in policy.split(";")) if part
    )
    assert directives["default-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    for sources in directives.values():
        for source in sources.split():
            # Nothing from another origin: only keywords, nonces and data: images.
            assert source.startswith("'") or source == "data:", (policy, source)
    assert "unsafe-inline" not in directives["script-src"]

    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"

    for name in ("csrf", "session"):
        assert seen[name]["samesite"] == "Lax", name
        assert seen[name]["secure"] is https, name
    assert seen["session"]["httponly"] is True

    if https:
        assert headers["Strict-Transport-Security"] == (
            "max-age=31536000; includeSubDomains; preload"
        )
        assert seen["plain_status"] == 301
        assert seen["plain_location"] == f"https://{SITE_HOST}/"
    else:
        assert "Strict-Transport-Security" not in headers
        assert seen["plain_status"] == 200
