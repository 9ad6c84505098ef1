"""Huoban settings: one module, every knob from environment variables with safe defaults.

See docs/operations.md for the full list.
"""

from __future__ import annotations

import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

SRC_DIR = Path(__file__).resolve().parent
BASE_DIR = Path(os.environ.get("HUOBAN_HOME", SRC_DIR.parent.parent)).resolve()
VAR_DIR = Path(os.environ.get("HUOBAN_VAR_DIR", BASE_DIR / "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)

TESTING = "pytest" in sys.modules or os.environ.get("HUOBAN_TESTING") == "1"


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _secret_key() -> str:
    key = os.environ.get("HUOBAN_SECRET_KEY")
    if key:
        return key
    path = VAR_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(50)
    path.write_text(key)
    path.chmod(0o600)
    return key


SECRET_KEY = _secret_key()
DEBUG = env_bool("HUOBAN_DEBUG", False)
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("HUOBAN_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("HUOBAN_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "huey.contrib.djhuey",
    "django_htmx",
    # platform (no CRM vocabulary)
    "huoban.platform.identity",
    "huoban.platform.access",
    "huoban.platform.audit",
    "huoban.platform.records",
    "huoban.platform.events",
    "huoban.platform.jobs",
    "huoban.platform.notifications",
    "huoban.platform.api",
    "huoban.platform.ui",
    "huoban.platform.ops",
    "huoban.platform.transfer",
    # domain apps
    "huoban.customers",
    "huoban.activities",
    "huoban.leads",
    "huoban.sales",
]

MIDDLEWARE = [
    "huoban.platform.api.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "huoban.platform.api.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "huoban.platform.identity.middleware.UserLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "huoban.platform.identity.middleware.SessionTimeoutMiddleware",
    "huoban.platform.identity.middleware.UserTimezoneMiddleware",
    "huoban.platform.audit.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "huoban.urls"
WSGI_APPLICATION = "huoban.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "huoban.platform.ui.context.shell",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'huoban.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("HUOBAN_DB_CONN_MAX_AGE", 60))
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + busy timeout + IMMEDIATE transactions: web and worker processes never see
    # "database is locked" under normal load (writers queue for the lock instead of failing).
    DATABASES["default"]["CONN_MAX_AGE"] = 0 if TESTING else 60
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000; "
            "PRAGMA foreign_keys=ON; PRAGMA cache_size=-64000; PRAGMA temp_store=MEMORY;"
        ),
    }
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("HUOBAN_TEST_SQLITE") or None}
else:
    DATABASES["default"].setdefault("TEST", {})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and task queue -------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "huoban"}}

HUEY_IMMEDIATE = TESTING or env_bool("HUOBAN_JOBS_IMMEDIATE", False)
# Imports read and convert the file in a forked reader process (platform/transfer/parallel.py).
IMPORT_READER_PROCESS = env_bool("HUOBAN_IMPORT_READER_PROCESS", True)
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "huoban",
        "url": REDIS_URL,
        "immediate": HUEY_IMMEDIATE,
        "consumer": {"workers": env_int("HUOBAN_WORKERS", 2), "worker_type": "thread"},
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "huoban",
        "filename": str(VAR_DIR / "huey.sqlite3"),
        "immediate": HUEY_IMMEDIATE,
        "consumer": {"workers": env_int("HUOBAN_WORKERS", 2), "worker_type": "thread"},
    }

# --- Auth and security ---------------------------------------------------------------------
AUTH_USER_MODEL = "identity.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    # Fast hashing in tests only; production always uses Argon2.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

AXES_FAILURE_LIMIT = env_int("HUOBAN_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("HUOBAN_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = not env_bool("HUOBAN_AXES_DISABLED", False)
AXES_VERBOSE = False
# Lockout responses: JSON {"code": "locked_out"} under /api/, a page elsewhere (identity/lockout.py).
AXES_LOCKOUT_CALLABLE = "huoban.platform.identity.lockout.lockout_response"

SESSION_IDLE_TIMEOUT = env_int("HUOBAN_SESSION_IDLE_MINUTES", 30) * 60
SESSION_COOKIE_AGE = env_int("HUOBAN_SESSION_ABSOLUTE_HOURS", 12) * 3600
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True  # the UI reads the token from a meta tag, never the cookie
HTTPS = env_bool("HUOBAN_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
TRUST_PROXY = env_bool("HUOBAN_TRUST_PROXY", False)

STEP_UP_WINDOW = env_int("HUOBAN_STEP_UP_MINUTES", 10) * 60
API_TOKEN_DEFAULT_DAYS = env_int("HUOBAN_API_TOKEN_DAYS", 90)
ENCRYPTION_KEYS = [k.strip() for k in os.environ.get("HUOBAN_ENCRYPTION_KEYS", "").split(",") if k.strip()]
DEMO_PASSWORD = os.environ.get("HUOBAN_DEMO_PASSWORD", "huoban-demo-2026")

EMAIL_BACKEND = os.environ.get(
    "HUOBAN_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("HUOBAN_SMTP_HOST")
    else "django.core.mail.backends.console.EmailBackend",
)
if TESTING:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
EMAIL_HOST = os.environ.get("HUOBAN_SMTP_HOST", "localhost")
EMAIL_PORT = env_int("HUOBAN_SMTP_PORT", 25)
EMAIL_HOST_USER = os.environ.get("HUOBAN_SMTP_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("HUOBAN_SMTP_PASSWORD", "")
EMAIL_USE_TLS = env_bool("HUOBAN_SMTP_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("HUOBAN_FROM_EMAIL", "huoban@localhost")

# --- i18n -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [SRC_DIR / "locale"]
TIME_ZONE = os.environ.get("HUOBAN_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS: list = []
# Front-end vendor files come from node_modules through an allow-list (not the whole folder):
# huoban.platform.ui.vendor.VENDOR_FILES; paths keep their npm layout, e.g. "htmx.org/dist/htmx.min.js".
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "huoban.platform.ui.vendor.VendorFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if (DEBUG or TESTING)
        else "whitenoise.storage.CompressedStaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"
WHITENOISE_USE_FINDERS = DEBUG or TESTING

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "huoban.platform.identity.authentication.BearerTokenAuthentication",
        "huoban.platform.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "huoban.platform.api.pagination.CappedPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "huoban.platform.api.filters.SearchFilter",
        "huoban.platform.api.filters.OrderingFilter",
    ],
    "SEARCH_PARAM": "q",
    "EXCEPTION_HANDLER": "huoban.platform.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("HUOBAN_THROTTLE_ANON", "60/min"),
        "user": os.environ.get("HUOBAN_THROTTLE_USER", "1200/min"),
        "auth": os.environ.get("HUOBAN_THROTTLE_AUTH", "20/min"),
        "export": os.environ.get("HUOBAN_THROTTLE_EXPORT", "30/hour"),
        "webform": os.environ.get("HUOBAN_THROTTLE_WEBFORM", "30/min"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
if TESTING:
    REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
        k: "100000/min" for k in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    }
API_COUNT_CAP = env_int("HUOBAN_API_COUNT_CAP", 10000)

SPECTACULAR_SETTINGS = {
    "TITLE": "Huoban CRM API",
    "DESCRIPTION": "REST API v1 of Huoban (伙伴) CRM. See docs/api.md for conventions.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
}
# Enum components named without collisions across modules (docs/api.md; huoban.platform.api.schema).
SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"] = ["huoban.platform.api.schema.postprocess_schema_enums"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("HUOBAN_LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "jieba": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
    },
}

SILENCED_SYSTEM_CHECKS = ["axes.W003"]
RUN_ON_COMMIT_IMMEDIATELY = TESTING

# Fields a customer must have beyond its name, e.g. "phone,industry" (UI, API and import alike).
CUSTOMER_REQUIRED_FIELDS = [
    f.strip() for f in os.environ.get("HUOBAN_CUSTOMER_REQUIRED_FIELDS", "").split(",") if f.strip()
]
