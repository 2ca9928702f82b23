"""Groundwork settings: every value comes from an environment variable with a default.

The defaults make `make run` work on a laptop with nothing configured (SQLite, a broker kept in
files under var/, local files standing in for S3). With DJANGO_DEBUG off the insecure defaults
are refused at start.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

# --- Core -------------------------------------------------------------------------------------
DEV_SECRET_KEY = "groundwork-insecure-development-key"  # noqa: S105 - refused below unless DEBUG
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=DEV_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

if not DEBUG:
    if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 32:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set to a random value of at least 32 characters "
            "when DJANGO_DEBUG is off."
        )
    if "*" in ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must name the hosts when DJANGO_DEBUG is off.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "allauth.headless",
    "marketplace",
    "workforce",
    "tasks",
    "payments",
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
    "allauth.account.middleware.AccountMiddleware",
    "workforce.middleware.MfaRequiredMiddleware",
]

ROOT_URLCONF = "marketplace.urls"
WSGI_APPLICATION = "marketplace.wsgi.application"

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
                "workforce.context_processors.roles",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo's web server and Celery worker write at once: wait for locks instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
# Keep connections between requests (opening a PostgreSQL connection costs more than a claim),
# and check one before reusing it, so that a dropped connection fails no request. Under an ASGI
# server set DATABASE_CONN_MAX_AGE=0: its threads do not keep connections.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_CONN_HEALTH_CHECKS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts (django-allauth) ----------------------------------------------------------------
AUTH_USER_MODEL = "workforce.User"
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
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Groundwork] "
ACCOUNT_RATE_LIMITS = {
    "login_failed": "5/5m/ip,5/5m/key",  # a wrong password, per address and per account
    "login": "30/m/ip",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
}
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Groundwork"
HEADLESS_CLIENTS = ("app", "browser")
GOOGLE_CLIENT_ID = env.str("GOOGLE_CLIENT_ID", default="")
GOOGLE_CLIENT_SECRET = env.str("GOOGLE_CLIENT_SECRET", default="")
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_PROVIDERS = {
    "google": {
        "SCOPE": ["profile", "email"],
        # Google sign-in appears only when its keys are configured.
        "APPS": (
            [{"client_id": GOOGLE_CLIENT_ID, "secret": GOOGLE_CLIENT_SECRET}]
            if GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET
            else []
        ),
    }
}
INVITATION_LIFETIME_DAYS = env.int("INVITATION_LIFETIME_DAYS", default=7)

# --- Email ------------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Groundwork <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Static files -----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_MANIFEST_STRICT = False
MEDIA_ROOT = VAR_DIR / "media"

# --- Object storage (S3 or local files standing in for it) ------------------------------------
# With S3_ENDPOINT_URL or AWS credentials set, `s3://bucket/key` URIs are read and written with
# boto3; otherwise they map to LOCAL_OBJECT_STORAGE_ROOT/<bucket>/<key>.
S3_ENDPOINT_URL = env.str("S3_ENDPOINT_URL", default="") or None
AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default="") or None
AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="") or None
AWS_S3_REGION_NAME = env.str("AWS_REGION", default="us-east-1")
OBJECT_STORAGE = env.str(
    "OBJECT_STORAGE", default="s3" if (S3_ENDPOINT_URL or AWS_ACCESS_KEY_ID) else "local"
)
if OBJECT_STORAGE not in {"s3", "local"}:
    raise ImproperlyConfigured("OBJECT_STORAGE must be 's3' or 'local'.")
S3_BUCKET = env.str("S3_BUCKET", default="groundwork")
LOCAL_OBJECT_STORAGE_ROOT = Path(
    env.str("LOCAL_OBJECT_STORAGE_ROOT", default=str(VAR_DIR / "object-storage"))
)
if OBJECT_STORAGE == "s3":
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": S3_ENDPOINT_URL,
            "region_name": AWS_S3_REGION_NAME,
            "location": "media",
            "file_overwrite": False,
        },
    }

# --- Redis and Celery -------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://localhost/")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(VAR_DIR / "broker"),  # `make run` creates it
        "data_folder_out": str(VAR_DIR / "broker"),
        "polling_interval": 0.2,  # seconds; the next task should not wait for a slow poll
    }
    if CELERY_BROKER_URL.startswith("filesystem://")
    else {"visibility_timeout": 3600}
)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "tasks.tasks.manifest_*": {"queue": "manifests"},
    "tasks.tasks.job_finalize_task": {"queue": "manifests"},
    "tasks.tasks.job_stop_finalize_task": {"queue": "manifests"},
    "payments.tasks.*": {"queue": "payouts"},
}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "expire-leases": {
        "task": "tasks.tasks.assignments_expire_task",
        "schedule": timedelta(minutes=1),
    },
    "settle-ended-jobs-escrow": {
        "task": "tasks.tasks.jobs_escrow_settle_task",
        "schedule": crontab(minute=17),
    },
    "build-payouts": {
        "task": "payments.tasks.payouts_build_task",
        "schedule": crontab(minute=0, hour=6, day_of_week="mon"),
    },
    "send-unsent-payouts-again": {
        "task": "payments.tasks.payouts_send_again_task",
        "schedule": crontab(minute="*/15"),
    },
    "release-held-earnings": {
        "task": "payments.tasks.earnings_release_task",
        "schedule": crontab(minute=7),
    },
    "requeue-consolidation-runs": {
        "task": "tasks.tasks.consolidation_runs_requeue_task",
        "schedule": timedelta(minutes=1),
    },
    "end-availability-lifetimes": {
        "task": "tasks.tasks.data_objects_expire_task",
        "schedule": timedelta(minutes=1),
    },
    "expire-jobs": {
        "task": "marketplace.tasks.jobs_expire_task",
        "schedule": crontab(minute="*/10"),
    },
    "auto-approve": {
        "task": "tasks.tasks.assignments_auto_approve_task",
        "schedule": crontab(minute="*/5"),
    },
    "write-intermediate-manifests": {
        "task": "tasks.tasks.manifests_intermediate_schedule_task",
        "schedule": crontab(minute="*/5"),
    },
    "estimate-worker-skills": {
        "task": "tasks.tasks.worker_skills_estimate_task",
        "schedule": crontab(minute="*/15"),
    },
}

CACHES = {
    "default": (
        {**env.cache_url_config(REDIS_URL), "KEY_PREFIX": "groundwork-cache"}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# A job's consolidation run starts this long after an object got all its answers, and labels
# every object answered by then: one run for many objects rather than one each.
CONSOLIDATION_DELAY_SECONDS = env.float("CONSOLIDATION_DELAY_SECONDS", default=1.0)

# --- Annotation hooks (pre- and post-annotation, as Ground Truth's Lambda functions) ----------
# A hook is an HTTPS URL, called with a signed POST, or a dotted path to a Python callable
# listed here. Plain http:// and addresses in private networks are refused unless allowed.
HOOK_ALLOWED_CALLABLES = env.list(
    "HOOK_ALLOWED_CALLABLES",
    default=["tasks.builtin_hooks.pre_annotation", "tasks.builtin_hooks.post_annotation"],
)
HOOKS_ALLOW_HTTP = env.bool("HOOKS_ALLOW_HTTP", default=False)
HOOKS_ALLOW_PRIVATE_NETWORKS = env.bool("HOOKS_ALLOW_PRIVATE_NETWORKS", default=False)
HOOK_TIMEOUT_SECONDS = env.int("HOOK_TIMEOUT_SECONDS", default=10)
HOOK_CONCURRENCY = env.int("HOOK_CONCURRENCY", default=8)

# --- Payments ---------------------------------------------------------------------------------
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
# The signing secrets of the webhook endpoints pointed at /api/v1/webhooks/stripe, comma
# separated: the account's own endpoint and its Connect endpoint each have one.
STRIPE_WEBHOOK_SECRETS = env.list("STRIPE_WEBHOOK_SECRETS", default=[])
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_CONNECT_BASE = env.str("STRIPE_CONNECT_BASE", default="https://connect.stripe.com")
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=30)
PLATFORM_FEE_PERCENT = env.int("PLATFORM_FEE_PERCENT", default=20)
SERVICE_FEE_PER_OBJECT_MILLS = env.int("SERVICE_FEE_PER_OBJECT_MILLS", default=80)
# A card top-up of the requester balance is between these amounts ($5 and $100,000).
TOP_UP_MINIMUM_MILLS = env.int("TOP_UP_MINIMUM_MILLS", default=5_000)
TOP_UP_MAXIMUM_MILLS = env.int("TOP_UP_MAXIMUM_MILLS", default=100_000_000)
# Approved earnings stay pending this long before they can be paid out.
EARNINGS_HOLD_DAYS = env.int("EARNINGS_HOLD_DAYS", default=7)
# A payout is built (weekly, or when the payee asks) once the available balance reaches this.
PAYOUT_MINIMUM_MILLS = env.int("PAYOUT_MINIMUM_MILLS", default=10_000)
# Finance review flags a payout above this amount, from an account younger than this, from a
# payee whose rejection or gold failure rate is above these, or whose last week's earnings
# are this many times their weekly average before it.
PAYOUT_REVIEW_THRESHOLD_MILLS = env.int("PAYOUT_REVIEW_THRESHOLD_MILLS", default=500_000)
PAYOUT_NEW_ACCOUNT_DAYS = env.int("PAYOUT_NEW_ACCOUNT_DAYS", default=14)
PAYOUT_REJECTION_RATE_PERCENT = env.int("PAYOUT_REJECTION_RATE_PERCENT", default=20)
PAYOUT_GOLD_FAILURE_RATE_PERCENT = env.int("PAYOUT_GOLD_FAILURE_RATE_PERCENT", default=30)
PAYOUT_VELOCITY_FACTOR = env.int("PAYOUT_VELOCITY_FACTOR", default=3)
# What payments knows of a payee (joined when, work approved and rejected, gold answered):
# read from the workforce, through this callable, so payments imports no other app.
PAYOUT_PAYEE_FACTS = "workforce.selectors.payees.payee_facts"

# --- API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "workforce.authentication.ApiKeyAuthentication",
        # App clients signed in through allauth's headless API send `X-Session-Token`.
        "allauth.headless.contrib.rest_framework.authentication.XSessionTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "marketplace.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "marketplace.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Groundwork API",
    "DESCRIPTION": "Labeling jobs, the worker queue, review and payments.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "marketplace.models.Job.Status",
        "VendorOfferStatusEnum": "marketplace.models.VendorOffer.Status",
        "AssignmentStatusEnum": "tasks.models.Assignment.Status",
        "TopUpStatusEnum": "payments.models.TopUp.Status",
        "PayoutStatusEnum": "payments.models.Payout.Status",
        "PayoutAccountStatusEnum": "payments.models.PayoutAccount.Status",
    },
}

# --- Security ---------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
