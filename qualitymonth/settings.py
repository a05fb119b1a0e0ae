"""Settings for the Quality Month portal.

One module, switched by environment variables (see docs/settings.md). Defaults are safe for
development; PORTAL_MODE=production turns on everything `manage.py check --deploy` asks for
and refuses to start without a real SECRET_KEY.
"""

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

PORTAL_MODE = env.str("PORTAL_MODE", default="development")
PRODUCTION = PORTAL_MODE == "production"
TESTING = env.bool("PORTAL_TESTING", default=False)

DEBUG = env.bool("DEBUG", default=not PRODUCTION)
if PRODUCTION:
    SECRET_KEY = env.str("SECRET_KEY")  # no default: production must set one
else:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["*"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Addresses of reverse proxies whose X-Real-IP header is believed (audit log, lockout).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
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
    "rules.apps.AutodiscoverRulesConfig",
    "axes",
    # Two-factor authentication (TOTP and backup codes); see accounts/two_factor.py.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "qualitymonth",
    "accounts",
    "activities",
    "registrations",
    "feedback",
]

MIDDLEWARE = [
    # Operations first: the request id on every answer; health and metrics answered before host
    # checks, HTTPS redirects and sessions; request metrics around everything else.
    "qualitymonth.logs.RequestIdMiddleware",
    "qualitymonth.health.OperationsMiddleware",
    "qualitymonth.metrics.PrometheusMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Which authenticator (if any) confirmed this session: request.user.is_verified().
    "django_otp.middleware.OTPMiddleware",
    # After authentication: a signed-in person's preferred language counts.
    "qualitymonth.locale.PortalLocaleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Until the second step of signing in is done, only the two-factor pages answer.
    "accounts.middleware.TwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Content-Security-Policy on every response that has none of its own (the API docs do).
    "csp.middleware.CSPMiddleware",
    "qualitymonth.middleware.RequestAuditContextMiddleware",
    # Axes last, so it sees the result of authentication.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "qualitymonth.urls"

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
                "qualitymonth.context_processors.portal",
            ],
        },
    },
]

WSGI_APPLICATION = "qualitymonth.wsgi.application"

# Database: an embedded SQLite file by default; PostgreSQL through DATABASE_URL.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # On by default in production: measured faster than persistent connections (docs/deploy.md).
    if env.bool("DATABASE_POOL", default=PRODUCTION):
        # psycopg's pool replaces persistent connections (Django 5.1+): one pool per process,
        # shared by its threads; connections are checked before they are handed out.
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=4),
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
            "max_idle": env.float("DATABASE_POOL_MAX_IDLE", default=600.0),
        }
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Prepared statements for the few statements run through qualitymonth.compiled.fetch_one_prepared
# (the sign-up's): planned once per connection. The ORM's own queries are bound on the client and
# never prepared. Off behind a pooler in transaction mode that cannot keep them (PgBouncer < 1.21).
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg prepares nothing while the threshold is None (Django's default).
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        5 if DATABASE_PREPARED_STATEMENTS else None
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:profile"
LOGOUT_REDIRECT_URL = "home"
# One-time links (invitations, email verification, password reset) expire after three days.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3 * 24 * 3600)

# Lockout after repeated failed logins (django-axes): per account and address.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Count failures per address whatever its letter case (sign-in ignores case too).
AXES_USERNAME_CALLABLE = "accounts.forms.axes_username"
AXES_RESET_ON_SUCCESS = True
# The same client address as the audit log (X-Real-IP only from TRUSTED_PROXIES).
AXES_CLIENT_IP_CALLABLE = "qualitymonth.middleware.client_ip"
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)

# Two-factor authentication (TOTP, RFC 6238): every staff member may switch it on; platform
# administrators and reviewers must, when this is on. Off outside production so the demo logins
# that `./portal run` prints work without an authenticator app (docs/settings.md).
TWO_FACTOR_REQUIRED = env.bool("TWO_FACTOR_REQUIRED", default=PRODUCTION)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Quality Month")
# Seconds to wait after the n-th wrong code in a row: factor × 2^(n-1) (django-otp's throttling).
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Internationalisation: Chinese first, English complete.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Outside production, serve static files straight from the apps and static/ (no collectstatic).
WHITENOISE_USE_FINDERS = not PRODUCTION
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Files only some people may see (complaint evidence, unpublished reports): never under a
# public URL; views check the permission and stream them.
PRIVATE_MEDIA_ROOT = env.path("PRIVATE_MEDIA_ROOT", default=BASE_DIR / "private-media")
# Largest video a feedback report accepts (bytes); 2 GB by default.
FEEDBACK_VIDEO_MAX_BYTES = env.int("FEEDBACK_VIDEO_MAX_BYTES", default=2 * 1024**3)
# Largest picture and document (bytes).
FEEDBACK_PICTURE_MAX_BYTES = env.int("FEEDBACK_PICTURE_MAX_BYTES", default=50 * 1024**2)
FEEDBACK_DOCUMENT_MAX_BYTES = env.int("FEEDBACK_DOCUMENT_MAX_BYTES", default=100 * 1024**2)
# Resumable uploads: partial files wait here until their last chunk arrives. With several web
# nodes this must be a directory they share (or route one upload to one node); see docs/deploy.md.
FEEDBACK_UPLOAD_DIR = env.str(
    "FEEDBACK_UPLOAD_DIR", default=str(Path(str(PRIVATE_MEDIA_ROOT)) / "partial-uploads")
)
# Behind the reference nginx on the same machine: nginx writes each chunk's body to a file in
# FEEDBACK_UPLOAD_NGINX_BODY_DIR (on the file system of FEEDBACK_UPLOAD_DIR) and passes its name;
# the portal appends it without reading it through gunicorn. Believed only from TRUSTED_PROXIES;
# nginx must run as the portal's user (docs/deploy.md, "Upload chunks through nginx").
FEEDBACK_UPLOAD_BODY_FROM_NGINX = env.bool("FEEDBACK_UPLOAD_BODY_FROM_NGINX", default=False)
FEEDBACK_UPLOAD_NGINX_BODY_DIR = env.str(
    "FEEDBACK_UPLOAD_NGINX_BODY_DIR",
    default=str(Path(FEEDBACK_UPLOAD_DIR).parent / "upload-bodies"),
)
# Largest chunk a client may send in one request (bytes), and when an upload counts as abandoned.
# Chunks nginx hands over cost no memory, and fewer requests save their fixed cost: 32 MB then
# (twice the throughput of 8 MB in bench/upload_video.py).
FEEDBACK_UPLOAD_CHUNK_BYTES = env.int(
    "FEEDBACK_UPLOAD_CHUNK_BYTES", default=(32 if FEEDBACK_UPLOAD_BODY_FROM_NGINX else 8) * 1024**2
)
FEEDBACK_UPLOAD_ABANDONED_HOURS = env.int("FEEDBACK_UPLOAD_ABANDONED_HOURS", default=24)
# An activity import still running this long after it started lost its worker: it is marked
# failed (activities.tasks.fail_stale_imports). 5,000 rows take under a minute (bench/).
ACTIVITY_IMPORT_STALE_MINUTES = env.int("ACTIVITY_IMPORT_STALE_MINUTES", default=60)
# Where nginx serves private files from when it answers X-Accel-Redirect (e.g. "/protected/");
# empty: the portal streams them itself.
FEEDBACK_MEDIA_ACCEL_REDIRECT = env.str("FEEDBACK_MEDIA_ACCEL_REDIRECT", default="")
# Automatic reminders go to departments without a submitted report this many days before the
# feedback deadline.
FEEDBACK_REMINDER_DAYS = env.list("FEEDBACK_REMINDER_DAYS", cast=int, default=[7, 3, 1])
# Personal data of enterprise contacts (registrations' contacts and attendees) are anonymised this
# many days after the campaign's feedback deadline; closed fee complaints lose their reporter's
# details as long after closing (registrations/retention.py, docs/privacy.md).
PERSONAL_DATA_RETENTION_DAYS = env.int("PERSONAL_DATA_RETENTION_DAYS", default=365)
# Enterprise sign-ups whose email address was never verified are deleted after this many days.
UNVERIFIED_SIGNUP_RETENTION_DAYS = env.int("UNVERIFIED_SIGNUP_RETENTION_DAYS", default=30)

# Storage: local files by default, S3-compatible object storage when a bucket is configured.
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default=None)
    AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default=None)
    AWS_DEFAULT_ACL = None
    AWS_QUERYSTRING_AUTH = True
    default_storage = {"BACKEND": "storages.backends.s3.S3Storage"}
    # Same bucket, own prefix; objects are private and reached only through signed URLs.
    private_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"location": "private", "default_acl": "private", "querystring_auth": True},
    }
else:
    default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    private_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(PRIVATE_MEDIA_ROOT), "base_url": None},
    }
STORAGES = {
    "default": default_storage,
    "private": private_storage,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Cache (and with it rate limits and lockout counters): Redis when CACHE_URL is set.
CACHES = {
    "default": env.cache("CACHE_URL", default="locmemcache://qualitymonth"),
    # Rate-limit counters, apart from page caches that many distinct URLs could evict.
    "ratelimit": env.cache("RATELIMIT_CACHE_URL", default="locmemcache://qualitymonth-ratelimit"),
}
# The public list of activities is rendered at most once per this many seconds for each filter
# combination and language (0: never cached). Each activity's own page is always live.
PUBLIC_LIST_CACHE_SECONDS = env.int("PUBLIC_LIST_CACHE_SECONDS", default=30)
# An activity's page, for anonymous visitors only, is kept this long (0: never); places left may
# lag that long, and saving the activity drops it at once.
PUBLIC_DETAIL_CACHE_SECONDS = env.int("PUBLIC_DETAIL_CACHE_SECONDS", default=10)
# The current campaign, which every page's layout shows; dropped when a campaign changes.
CURRENT_CAMPAIGN_CACHE_SECONDS = env.int("CURRENT_CAMPAIGN_CACHE_SECONDS", default=300)

# Rate limits, counted in the "ratelimit" cache (qualitymonth/ratelimit.py): "<count>/<window>",
# e.g. 30/h, 5/10m, 100/d; "off" for none. Sign-ups (web form and API together) per account and
# per client address; fee complaints accepted per address and hour.
SIGNUP_RATE_PER_USER = env.str("SIGNUP_RATE_PER_USER", default="30/h")
SIGNUP_RATE_PER_IP = env.str("SIGNUP_RATE_PER_IP", default="300/h")
# Files one account may start uploading to feedback reports (uploader, form and API together).
FEEDBACK_UPLOAD_RATE_PER_USER = env.str("FEEDBACK_UPLOAD_RATE_PER_USER", default="300/h")
FEE_COMPLAINTS_PER_HOUR = env.int("FEE_COMPLAINTS_PER_HOUR", default=5)
# How long an Idempotency-Key's response is kept for replays (qualitymonth/idempotency.py).
IDEMPOTENCY_KEY_HOURS = env.int("IDEMPOTENCY_KEY_HOURS", default=24)
# Test-only switches for the benchmarks (bench/): never read in production mode, and a system
# check refuses them there (qualitymonth/switches.py).
BENCH_VIEWS = False if PRODUCTION else env.bool("BENCH_VIEWS", default=False)
SIGNUP_CAPACITY_GUARD = True if PRODUCTION else env.bool("SIGNUP_CAPACITY_GUARD", default=True)
# PostgreSQL signs up in one statement (registrations.services._sign_up_in_one_statement); tests
# switch it off to run the same cases through the transaction every other database uses.
SIGNUP_ONE_STATEMENT = True
# Sessions: in the database, read through the cache when a shared cache is configured (Redis):
# most requests then read no session row, and a cache flush or eviction signs nobody out.
SESSION_ENGINE = env.str(
    "SESSION_ENGINE",
    default="django.contrib.sessions.backends.cached_db"
    if env.str("CACHE_URL", default="")
    else "django.contrib.sessions.backends.db",
)

# Email: printed to the console by default, SMTP when EMAIL_URL says so
# (e.g. smtp+tls://user:password@smtp.example.cn:587).
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="质量月 Quality Month <noreply@localhost>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery: eager, in-process, when no broker is configured.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # Eager tasks still pass through a producer to serialise their arguments; the in-memory
    # transport keeps kombu from looking for (and warning about) a broker on localhost.
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
# How often celery beat sends the registration emails waiting in their outbox (seconds), and
# how long sent ones are kept (days).
REGISTRATION_NOTICE_SECONDS = env.int("REGISTRATION_NOTICE_SECONDS", default=5)
REGISTRATION_NOTICE_KEEP_DAYS = env.int("REGISTRATION_NOTICE_KEEP_DAYS", default=30)
# Periodic work (celery beat): reminders before the feedback deadline, cleaning up abandoned
# uploads.
CELERY_BEAT_SCHEDULE = {
    "feedback-deadline-reminders": {
        "task": "feedback.tasks.send_deadline_reminders",
        "schedule": 6 * 3600,
    },
    "feedback-abandoned-uploads": {
        "task": "feedback.tasks.clean_up_abandoned_uploads",
        "schedule": 3600,
    },
    "activities-stale-imports": {
        "task": "activities.tasks.fail_stale_imports",
        "schedule": 15 * 60,
    },
    "idempotency-keys-purge": {
        "task": "qualitymonth.tasks.purge_idempotency_keys",
        "schedule": 3600,
    },
    "personal-data-purge": {
        "task": "registrations.tasks.purge_personal_data",
        "schedule": 24 * 3600,
    },
    # Registration emails (confirmed, waiting, promoted, cancelled) wait in an outbox written
    # with the change; this sends them. A run that no worker took within its interval is
    # dropped: the next one sends the same notices.
    "registration-notices": {
        "task": "registrations.tasks.send_notices",
        "schedule": REGISTRATION_NOTICE_SECONDS,
        "options": {"expires": REGISTRATION_NOTICE_SECONDS},
    },
    "registration-notices-purge": {
        "task": "registrations.tasks.purge_sent_notices",
        "schedule": 24 * 3600,
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.PersonalTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "qualitymonth.api.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_VERSIONING_CLASS": None,
    "EXCEPTION_HANDLER": "qualitymonth.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Quality Month portal API",
    "DESCRIPTION": "全国“质量月”活动门户 REST API (v1). Authenticate with a session or a personal "
    "token: `Authorization: Token <key>`. Personal tokens are created only from a signed-in "
    "browser session (a token cannot create further tokens); they are listed and revoked at "
    "/api/v1/tokens/ with either. Names come in Chinese and English (`name_zh`, `name_en`) and "
    "in the request's language (`name`; send Accept-Language).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Every operation documents the 400/401/404 the framework itself can answer.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "qualitymonth.api_schema.add_common_responses",
    ],
    # Several models have a `status` or `level`: name each choice set after its enum.
    "ENUM_NAME_OVERRIDES": {
        "CampaignStatusEnum": "activities.enums.CampaignStatus",
        "ActivityStatusEnum": "activities.enums.ActivityStatus",
        "RegionLevelEnum": "activities.enums.RegionLevel",
        "DepartmentLevelEnum": "activities.enums.DepartmentLevel",
        "RegistrationStatusEnum": "registrations.enums.RegistrationStatus",
        "AllowedActionsEnum": "activities.serializers.ACTIVITY_ACTIONS",
        "FeedbackReportStatusEnum": "feedback.enums.ReportStatus",
        "FeedbackReportActionEnum": "feedback.serializers.REPORT_ACTIONS",
        "MediaStateEnum": "feedback.enums.MediaState",
        "DepartmentFeedbackStateEnum": "feedback.enums.DepartmentFeedbackState",
    },
}

# Security. In production every header `check --deploy` asks for is on.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# No inline scripts or styles anywhere in our pages: everything comes from our own /static/.
# Media in object storage is reached through short-lived signed URLs on the bucket's origin.
_storage_origins = []
if AWS_STORAGE_BUCKET_NAME:
    from urllib.parse import urlsplit

    _endpoint = AWS_S3_ENDPOINT_URL or f"https://{AWS_STORAGE_BUCKET_NAME}.s3.amazonaws.com"
    _parts = urlsplit(_endpoint)
    _storage_origins = [
        f"{_parts.scheme}://{_parts.netloc}",
        f"{_parts.scheme}://*.{_parts.netloc}",
    ]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *_storage_origins],
        "media-src": ["'self'", *_storage_origins],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        **(
            {"report-uri": [env.str("CSP_REPORT_URI")]}
            if env.str("CSP_REPORT_URI", default="")
            else {}
        ),
    }
}
SESSION_COOKIE_HTTPONLY = True
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# Logs on standard error: JSON lines with the request id in production, plain text otherwise
# (qualitymonth/logs.py). A Celery worker logs the same way, not in its own format.
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "qualitymonth.logs.RequestContextFilter"}},
    "formatters": {
        "plain": {"()": "qualitymonth.logs.PlainFormatter"},
        "json": {"()": "qualitymonth.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Each eager task would otherwise log a line at INFO.
    "loggers": {"axes": {"level": "WARNING"}, "celery.app.trace": {"level": "WARNING"}},
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A request slower than this (milliseconds) is logged once more, with its view; 0: never.
LOG_SLOW_REQUEST_MS = env.int("LOG_SLOW_REQUEST_MS", default=2000)

# Prometheus metrics at /metrics: readable from these addresses or networks (as the audit log
# sees the client: X-Real-IP only from TRUSTED_PROXIES), or with "Authorization: Bearer <token>".
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# /health/ready answers anyone with its status only; the checks' details go to the node itself
# (loopback) or with "Authorization: Bearer <token>" (empty: loopback only).
HEALTH_DETAILS_TOKEN = env.str("HEALTH_DETAILS_TOKEN", default="")

# Error reports to Sentry (or GlitchTip) when a DSN is set; no personal data is sent.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from .sentry import init as _sentry_init

    _sentry_init(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default=PORTAL_MODE),
        release=env.str("SENTRY_RELEASE", default=""),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

PORTAL_NAME = _("National Quality Month")
