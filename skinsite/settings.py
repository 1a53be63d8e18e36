"""skinsite settings: one module, configured only through environment variables.

With nothing set, the site runs on embedded defaults (SQLite under ``var/``, a Redis server that
``make run`` starts on 127.0.0.1:6399, e-mail printed to the console). Production sets
``DATABASE_URL``, ``CELERY_BROKER_URL``, ``CACHE_URL``, ``SECRET_KEY``, ``ALLOWED_HOSTS``, the
SMTP variables and ``SECURE_HTTPS=true``. The README's configuration table lists every variable.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from skinsite.env import (
    env_bool,
    env_choice,
    env_device,
    env_float,
    env_int,
    env_list,
    env_rate,
    env_secret,
    env_str,
)
from skinsite.queues import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("SKINSITE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECURE_HTTPS = env_bool("SECURE_HTTPS", False)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in ``var/``."""
    key = env_secret("SECRET_KEY")
    if key:
        return key
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(64), encoding="utf-8")
        key_file.chmod(0o600)
    return key_file.read_text(encoding="utf-8").strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "modeltranslation",  # must precede django.contrib.admin
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "csp",
    "skinsite",
    "accounts",
    "diseases",
    "diagnosis",
    "mltrain",
    "sharing",
    "spots",
    # Last, as its documentation asks: a deleted row's files, and a replaced file, are deleted
    # once the transaction commits (a rolled-back deletion keeps them).
    "django_cleanup.apps.CleanupConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "accounts.middleware.UserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "skinsite.urls"
WSGI_APPLICATION = "skinsite.wsgi.application"
ASGI_APPLICATION = "skinsite.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "skinsite.context_processors.site",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------------------
_database_url = env_str("DATABASE_URL")
if _database_url:
    try:
        DATABASES = {
            "default": dj_database_url.parse(
                _database_url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
            )
        }
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
else:
    # Web and worker write the same file: IMMEDIATE transactions and a busy timeout turn
    # "database is locked" errors into short waits.
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "db.sqlite3"),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=20000;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (allauth rate limits, catalogue lookups): shared across processes ----------------
EMBEDDED_REDIS_PORT = env_int("EMBEDDED_REDIS_PORT", 6399)
_embedded_redis = f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}"
CACHE_URL = env_str("CACHE_URL", f"{_embedded_redis}/1")
if CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "skinsite"),
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
elif CACHE_URL == "locmem://":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured(
        f"CACHE_URL must be redis://..., unix://... or locmem://, got {CACHE_URL!r}."
    )

# --- Celery ----------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", f"{_embedded_redis}/0")
CELERY_TASK_DEFAULT_QUEUE = Queue.DEFAULT.value
CELERY_TASK_ROUTES = {
    "diagnosis.tasks.classify_diagnosis": {"queue": Queue.INFERENCE.value},
    "diagnosis.tasks.requeue_stale_diagnoses": {"queue": Queue.MAINTENANCE.value},
    "diagnosis.tasks.purge_expired_diagnoses": {"queue": Queue.MAINTENANCE.value},
    "spots.tasks.send_due_reminders": {"queue": Queue.MAINTENANCE.value},
}
# Acknowledge after the task ran, and give the job back when the pool child dies (kill -9,
# OOM): measured here, acks_late alone lost the job. The row's attempt counter stops a poison
# image from looping forever.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 60, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 90, minimum=2)
# Redis redelivers an unacknowledged task after the visibility timeout: it must exceed the
# longest task time limit, or a slow task would run twice.
CELERY_BROKER_VISIBILITY_TIMEOUT = env_int("CELERY_BROKER_VISIBILITY_TIMEOUT", 600, minimum=1)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TASK_TIME_LIMIT must exceed CELERY_TASK_SOFT_TIME_LIMIT.")
if CELERY_BROKER_VISIBILITY_TIMEOUT <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        "CELERY_BROKER_VISIBILITY_TIMEOUT must exceed CELERY_TASK_TIME_LIMIT."
    )
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing must fail fast when Redis is down: the row is saved as queued and the sweeper
# enqueues it later, so the person's upload never hangs on the broker.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
# The job's state lives in the database row; results are never read from Celery.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    "requeue-stale-diagnoses": {
        "task": "diagnosis.tasks.requeue_stale_diagnoses",
        "schedule": 60.0,
    },
    "purge-expired-diagnoses": {
        "task": "diagnosis.tasks.purge_expired_diagnoses",
        "schedule": 24 * 3600.0,
    },
    # Re-check reminders (spots.reminders): each due date is claimed once, so hourly is safe.
    "send-due-reminders": {
        "task": "spots.tasks.send_due_reminders",
        "schedule": 3600.0,
    },
}

# --- Authentication (django-allauth) ----------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
# One lifetime for every e-mailed code (verification and password reset).
EMAIL_CODE_TIMEOUT = env_int("EMAIL_CODE_TIMEOUT", 15 * 60, minimum=60)
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_TIMEOUT = EMAIL_CODE_TIMEOUT
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = True
ACCOUNT_PASSWORD_RESET_BY_CODE_TIMEOUT = EMAIL_CODE_TIMEOUT
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[skinsite] "
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/300s/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/10s/key",
    # The admin login has its own, stricter limit (skinsite.admin_site).
    "admin_login": env_str("ADMIN_LOGIN_RATE_LIMIT", "5/m/ip"),
    # Photos sent per person (diagnosis.limits, the upload and camera pages): one a minute for
    # an hour is more than a person photographing every spot with retakes; a script stops there.
    "diagnosis_upload": env_rate("DIAGNOSIS_UPLOAD_RATE_LIMIT", "60/h/user"),
    # Links for a doctor (sharing.views): making them, and opening them without an account;
    # PDF reports (each costs the web process a WeasyPrint rendering).
    "share_create": env_rate("SHARE_LINK_CREATE_RATE_LIMIT", "20/h/user"),
    "share_open": env_rate("SHARE_LINK_OPEN_RATE_LIMIT", "60/m/ip"),
    "share_report": env_rate("PDF_REPORT_RATE_LIMIT", "30/h/user"),
}
ALLAUTH_USER_CODE_FORMAT = {"numeric": True, "length": 6, "dashed": False}

# --- E-mail ----------------------------------------------------------------------------------
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "skinsite <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
#: The site's public address, for links in e-mails sent by the worker (re-check reminders).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "skinsite.mail.FramedConsoleEmailBackend",
)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))

# --- Internationalisation --------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ar", _("Arabic"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "django_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = SECURE_HTTPS
TIME_ZONE = env_str("TIME_ZONE", "UTC")
# Date formats Django's own locale lacks (Arabic has no DATETIME_FORMAT: "ديسمبر 1, 2026").
FORMAT_MODULE_PATH = ["skinsite.formats"]
USE_I18N = True
USE_TZ = True
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_LANGUAGES = ("en", "ar")
MODELTRANSLATION_FALLBACK_LANGUAGES = ("en",)

# --- Static and private media ----------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # The phone app's icons, rendered from the logo SVG at collectstatic time (skinsite.pwa).
    "skinsite.pwa.icons.IconFinder",
]
# Private media: photos of people's bodies. No public URL serves this folder; images go out
# only through views that check the owner (see diagnosis.views).
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/private-media/"  # never routed; FileField.url must not be used for private files
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# X-Accel-Redirect (nginx) / X-Sendfile (apache) hand the bytes to the front server.
PRIVATE_MEDIA_SERVER = env_choice("PRIVATE_MEDIA_SERVER", "django", ("django", "nginx", "apache"))
PRIVATE_MEDIA_NGINX_PREFIX = env_str("PRIVATE_MEDIA_NGINX_PREFIX", "/protected-media/")

# --- Diagnosis and models --------------------------------------------------------------------
MODELS_DIR = Path(env_str("MODELS_DIR", str(VAR_DIR / "models")))
DEFAULT_MODEL_DIR = BASE_DIR / "mltrain" / "default_model"
DIAGNOSIS_MAX_UPLOAD_BYTES = env_int("DIAGNOSIS_MAX_UPLOAD_BYTES", 10 * 1024 * 1024, minimum=1024)
DIAGNOSIS_MAX_PIXELS = env_int("DIAGNOSIS_MAX_PIXELS", 50_000_000, minimum=10_000)
DIAGNOSIS_MIN_SIDE = env_int("DIAGNOSIS_MIN_SIDE", 64, minimum=1)
# Photos up to the upload limit stay in memory while the request is parsed: the validator reads
# them whole anyway, and a 3 MB phone photo no longer goes through a temporary file first.
FILE_UPLOAD_MAX_MEMORY_SIZE = DIAGNOSIS_MAX_UPLOAD_BYTES + 64 * 1024
DIAGNOSIS_URGENT_THRESHOLD = env_float("DIAGNOSIS_URGENT_THRESHOLD", 0.2, above=0, at_most=1)
DIAGNOSIS_MAX_ATTEMPTS = env_int("DIAGNOSIS_MAX_ATTEMPTS", 3, minimum=1)
DIAGNOSIS_STALE_AFTER_SECONDS = env_int("DIAGNOSIS_STALE_AFTER_SECONDS", 300, minimum=10)
DIAGNOSIS_RETENTION_DAYS = env_int("DIAGNOSIS_RETENTION_DAYS", 0, minimum=0)
INFERENCE_BACKEND = env_choice("INFERENCE_BACKEND", "onnx", ("onnx", "torch"))
INFERENCE_DEVICE = env_device("INFERENCE_DEVICE", "cpu")
# The one thread setting for inference (ONNX Runtime and PyTorch, the model and its trust
# bundle); mltrain.ml takes it only as an argument. 0: the library's default.
INFERENCE_THREADS = env_int("INFERENCE_THREADS", 0, minimum=0)
if env_str("SKINSITE_ONNX_THREADS"):
    raise ImproperlyConfigured(
        "SKINSITE_ONNX_THREADS is no longer read: set INFERENCE_THREADS instead."
    )

# --- Security --------------------------------------------------------------------------------
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = SECURE_HTTPS and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY") else None
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000) if SECURE_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HTTPS
SECURE_HSTS_PRELOAD = SECURE_HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        # The phone app (skinsite.pwa): /sw.js and the manifest, both from the site itself.
        "worker-src": ["'self'"],
        "manifest-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Logging: never log request bodies, image bytes, codes or passwords -----------------------
LOG_LEVEL = env_choice("LOG_LEVEL", "info", ("debug", "info", "warning", "error")).upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint logs each step of every PDF report at INFO.
        "weasyprint.progress": {"level": "WARNING"},
    },
}
