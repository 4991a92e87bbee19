"""Settings for the Utility HAN Test Tool portal, read from the environment.

With no environment set the portal runs embedded: SQLite in WAL mode, the in-memory channel
layer and a Celery worker inside the web process on an in-memory broker. Setting
``DATABASE_URL`` and ``REDIS_URL`` switches to PostgreSQL, the Redis broker and the Redis
channel layer, with Celery workers as separate processes.
"""

import json
import os
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

# Lets the generic admin and queryset classes used for typing be subscripted at run time.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PORTAL_VAR_DIR", BASE_DIR / "var"))


def env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_flag("DJANGO_DEBUG", default=True)
_DEVELOPMENT_SECRET_KEY = "development-only-key-never-used-when-DJANGO_DEBUG-is-off"  # noqa: S105
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "") or (_DEVELOPMENT_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "channels",
    "portal.apps.PortalConfig",
    "trust_center.apps.TrustCenterConfig",
    "han_gateway.apps.HanGatewayConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Above WhiteNoise and the sign-in checks, so every response carries the policy.
    "portal.runtime.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Once the user is known: a customer's pages in their account's language, staff in English.
    "portal.runtime.middleware.CustomerLanguageMiddleware",
    # Where the user is known; static files were served before it and stay cacheable.
    "portal.runtime.middleware.NoStoreMiddleware",
    "portal.runtime.middleware.SignInRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After the messages, to leave the sign-in page a message when it signs someone out.
    "portal.runtime.idle_sessions.IdleSessionExpiryMiddleware",
    "portal.runtime.sign_in_throttle.SignInThrottleMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
ASGI_APPLICATION = "portal.asgi.application"
AUTH_USER_MODEL = "portal.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
# PostgreSQL connections per process: with PORTAL_DB_POOL_MAX_SIZE set, a pool of at most that
# many, lent to a request (or task) and returned at its end. Without it, each thread keeps its
# own connection for a minute; under ASGI every request runs in a thread of its own, so a burst
# of requests opens as many connections as it has requests, past the server's limit. Set it for
# served processes: the web server below its share of PostgreSQL's max_connections, a Celery
# worker at least its --concurrency (a run holds its connection while it scans).
DB_POOL_MAX_SIZE = int(os.environ.get("PORTAL_DB_POOL_MAX_SIZE", "0") or 0)
if DATABASE_URL:
    _database = dj_database_url.parse(
        DATABASE_URL, conn_max_age=0 if DB_POOL_MAX_SIZE else 60, conn_health_checks=True
    )
    if DB_POOL_MAX_SIZE:
        _database.setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": DB_POOL_MAX_SIZE,
            # A request waits this long for a connection when all are lent, then fails.
            "timeout": float(os.environ.get("PORTAL_DB_POOL_TIMEOUT_S", "20")),
        }
    DATABASES: dict[str, dict[str, Any]] = {"default": dict(_database)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "portal.sqlite3",
            "OPTIONS": {
                # WAL lets the web requests read while the embedded worker writes; IMMEDIATE
                # takes the write lock at BEGIN so concurrent writers wait instead of failing.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # A file rather than shared memory, so the worker thread sees the test database.
            "TEST": {"NAME": VAR_DIR / "test-portal.sqlite3"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, Celery and live events -------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
# Live run events: with Redis, one Redis channel per run, read by each web process on a single
# subscription; embedded, handed over in the process (portal.runtime.live_events).
LIVE_EVENTS_REDIS_URL = REDIS_URL
LIVE_EVENTS_PREFIX = os.environ.get("CHANNELS_PREFIX", "han")
# Embedded: the worker runs as a thread of the web process and shares its memory broker.
EMBEDDED_WORKER = not REDIS_URL

if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    # redis-py 8 gives up on a socket read after 5 s by default; a busy worker can take longer
    # to read a reply it has already been sent, and a message popped but not read is lost.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, float] = {
        "socket_timeout": 30,
        "socket_connect_timeout": 5,
    }
    CELERY_REDIS_SOCKET_TIMEOUT = 30
else:
    CELERY_BROKER_URL = "memory://localhost/"
    CELERY_RESULT_BACKEND = "cache+memory://"
    # kombu's memory transport polls once a second unless told otherwise.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"polling_interval": 0.01}

# The cache holds the sign-in failure counts and the API's throttle history. Embedded: this
# process's memory (it is the only web process). With Redis: shared, so every web process
# agrees on who is locked out. Never call cache.clear() on it: Redis may hold the broker too.
if REDIS_URL:
    CACHES: dict[str, dict[str, Any]] = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ.get("PORTAL_CACHE_URL", "") or REDIS_URL,
            "KEY_PREFIX": os.environ.get("PORTAL_CACHE_PREFIX", "portal"),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "portal",
        }
    }

CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The reaper's pace is HAN_REAPER_INTERVAL_S in both modes (beat here, a timer when embedded).
CELERY_BEAT_SCHEDULE = {
    "reap-stale-han-test-runs": {
        "task": "portal.reap_stale_han_test_runs",
        "schedule": float(os.environ.get("HAN_REAPER_INTERVAL_S", "30")),
    },
    "expire-join-windows": {"task": "portal.expire_join_windows", "schedule": 60.0},
}
# Threads in the embedded worker: enough for the web process's own background work.
EMBEDDED_WORKER_CONCURRENCY = int(os.environ.get("EMBEDDED_WORKER_CONCURRENCY", "8"))

# --- The Utility HAN Test Tool ---------------------------------------------------------------
# Runs go to a Celery queue per AMI region, so workers can sit near the meters they reach:
# HAN_REGION_QUEUES="north=han-north,south=han-south"; unlisted regions use the default queue.
HAN_REGION_QUEUES = dict(
    item.split("=", 1) for item in env_list("HAN_REGION_QUEUES", []) if "=" in item
)
HAN_RUN_TIME_LIMIT_S = int(os.environ.get("HAN_RUN_TIME_LIMIT_S", "180"))
HAN_RUN_STALE_AFTER_S = int(os.environ.get("HAN_RUN_STALE_AFTER_S", "60"))
HAN_RUN_QUEUE_TIMEOUT_S = int(os.environ.get("HAN_RUN_QUEUE_TIMEOUT_S", "600"))
# A queued run no worker has taken after this long is sent again (a lost message heals).
HAN_RUN_REQUEUE_AFTER_S = int(os.environ.get("HAN_RUN_REQUEUE_AFTER_S", "30"))
# How long a join window stays open for a newly registered device (utilities: hours to days).
HAN_JOIN_WINDOW_S = int(os.environ.get("HAN_JOIN_WINDOW_S", str(24 * 3600)))
HAN_REAPER_INTERVAL_S = float(os.environ.get("HAN_REAPER_INTERVAL_S", "30"))
# Where a gateway's service URL may point: each gateway's secret goes there with every request.
# Origins, comma-separated: "https://ami-north.example,https://ami-south.example:8443"; a port of
# * allows any port on that host. Development defaults to this machine's loopback addresses;
# production has none until they are set, and requires https.
HAN_GATEWAY_SERVICE_ORIGINS = env_list(
    "HAN_GATEWAY_SERVICE_ORIGINS",
    [
        f"{scheme}://{host}:*"
        for scheme in ("http", "https")
        for host in ("127.0.0.1", "localhost", "[::1]")
    ]
    if DEBUG
    else [],
)
try:
    from han_gateway.service_origins import parse_origins

    parse_origins(HAN_GATEWAY_SERVICE_ORIGINS)
except ValueError as error:
    raise ImproperlyConfigured(f"HAN_GATEWAY_SERVICE_ORIGINS: {error}") from None
HAN_GATEWAY_REQUIRE_HTTPS = not DEBUG
# Certificate authorities the worker trusts for gateway services (PEM file); empty: the system's.
HAN_GATEWAY_CA_FILE = os.environ.get("HAN_GATEWAY_CA_FILE", "")
HAN_GATEWAY_CONNECT_TIMEOUT_S = float(os.environ.get("HAN_GATEWAY_CONNECT_TIMEOUT_S", "5"))
HAN_GATEWAY_READ_TIMEOUT_S = float(os.environ.get("HAN_GATEWAY_READ_TIMEOUT_S", "30"))
# Email to customers (their instructions): SMTP when EMAIL_HOST is set, else the console.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "") == "1"
EMAIL_TIMEOUT = 10
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get(
    "PORTAL_FROM_EMAIL", "Utility HAN Test Tool <no-reply@utility.example>"
)
# Where links in email point: the portal as customers reach it.
PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# The demo's simulated premises change when the fix is recorded (portal/demo/responses.py);
# only gateways holding the demo's public secrets are ever touched.
HAN_DEMO_PREMISES_RESPOND = os.environ.get("HAN_DEMO_PREMISES_RESPOND", "1") == "1"
# Overrides of portal.diagnosis.Thresholds, as JSON: '{"weak_link_quality": 110}'.
HAN_DIAGNOSIS_THRESHOLDS = json.loads(os.environ.get("HAN_DIAGNOSIS_THRESHOLDS", "{}"))
# Runs started in the last hour, counted from the database; 0 turns a limit off. A premise's
# meter and HAN need no more than a few tests an hour. Reps and administrators (and the API
# integrations acting as them) test for many customers, so they get more than a customer,
# who tests only their own premises.
# A history page on PostgreSQL gives up after this, and asks for a date range instead.
HAN_HISTORY_QUERY_TIMEOUT_MS = int(os.environ.get("HAN_HISTORY_QUERY_TIMEOUT_MS", "1000"))
HAN_START_LIMIT_PER_PREMISE_PER_HOUR = int(
    os.environ.get("HAN_START_LIMIT_PER_PREMISE_PER_HOUR", "6")
)
HAN_START_LIMIT_PER_USER_PER_HOUR = int(os.environ.get("HAN_START_LIMIT_PER_USER_PER_HOUR", "20"))
HAN_START_LIMIT_PER_STAFF_PER_HOUR = int(
    os.environ.get("HAN_START_LIMIT_PER_STAFF_PER_HOUR", "120")
)

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = DEBUG
# WhiteNoise hands Django a file iterator, which the ASGI handler reads in a thread; correct,
# and production serves static files from the proxy in front anyway.
warnings.filterwarnings(
    "ignore", message="StreamingHttpResponse must consume synchronous iterators", category=Warning
)

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
# What customers may read their pages and email in (portal.models.Customer.Language); the
# utility's staff work in English.
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("PORTAL_TIME_ZONE", "America/Chicago")
USE_I18N = True
USE_TZ = True

# --- Passwords and sessions -----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# A session left idle this long is signed out, and its cookie ends with it. Staff sessions open
# every customer's data, so they end sooner than a customer's session with only their own.
PORTAL_STAFF_SESSION_IDLE_S = int(os.environ.get("PORTAL_STAFF_SESSION_IDLE_S", "1800"))
PORTAL_CUSTOMER_SESSION_IDLE_S = int(
    os.environ.get("PORTAL_CUSTOMER_SESSION_IDLE_S", str(8 * 3600))
)
if min(PORTAL_STAFF_SESSION_IDLE_S, PORTAL_CUSTOMER_SESSION_IDLE_S) < 60:
    raise ImproperlyConfigured(
        "PORTAL_STAFF_SESSION_IDLE_S and PORTAL_CUSTOMER_SESSION_IDLE_S must be at least 60."
    )

# Failed sign-ins (the portal's and the admin's sign-in pages) lock out a user name, or a client
# address, for PORTAL_SIGN_IN_LOCKOUT_S once they reach the limit within that time; 0 turns a
# limit off. An address gets more tries than a user name: a call centre or a household signs in
# from one public address. Behind a proxy, the server must be told to trust its
# X-Forwarded-For (uvicorn: FORWARDED_ALLOW_IPS) or every client shares the proxy's address.
PORTAL_SIGN_IN_FAILURE_LIMIT = int(os.environ.get("PORTAL_SIGN_IN_FAILURE_LIMIT", "5"))
PORTAL_SIGN_IN_ADDRESS_FAILURE_LIMIT = int(
    os.environ.get("PORTAL_SIGN_IN_ADDRESS_FAILURE_LIMIT", "50")
)
PORTAL_SIGN_IN_LOCKOUT_S = int(os.environ.get("PORTAL_SIGN_IN_LOCKOUT_S", "900"))

# --- Security headers -----------------------------------------------------------------------
# Django's defaults, stated so that a change to them is a visible decision.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients).
if env_flag("DJANGO_SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SILENCED_SYSTEM_CHECKS: list[str] = []
if not DEBUG:
    # Off only where the proxy in front already redirects plain HTTP to HTTPS.
    SECURE_SSL_REDIRECT = env_flag("DJANGO_SECURE_SSL_REDIRECT", default=True)
    # Load balancers probe the health check over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]
    SECURE_HSTS_SECONDS = 365 * 24 * 3600
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_flag("DJANGO_SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # An operator who turned these off said so in the environment: no warning every start.
    if not SECURE_SSL_REDIRECT:
        SILENCED_SYSTEM_CHECKS.append("security.W008")
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS.append("security.W021")

# Content-Security-Policy on every response, in development too (django-csp; the run page's
# WebSocket to this host is added per request by portal.middleware). Pages load scripts and
# styles only from static files; data for scripts travels in json_script blocks.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
    }
}

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Integrations (CRM, CIS): "Authorization: Token <key>", keys issued in the admin.
        # First, so that a client without credentials is told 401 and how to authenticate.
        "portal.api.tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's own three, with a JSON parser that answers a too-deeply nested body with a 400.
    "DEFAULT_PARSER_CLASSES": [
        "portal.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # The browsable API (HTML forms, inline styles) only in development; /api/docs/ documents
    # the API in production.
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        *(["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 25,
    # Generous: they stop a runaway script, not a person or an integration at work.
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("PORTAL_API_ANON_RATE", "60/minute"),
        "user": os.environ.get("PORTAL_API_USER_RATE", "600/minute"),
    },
    # The client address is REMOTE_ADDR, which the ASGI server has already taken from a trusted
    # proxy's X-Forwarded-For; DRF must not believe a header any client can send.
    "NUM_PROXIES": 0,
}
# API tokens (django-rest-knox): the database keeps only a SHA-512 digest of each token; the
# token itself is shown once, when an administrator issues it in the admin. Tokens expire.
KNOX_TOKEN_MODEL = "portal.ApiToken"  # noqa: S105 - a model, not a secret
PORTAL_API_TOKEN_TTL_DAYS = int(os.environ.get("PORTAL_API_TOKEN_TTL_DAYS", "90"))
# The longest an administrator may make a token valid for, so every token has to be renewed.
PORTAL_API_TOKEN_MAX_TTL_DAYS = 365
if not 1 <= PORTAL_API_TOKEN_TTL_DAYS <= PORTAL_API_TOKEN_MAX_TTL_DAYS:
    raise ImproperlyConfigured(
        f"PORTAL_API_TOKEN_TTL_DAYS must be 1 to {PORTAL_API_TOKEN_MAX_TTL_DAYS} days."
    )
REST_KNOX = {
    "TOKEN_MODEL": KNOX_TOKEN_MODEL,
    "TOKEN_TTL": timedelta(days=PORTAL_API_TOKEN_TTL_DAYS),
    # The header integrations already send, from the DRF tokens these replaced.
    "AUTH_HEADER_PREFIX": "Token",
    # Recognisable in a leaked file or a secret scanner's findings.
    "TOKEN_PREFIX": "han_",
    # An expiry is a promise to the administrator who set it: use does not extend it.
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Utility HAN Test Tool API",
    "DESCRIPTION": "Customers, premises, HAN test runs and Trust Center registrations.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("PORTAL_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "celery": {"level": "WARNING"},
        "kombu": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
