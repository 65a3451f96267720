"""Settings for every environment, read from the environment.

The embedded default is a SQLite database in the data directory
(``RECEIPTS_DATA_DIR``, default ``./receipts-data``); ``DATABASE_URL`` points
at PostgreSQL instead. Secrets never live in the code: ``RECEIPTS_SECRET_KEY``
wins, otherwise a random key is created once in the data directory with
owner-only permissions.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url

from receipts.private_files import new_dirs_private, prepare_sqlite_file, secure_folder

BASE_DIR = Path(__file__).resolve().parent.parent
# Everything in the data directory is owner-only (receipts.private_files): the
# folder is 0700 and tightened on each start, files in it are 0600.
DATA_DIR = Path(os.environ.get("RECEIPTS_DATA_DIR", "receipts-data")).resolve()
DATA_DIR_ENTRIES = (
    "receipts.sqlite3",
    "receipts.sqlite3-wal",
    "receipts.sqlite3-shm",
    "receipts.sqlite3-journal",
    "secret_key",
    "archive",
    "keys",
    "reports",
    "backups",
)
secure_folder(DATA_DIR, DATA_DIR_ENTRIES)


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    key = os.environ.get("RECEIPTS_SECRET_KEY")
    if key:
        return key
    new_dirs_private(DATA_DIR)
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        # O_EXCL: two processes starting at once must not write two keys.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _env_bool("RECEIPTS_DEBUG")
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("RECEIPTS_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("RECEIPTS_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "receipts.evidence",
    "receipts.contracts",
    "receipts.ingest",
    "receipts.campaigns",
    "receipts.outreach",
    "receipts.web",
    "receipts.api",
    "receipts.screening",
    "receipts.accounts",
    "django_tasks",
    "django_tasks_db",
    "receipts.watch",
    "receipts.pagecache",
    "receipts.fetch",
    "receipts.captures",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before sessions: a cached page skips the rest, and is stored with the
    # headers the middleware below adds (CSP, X-Frame-Options, Vary).
    "receipts.pagecache.middleware.PublicPageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "receipts.accounts.middleware.TwoFactorVerificationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a login refused for too many
    # failures into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "receipts.config.urls"
WSGI_APPLICATION = "receipts.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    },
]

_database_url = os.environ.get("DATABASE_URL")
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
else:
    # The embedded database lives in the data directory; its file is made
    # owner-only on first use, before SQLite opens it.
    prepare_sqlite_file(DATA_DIR / "receipts.sqlite3")
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "receipts.sqlite3"),
            "OPTIONS": {
                # WAL lets readers run beside the one writer; IMMEDIATE avoids
                # the upgrade deadlock of deferred write transactions.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                # secure_delete zeroes deleted rows in the file, so an erased
                # supporter's sealed bytes do not linger in free space.
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=20000; "
                    "PRAGMA secure_delete=ON;"
                ),
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Public pages and API reads for anonymous readers are cached in each server
# process's memory (receipts.pagecache), filed under the database's content
# generation, which every write to public content changes on commit: no page
# is served stale, so the cache needs no shared server. Entries of older
# generations are never asked for again and age out; the timeout bounds only
# edits made behind the application's back (SQL typed into psql).
# RECEIPTS_PAGE_CACHE=0 turns it off.
PAGE_CACHE = _env_bool("RECEIPTS_PAGE_CACHE", True)
PAGE_CACHE_ALIAS = "pages"
PAGE_CACHE_MAX_BYTES = int(os.environ.get("RECEIPTS_PAGE_CACHE_MAX_BYTES", 200 * 1024))
PAGE_CACHE_VIEWS = frozenset(
    {"home", "entity", "entity-map", "tie", "source", "campaigns", "campaign", "campaign-brief"}
)
# Every GET of the JSON API: reads are public, writes need a token (never cached).
PAGE_CACHE_NAMESPACES = frozenset({"api"})
PAGE_CACHE_NEVER_PATHS = ("/edit/", "/accounts/", "/admin/", "/screen/", "/watch/")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    PAGE_CACHE_ALIAS: {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "receipts-pages",
        "TIMEOUT": int(os.environ.get("RECEIPTS_PAGE_CACHE_SECONDS", 600)),
        "OPTIONS": {"MAX_ENTRIES": int(os.environ.get("RECEIPTS_PAGE_CACHE_ENTRIES", 300))},
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Session rows are filed under a digest of the cookie's value: the session
# table of a database copy or a backup holds no cookie that logs anyone in.
SESSION_ENGINE = "receipts.accounts.sessions"
# django-axes first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# Two-factor login (receipts.accounts): the issuer names the site in the
# authenticator app. django-otp's own per-device back-off is off because
# receipts.accounts.services locks a user out after wrong codes of any kind.
OTP_TOTP_ISSUER = "Receipts"
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Pages that show or change accounts, tokens, keys or supporters: staff,
# superusers and organisers open them only with two-factor login on and a code
# given in this login (receipts.accounts.middleware). The whole admin is one.
TWO_FACTOR_NAMESPACES = frozenset({"admin"})
TWO_FACTOR_VIEWS = frozenset(
    {
        "password_change",
        "password_change_done",
        "campaign-members",
        "campaign-member-remove",
        "campaign-invite",
        "campaign-invitation-revoke",
        "outreach-review",
        "outreach-decide",
        "outreach-supporters",
        "outreach-export",
        "outreach-export-osdi",
        "outreach-erase",
        "outreach-attribution",
    }
)
# The admin's way in and out stay open, like the site's own login and logout.
TWO_FACTOR_EXEMPT_VIEWS = frozenset({"admin:login", "admin:logout"})

# Login throttling (django-axes): wrong passwords are counted per username and,
# separately, per client address; either count reaching the limit within the
# cool-off stops all password checks for that username or from that address
# until the cool-off has passed since the last counted failure. Failures while
# locked out are not counted (so the wait shown is the real one), a success
# resets nothing (it would let one account's login clear an address's count),
# and successful logins are not logged (no record of who logged in from where).
AXES_FAILURE_LIMIT = int(os.environ.get("RECEIPTS_LOGIN_FAILURE_LIMIT", 10))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("RECEIPTS_LOGIN_LOCKOUT_MINUTES", 15)))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = False
AXES_DISABLE_ACCESS_LOG = True
AXES_LOCKOUT_CALLABLE = "receipts.accounts.throttle.locked_out"
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "receipts.accounts.throttle.client_address"
AXES_USERNAME_CALLABLE = "receipts.accounts.throttle.counted_username"
# Reverse proxies in front of the site that append the client's address to
# X-Forwarded-For; 0 counts the address the server sees.
LOGIN_PROXY_COUNT = int(os.environ.get("RECEIPTS_PROXY_COUNT", 0))

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = os.environ.get("RECEIPTS_STATIC_ROOT") or None
# Static files are served from the app folders by WhiteNoise: no collectstatic
# step is needed to run the site from a checkout.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Archived copies of sources, stored by SHA-256 of their content.
ARCHIVE_DIR = Path(os.environ.get("RECEIPTS_ARCHIVE_DIR", DATA_DIR / "archive")).resolve()
secure_folder(ARCHIVE_DIR)
ARCHIVE_MAX_BYTES = int(os.environ.get("RECEIPTS_ARCHIVE_MAX_BYTES", 50 * 1024 * 1024))
# Web captures of sources (receipts.captures): the browser, and the limits a
# capture of one link stays within, whatever the page does.
CAPTURE_CHROMIUM = os.environ.get("RECEIPTS_CHROMIUM", "/usr/bin/chromium")
CAPTURE_TIMEOUT = float(os.environ.get("RECEIPTS_CAPTURE_TIMEOUT", 45))
CAPTURE_MAX_BYTES = int(os.environ.get("RECEIPTS_CAPTURE_MAX_BYTES", 50 * 1024 * 1024))
CAPTURE_MAX_REQUESTS = int(os.environ.get("RECEIPTS_CAPTURE_MAX_REQUESTS", 300))
CAPTURE_MAX_REDIRECTS = int(os.environ.get("RECEIPTS_CAPTURE_MAX_REDIRECTS", 10))
CAPTURE_SETTLE_SECONDS = float(os.environ.get("RECEIPTS_CAPTURE_SETTLE_SECONDS", 3))
CAPTURE_RECHECK_DAYS = int(os.environ.get("RECEIPTS_CAPTURE_RECHECK_DAYS", 7))
# An outside witness for captures: the Internet Archive's Save Page Now.
WAYBACK = _env_bool("RECEIPTS_WAYBACK", False)
WAYBACK_URL = os.environ.get("RECEIPTS_WAYBACK_URL", "https://web.archive.org")
WAYBACK_ACCESS_KEY = os.environ.get("RECEIPTS_WAYBACK_ACCESS_KEY", "")
WAYBACK_SECRET_KEY = os.environ.get("RECEIPTS_WAYBACK_SECRET_KEY", "")
WAYBACK_MIN_INTERVAL = float(os.environ.get("RECEIPTS_WAYBACK_MIN_INTERVAL", 15))
WAYBACK_TIMEOUT = float(os.environ.get("RECEIPTS_WAYBACK_TIMEOUT", 180))
WAYBACK_POLL_SECONDS = float(os.environ.get("RECEIPTS_WAYBACK_POLL_SECONDS", 5))
WAYBACK_REQUEST_TIMEOUT = 30.0
WAYBACK_BACKOFF_SECONDS = float(os.environ.get("RECEIPTS_WAYBACK_BACKOFF_SECONDS", 10))
WAYBACK_MAX_ATTEMPTS = 4
# An RFC 3161 timestamp on each capture's manifest, verified against these roots (PEM).
TSA_URL = os.environ.get("RECEIPTS_TSA_URL", "")
TSA_ROOTS = os.environ.get("RECEIPTS_TSA_ROOTS", "")
TSA_TIMEOUT = float(os.environ.get("RECEIPTS_TSA_TIMEOUT", 20))
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Security headers and cookies. HTTPS-only flags follow RECEIPTS_HTTPS so the
# embedded site still works on http://127.0.0.1.
HTTPS = _env_bool("RECEIPTS_HTTPS")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy: nothing from another origin, no inline script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("RECEIPTS_LOG_LEVEL", "WARNING")},
}

# Watchlists and alerts (receipts.watch). Alerts are sent by a task in the
# database-backed queue (run it with `receipts db_worker`) or by
# `receipts watch run`; no other server is needed.
TASKS = {
    "default": {
        "BACKEND": os.environ.get("RECEIPTS_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}
# A new contract award at or above this many US dollars is an alert of its own.
WATCH_AWARD_THRESHOLD = os.environ.get("RECEIPTS_WATCH_AWARD_THRESHOLD", "1000000")
# Links in webhooks and emails point here.
WATCH_SITE_URL = os.environ.get("RECEIPTS_SITE_URL", "http://127.0.0.1:8000")
# Requests the server sends (webhooks) may go to loopback and private addresses
# (a receiver on this machine or intranet); link-local (cloud metadata),
# multicast and reserved ones are refused whatever this says (receipts.outbound).
# RECEIPTS_WATCH_ALLOW_PRIVATE_WEBHOOKS is the older name of the same setting.
ALLOW_PRIVATE_ADDRESSES = _env_bool(
    "RECEIPTS_ALLOW_PRIVATE_ADDRESSES",
    _env_bool("RECEIPTS_WATCH_ALLOW_PRIVATE_WEBHOOKS", DEBUG),
)
WATCH_WEBHOOK_TIMEOUT = float(os.environ.get("RECEIPTS_WATCH_WEBHOOK_TIMEOUT", 10))
# USAspending's API (``receipts fetch usaspending``): the base URL, checked like every
# outbound request (a private address needs RECEIPTS_ALLOW_PRIVATE_ADDRESSES=1),
# how often a download job is polled, how long it may take, and how many times a
# 5xx reply, timeout or dropped connection is retried (the pause doubles each time).
USASPENDING_API = os.environ.get("RECEIPTS_USASPENDING_API", "https://api.usaspending.gov")
USASPENDING_POLL_SECONDS = float(os.environ.get("RECEIPTS_USASPENDING_POLL_SECONDS", 10))
USASPENDING_JOB_TIMEOUT = float(os.environ.get("RECEIPTS_USASPENDING_JOB_TIMEOUT", 3 * 3600))
USASPENDING_RETRIES = int(os.environ.get("RECEIPTS_USASPENDING_RETRIES", 5))
USASPENDING_BACKOFF_SECONDS = float(os.environ.get("RECEIPTS_USASPENDING_BACKOFF_SECONDS", 2))
USASPENDING_TIMEOUT = float(os.environ.get("RECEIPTS_USASPENDING_TIMEOUT", 60))
# A failed send is tried again after 1, 2, 4... times this, up to this many attempts.
WATCH_RETRY_SECONDS = float(os.environ.get("RECEIPTS_WATCH_RETRY_SECONDS", 60))
WATCH_MAX_ATTEMPTS = int(os.environ.get("RECEIPTS_WATCH_MAX_ATTEMPTS", 6))
WATCH_FEED_ENTRIES = int(os.environ.get("RECEIPTS_WATCH_FEED_ENTRIES", 50))

# Email (watchlist digests, invitations, password resets, sign-up confirmations)
# through Django's email backend: SMTP by default.
EMAIL_BACKEND = os.environ.get(
    "RECEIPTS_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_HOST = os.environ.get("RECEIPTS_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("RECEIPTS_EMAIL_PORT", 25))
EMAIL_HOST_USER = os.environ.get("RECEIPTS_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("RECEIPTS_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("RECEIPTS_EMAIL_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("RECEIPTS_EMAIL_FROM", "receipts@localhost")
# Sign-up confirmations and invitations are sent while the page waits: a mail
# server that does not answer must not hold the page for long.
EMAIL_TIMEOUT = float(os.environ.get("RECEIPTS_EMAIL_TIMEOUT", 10))

# Screening uploads (/screen/) run within the request: each stops past this
# much processor time, and an anonymous client may screen this many files a
# minute and a day (signed-in users are not counted). Larger files: the CLI.
SCREEN_CPU_SECONDS = float(os.environ.get("RECEIPTS_SCREEN_CPU_SECONDS", 10))
SCREEN_RATE_PER_MINUTE = int(os.environ.get("RECEIPTS_SCREEN_RATE_PER_MINUTE", 5))
SCREEN_RATE_PER_DAY = int(os.environ.get("RECEIPTS_SCREEN_RATE_PER_DAY", 100))

# How deep a rollup walks ownership and part_of ties. Real corporate families
# and agency trees are far shallower; the bound keeps a bad graph harmless.
ROLLUP_MAX_DEPTH = int(os.environ.get("RECEIPTS_ROLLUP_MAX_DEPTH", 12))

# Outreach (receipts.outreach): supporter data. Each organisation's keys live in
# OUTREACH_KEY_DIR/<org>.key (or RECEIPTS_OUTREACH_KEY_<ORG>), never in the
# database; keep that folder out of database backups.
# The same folder holds the login keyring (logins.keyring, or RECEIPTS_LOGIN_KEYS),
# which seals two-factor secrets: it belongs with key backups, not database backups.
OUTREACH_KEY_DIR = Path(os.environ.get("RECEIPTS_OUTREACH_KEY_DIR", DATA_DIR / "keys")).resolve()
secure_folder(OUTREACH_KEY_DIR)
SUPPORTER_RETENTION_DAYS = int(os.environ.get("RECEIPTS_SUPPORTER_RETENTION_DAYS", 365))
OUTREACH_RATE_PER_MINUTE = int(os.environ.get("RECEIPTS_OUTREACH_RATE_PER_MINUTE", 5))
OUTREACH_RATE_PER_DAY = int(os.environ.get("RECEIPTS_OUTREACH_RATE_PER_DAY", 50))
OUTREACH_MIN_FILL_SECONDS = float(os.environ.get("RECEIPTS_OUTREACH_MIN_FILL_SECONDS", 3))
OUTREACH_MAX_FORM_AGE_SECONDS = int(os.environ.get("RECEIPTS_OUTREACH_MAX_FORM_AGE_SECONDS", 86400))
OUTREACH_MAX_BODY_BYTES = int(os.environ.get("RECEIPTS_OUTREACH_MAX_BODY_BYTES", 64 * 1024))
OUTREACH_PHONE_REGION = os.environ.get("RECEIPTS_OUTREACH_PHONE_REGION", "US")
