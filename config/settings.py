"""Trainshed settings: twelve-factor, every knob an environment variable (see README)."""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.oidc import oidc_apps
from core.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("TRAINSHED_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # Development: one key per install, generated once into var/ (like the Fernet key), so no
    # two copies share a signing key anyone could read in the source.
    _secret_file = VAR_DIR / "secret.key"
    if not _secret_file.exists():
        import secrets

        _secret_file.touch(mode=0o600)
        _secret_file.write_text(secrets.token_urlsafe(50))
    SECRET_KEY = _secret_file.read_text().strip()
# While DEBUG is on, `runserver`/`serve` listen only on loopback unless this is set (config/bind.py).
TRAINSHED_DEBUG_ALLOW_REMOTE = env_bool("TRAINSHED_DEBUG_ALLOW_REMOTE", False)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "config.devserver",  # before whitenoise: its runserver refuses public addresses while DEBUG
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
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "guardian",
    "django_htmx",
    "template_partials",
    "django_tasks",
    "django_tasks_db",
    "config.apps.TrainshedConfig",
    "accounts",
    "projects",
    "compute",
    "resources",
    "billing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
    "config.request_limits.RequestLimitsMiddleware",  # bad or oversized bodies: 400/413, not 500
    "config.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "projects.middleware.ActiveProjectMiddleware",
    "config.errors.AppNotFoundMiddleware",  # the app's 404 page with DEBUG on too
]

ROOT_URLCONF = "config.urls"
# A refused CSRF check under /api/ answers JSON like every API answer (config/api.py).
CSRF_FAILURE_VIEW = "config.api.csrf_failure"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "projects.context_processors.active_project",
                "billing.context_processors.header_balance",
                "config.context_processors.layout",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    }
]


# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The worker and the web server share one file: wait for locks instead of failing, and
    # take the write lock when a transaction starts so two writers never deadlock.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (allauth's rate limits need a real one) -------------------------------------------
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "trainshed_cache",
    },
    # Each process's copy of what the header reads on every page (projects.access): keyed by the
    # account's access_version, which every permission write bumps, so no process serves a stale one.
    "access": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "trainshed-access",
        "TIMEOUT": 3600,
        "OPTIONS": {"MAX_ENTRIES": 20_000},
    },
    # Each process's job-log redactor per project (it holds secret values: never a shared cache),
    # keyed by the project's secrets_version, which every key or secret write bumps.
    "redaction": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "trainshed-redaction",
        "TIMEOUT": 3600,
        "OPTIONS": {"MAX_ENTRIES": 5_000},
    },
    # Fragments that are the same for everyone (the header's links): {% cache … using="fragments" %}.
    "fragments": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "trainshed-fragments",
        # list rows and member rows too, each keyed by what it shows: room for many pages of them
        "OPTIONS": {"MAX_ENTRIES": 5_000},
    },
}

# --- Accounts -------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "guardian.backends.ObjectPermissionBackend",
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
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Trainshed] "
# Sign-in by password or by a second factor; sensitive actions ask again after this many seconds.
ACCOUNT_REAUTHENTICATION_TIMEOUT = env_int("TRAINSHED_REAUTHENTICATION_SECONDS", 300)
ACCOUNT_RATE_LIMITS_ENABLED = env_bool("TRAINSHED_RATE_LIMITS", True)
if not ACCOUNT_RATE_LIMITS_ENABLED:
    ACCOUNT_RATE_LIMITS = False

# --- Two-factor sign-in (allauth.mfa) ----------------------------------------------------------
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = env_str("TRAINSHED_TOTP_ISSUER", "Trainshed")
# WebAuthn needs https, except on http://localhost while developing (and in the browser tests).
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = env_bool("TRAINSHED_WEBAUTHN_ALLOW_INSECURE_ORIGIN", DEBUG)

# --- Single sign-on (allauth.socialaccount, OpenID Connect) -----------------------------------
SOCIALACCOUNT_ADAPTER = "accounts.adapter.SocialAccountAdapter"
SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"APPS": oidc_apps(env_str("TRAINSHED_OIDC_PROVIDERS"))}}
SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_AUTO_SIGNUP = True
# The provider's *verified* address creates the account; an existing account with that address is
# not signed in by it: the person signs in to that account first and connects the provider.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_VERIFICATION = "mandatory"
SOCIALACCOUNT_STORE_TOKENS = False
# Operators: sign-up by password off (accounts come only from the identity provider), and sign-up
# (either way) limited to these e-mail domains (empty: any).
TRAINSHED_PASSWORD_SIGNUP = env_bool("TRAINSHED_PASSWORD_SIGNUP", True)
TRAINSHED_SIGNUP_DOMAINS = [d.lower().lstrip("@") for d in env_list("TRAINSHED_SIGNUP_DOMAINS", [])]

# django-guardian: object permissions on Project only, no anonymous user row.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False
GUARDIAN_RENDER_403 = False

# --- E-mail -----------------------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# Seconds a mail server may take to answer: one that hangs must not hold a request for ever.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Trainshed <noreply@trainshed.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Files ------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = DEBUG
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {
        "BACKEND": env_str("TRAINSHED_STORAGE_BACKEND", "resources.storage.LocalStorage")
    },
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Storage is charged per GB-month (730 hours), accrued hourly; 1 GB = 10^9 bytes.
TRAINSHED_STORAGE_CREDITS_PER_GB_MONTH = env_str("TRAINSHED_STORAGE_CREDITS_PER_GB_MONTH", "0.10")
TRAINSHED_ACCRUAL_INTERVAL_SECONDS = env_int("TRAINSHED_ACCRUAL_INTERVAL_SECONDS", 60)
TRAINSHED_MAX_UPLOAD_BYTES = env_int("TRAINSHED_MAX_UPLOAD_BYTES", 2 * 1024**3)
# "Dataset/model from URL": hosts the server may download from even though they resolve to
# loopback/private addresses (e.g. an internal mirror); every other internal address is refused.
TRAINSHED_FETCH_ALLOWED_HOSTS = env_list("TRAINSHED_FETCH_ALLOWED_HOSTS", [])
# A download's total wall-clock limit, however slowly the server sends.
TRAINSHED_FETCH_DEADLINE_SECONDS = env_int("TRAINSHED_FETCH_DEADLINE_SECONDS", 3600)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024**2
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024**2
# Larger uploads are spooled here while they arrive. Inside MEDIA_ROOT, on the same file system,
# so storing one is a rename, not a second copy of every byte.
FILE_UPLOAD_TEMP_DIR = Path(env_str("FILE_UPLOAD_TEMP_DIR", str(MEDIA_ROOT / ".incoming")))
FILE_UPLOAD_TEMP_DIR.mkdir(parents=True, exist_ok=True)

# --- Background work (Django's Tasks API, database backend) -----------------------------------
TASKS = {
    "default": {
        "BACKEND": env_str("TRAINSHED_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        # Downloads and accrual/enforcement on queues of their own, each with its own worker
        # (`manage.py serve` starts both), so a slow download never delays charging or stopping.
        # "default" stays valid for tasks queued by an older version (moved on start-up).
        # Jobs are not tasks: each node's agent claims its own.
        "QUEUES": ["downloads", "accrual", "default"],
    }
}
TRAINSHED_DOWNLOADS_QUEUE = "downloads"
TRAINSHED_ACCRUAL_QUEUE = "accrual"

# --- Secrets (third-party keys) ---------------------------------------------------------------
_fernet_keys = env_list("TRAINSHED_FERNET_KEYS", [])
if not _fernet_keys:
    if not DEBUG:
        raise ImproperlyConfigured(
            "TRAINSHED_FERNET_KEYS must be set when DEBUG is off (comma-separated Fernet keys)."
        )
    _key_file = VAR_DIR / "fernet.key"
    if not _key_file.exists():
        from cryptography.fernet import Fernet

        _key_file.write_bytes(Fernet.generate_key())
        _key_file.chmod(0o600)
    _fernet_keys = [_key_file.read_text().strip()]
TRAINSHED_FERNET_KEYS = _fernet_keys

# --- Security ---------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Only a proxy that sets X-Forwarded-Proto itself (and drops a client's) may be believed: else
# any client could claim https. The operator says so with TRAINSHED_TRUST_X_FORWARDED_PROTO.
if env_bool("TRAINSHED_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Internationalisation ---------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Logging: to stderr, never secrets --------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Trainshed --------------------------------------------------------------------------------
TRAINSHED_INVITATION_DAYS = env_int("TRAINSHED_INVITATION_DAYS", 7)
# The address people reach this server at: e-mails (invitations, notices) link to it.
TRAINSHED_SITE_URL = env_str("TRAINSHED_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
TRAINSHED_TRANSFER_OFFER_DAYS = env_int("TRAINSHED_TRANSFER_OFFER_DAYS", 7)
TRAINSHED_DEMO_PASSWORD = "trainshed-demo"
TRAINSHED_NODE_HEARTBEAT_SECONDS = env_int("TRAINSHED_NODE_HEARTBEAT_SECONDS", 90)

# --- Jobs (run by each node's agent: trainshed.agent; these are the control plane's side) -------
# How often an agent reports a running job (what billing meters up to).
# How long a node's claim may wait for a job to be placed: below gunicorn's worker timeout (30 s),
# and each waiting agent holds a worker that long (README: Production).
TRAINSHED_NODE_CLAIM_WAIT_SECONDS = env_int("TRAINSHED_NODE_CLAIM_WAIT_SECONDS", 20)
TRAINSHED_JOB_HEARTBEAT_SECONDS = env_int("TRAINSHED_JOB_HEARTBEAT_SECONDS", 10)
# A running job whose heartbeat is older than this is reaped (failed, GPUs freed).
TRAINSHED_JOB_STALE_SECONDS = env_int("TRAINSHED_JOB_STALE_SECONDS", 60)
TRAINSHED_JOB_LOG_MAX_BYTES = env_int("TRAINSHED_JOB_LOG_MAX_BYTES", 5 * 1024**2)
TRAINSHED_JOB_MAX_DISK_GB = env_int("TRAINSHED_JOB_MAX_DISK_GB", 2000)
# `manage.py serve`: the agents it starts for this machine's nodes listen here (browsers reach
# notebooks through them).
TRAINSHED_AGENT_LISTEN_HOST = env_str("TRAINSHED_AGENT_LISTEN_HOST", "127.0.0.1")
