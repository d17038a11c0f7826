"""RadFlow settings, read from the environment only.

Defaults give the embedded single-box set-up (SQLite under ``RADFLOW_DATA_DIR``); a hospital sets
``DATABASE_URL`` and ``REDIS_URL``. With ``DEBUG`` off a real ``SECRET_KEY`` is required.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from radflow.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent
DATA_DIR = Path(env_str("RADFLOW_DATA_DIR", str(PROJECT_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
TESTING = env_bool("RADFLOW_TESTING", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if DEBUG or TESTING:
        SECRET_KEY = "insecure-development-key-never-use-in-production"  # noqa: S105
    else:
        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) must be set when DEBUG is off")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "django_htmx",
    "simple_history",
    "axes",
    "radflow.accounts",
    "radflow.audit",
    "radflow.scheduling",
    "radflow.catalog",
    "radflow.patients",
    "radflow.staff",
    "radflow.billing",
    "radflow.orders",
    "radflow.exams",
    "radflow.intake",
    "radflow.notifications",
    "radflow.worklists",
    "radflow.rostering",
    "radflow.credentials",
    "radflow.planning",
    "radflow.waitlist",
    "radflow.interfaces",
    "radflow.infection",
    "radflow.supplies",
    "radflow.contrast",
    "radflow.quality",
    "radflow.kpis",
    "radflow.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "radflow.web.middleware.NotFoundPageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "radflow.urls"
WSGI_APPLICATION = "radflow.wsgi.application"
ASGI_APPLICATION = "radflow.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "radflow.web.context_processors.navigation",
            ],
        },
    },
]


def _database_config() -> dict[str, Any]:
    url = env_str("DATABASE_URL")
    if url:
        try:
            config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
        except Exception as exc:  # dj_database_url raises several types for a bad URL
            raise ImproperlyConfigured(
                "DATABASE_URL is not a valid database URL "
                "(expected postgres://user:password@host:5432/name or sqlite:////path/to/file)"
            ) from exc
        if config.get("ENGINE") not in {
            "django.db.backends.postgresql",
            "django.db.backends.sqlite3",
        }:
            raise ImproperlyConfigured(
                f"DATABASE_URL names an unsupported database engine: {config.get('ENGINE')}"
            )
        config.setdefault("TEST", {})
        return config
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "radflow.sqlite3",
        "OPTIONS": {
            # IMMEDIATE takes the write lock at BEGIN, so two writers never deadlock on upgrade.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                # The test database is in memory with a shared cache, where a reader's table lock
                # fails a writer at once ("database table is locked") instead of waiting; the
                # background-thread tests (a day plan solved while the page polls) need reads that
                # take no table lock. On a file database, as in production, this does nothing.
                + (" PRAGMA read_uncommitted=1;" if TESTING else "")
            ),
        },
    }


DATABASES = {"default": _database_config()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_ENABLED = not TESTING or env_bool("AXES_ENABLED", False)
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("RADFLOW_TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING
MEDIA_ROOT = DATA_DIR / "media"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "radflow@localhost")

REDIS_URL = env_str("REDIS_URL")
# Rendered board bodies (keyed by the board's version, so never stale) are shared by the web
# processes of one host (gunicorn runs several) through files under the data directory; every
# entry expires. Tests keep a per-process memory cache so they never see each other's entries.
if not TESTING:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
            "TIMEOUT": 300,
            "OPTIONS": {"MAX_ENTRIES": 2000},
        }
    }
HL7_PORT = env_int("RADFLOW_HL7_PORT", 2575)
#: The EHR's interface engine must reach the MLLP listener; the interface settings decide who
#: is accepted.
HL7_HOST = env_str("RADFLOW_HL7_HOST", "0.0.0.0")  # noqa: S104
#: A larger message is refused (AR) and only its start kept: orders and reports are a few KB.
HL7_MAX_MESSAGE_BYTES = env_int("RADFLOW_HL7_MAX_MESSAGE_BYTES", 1_000_000)
#: Connecting to a destination, sending and reading its ACK; past it the message is retried.
HL7_SEND_TIMEOUT_SECONDS = env_int("RADFLOW_HL7_SEND_TIMEOUT_SECONDS", 10)
#: MSH-3 of what RadFlow sends; MSH-4 is the site's code unless a facility is set here.
HL7_SENDING_APPLICATION = env_str("RADFLOW_HL7_SENDING_APPLICATION", "RADFLOW")
HL7_SENDING_FACILITY = env_str("RADFLOW_HL7_SENDING_FACILITY", "")
DICOM_PORT = env_int("RADFLOW_DICOM_PORT", 11112)
DICOM_AE_TITLE = env_str("RADFLOW_DICOM_AE_TITLE", "RADFLOW")
#: Modalities on the network must reach the DICOM server; the AE registry decides who may talk.
DICOM_HOST = env_str("RADFLOW_DICOM_HOST", "0.0.0.0")  # noqa: S104
WEB_PORT = env_int("RADFLOW_WEB_PORT", 8000)

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        # The report pack's PDF: WeasyPrint logs every layout step and font subset at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

#: Absolute address of the web UI, for links in emails (notifications carry no PHI).
RADFLOW_BASE_URL = env_str("RADFLOW_BASE_URL", "http://127.0.0.1:8000")
#: How often the worker runs its periodic jobs (SLA escalation), in seconds.
WORKER_INTERVAL_SECONDS = env_int("RADFLOW_WORKER_INTERVAL", 60)
#: Roster solves run on commit in the calling thread instead of the web process's background
#: thread (tests; a box that cannot spare a thread).
ROSTER_RUN_SYNC = env_bool("RADFLOW_ROSTER_RUN_SYNC", TESTING)
#: Day plan runs (re-plan) likewise: computed inline instead of in a background thread.
PLAN_RUN_SYNC = env_bool("RADFLOW_PLAN_RUN_SYNC", TESTING)
#: Monthly report packs asked for on the page: built inline instead of in a background thread.
REPORT_PACK_BUILD_SYNC = env_bool("RADFLOW_REPORT_PACK_BUILD_SYNC", TESTING)
#: Local hour of the 1st after which last month's report packs are built (worker, Celery beat).
REPORT_PACK_HOUR = env_int("RADFLOW_REPORT_PACK_HOUR", 4)

# Booking rules that are department choices (see radflow/scheduling/booking.py).
#: Fasting (NPO) exams start by this local time.
SCHEDULING_NPO_LATEST_START = env_str("RADFLOW_SCHEDULING_NPO_LATEST_START", "11:00")
#: An inpatient's porter pick-up is booked this many minutes before the exam.
SCHEDULING_TRANSPORT_LEAD_MIN = env_int("RADFLOW_SCHEDULING_TRANSPORT_LEAD_MIN", 30)
#: Slot search looks this many days ahead.
SCHEDULING_SEARCH_DAYS = env_int("RADFLOW_SCHEDULING_SEARCH_DAYS", 14)
#: A gap shorter than this between bookings counts as wasted when options are ranked.
SCHEDULING_MIN_USEFUL_GAP_MIN = env_int("RADFLOW_SCHEDULING_MIN_USEFUL_GAP_MIN", 20)
