"""Django settings for Broadsheet, read only from environment variables.

Every value comes through the typed helpers in ``broadsheet.conf``; a bad value is reported
by ``manage.py check`` as an error with an id (see ``broadsheet.checks``).
"""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path

import dj_database_url

from broadsheet.conf import _problem, env_bool, env_float, env_int, env_list, env_str

PACKAGE_DIR = Path(__file__).resolve().parent

DATA_DIR = Path(
    env_str("BROADSHEET_DATA_DIR", str(Path.home() / ".local" / "share" / "broadsheet"))
).expanduser()


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the data dir."""
    key = env_str("SECRET_KEY")
    if key:
        return key
    path = DATA_DIR / "secret_key"
    try:
        if path.exists():
            return path.read_text().strip()
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        path.write_text(key)
        path.chmod(0o600)
        return key
    except OSError as exc:
        _problem(
            "BROADSHEET_DATA_DIR",
            str(DATA_DIR),
            f"cannot keep the secret key: {exc}",
            "broadsheet.E005",
        )
        return secrets.token_urlsafe(50)


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_NAME = env_str("BROADSHEET_SITE_NAME", "Broadsheet")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "broadsheet.core",
    "broadsheet.sources",
    "broadsheet.articles",
    "broadsheet.enrichment",
    "broadsheet.ai",
    "broadsheet.front",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Shared anonymous pages are answered here, before sessions, CSRF, auth and URL dispatch;
    # the middleware above still adds their security headers (broadsheet.front.pagecache).
    "broadsheet.front.pagecache.PageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "broadsheet.urls"
WSGI_APPLICATION = "broadsheet.wsgi.application"

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
                "broadsheet.front.context_processors.site",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
# SQLite by default: a file in the data directory, tuned so that a web process and a worker
# can write at once (WAL, a busy timeout, and BEGIN IMMEDIATE so that a writer takes the lock
# up front instead of failing half-way through a transaction).
SQLITE_INIT = (
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "PRAGMA foreign_keys=ON;"
    "PRAGMA temp_store=MEMORY;"
    "PRAGMA mmap_size=134217728;"
    "PRAGMA cache_size=-32000;"
)


def _database() -> dict:
    url = env_str("DATABASE_URL")
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "broadsheet.sqlite3"),
        }
    try:
        config = dj_database_url.parse(url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60))
    except Exception as exc:  # dj-database-url raises several unrelated types
        _problem(
            "DATABASE_URL",
            url,
            f"not a database URL Broadsheet understands: {exc}",
            "broadsheet.E004",
        )
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "broadsheet.sqlite3"),
        }
    return config


DATABASES = {"default": _database()}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"init_command": SQLITE_INIT, "transaction_mode": "IMMEDIATE", "timeout": 30}
    )
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
    # Reopening SQLite and running its PRAGMAs costs ~4.5 ms; keep a connection per thread.
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FORMS_URLFIELD_ASSUME_HTTPS = True  # Django 6's default: a scheme-less URL typed in a form is https

# --- Cache ------------------------------------------------------------------------------
# Shared by every process (rate limits, page caches): a table in the database by default, so
# that it works on one laptop and on many hosts alike; Redis when CACHE_URL says so.
CACHE_TABLE = "broadsheet_cache"


def _cache() -> dict:
    url = env_str("CACHE_URL")
    if url.startswith(("redis://", "rediss://")):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    if url == "locmem://":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    if url:
        _problem("CACHE_URL", url, "expected redis://..., or locmem://", "broadsheet.E009")
    return {
        "BACKEND": "broadsheet.core.cache.BatchedDatabaseCache",
        "LOCATION": CACHE_TABLE,
        "OPTIONS": {"MAX_ENTRIES": 20000},
    }


CACHES = {"default": _cache()}

# --- Tasks --------------------------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "feeds", "articles", "enrich"],
    }
}

# --- Auth, i18n, static -------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
# whitenoise warns at every start when the folder is missing, even with finders on
with contextlib.suppress(OSError):
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Security -----------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
BEHIND_HTTPS = env_bool("BROADSHEET_HTTPS", False)
if BEHIND_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("BROADSHEET_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("BROADSHEET_HSTS_SECONDS", 31536000, minimum=0)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Security headers and production hardening (broadsheet.core.security) ---------------
# django-csp writes the Content-Security-Policy; our middleware subclass adds the few headers
# Django 5.2 does not send. It sits right after SecurityMiddleware so that the static files
# whitenoise answers early get the same headers as pages.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "broadsheet.core.security.SecurityHeadersMiddleware",
)
# No inline script or style anywhere, the admin included (Django's admin needs none). Article
# photos are hot-linked from publishers, hence any http(s) image; data: covers tiny placeholders.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "https:", "http:", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    }
}
BROADSHEET_PERMISSIONS_POLICY = env_str(
    "BROADSHEET_PERMISSIONS_POLICY",
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), browsing-topics=()",
)
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# The AI box's fetch() reads the csrftoken cookie from JavaScript, so it must stay readable;
# the session cookie is the one that matters and it is HttpOnly.
CSRF_COOKIE_HTTPONLY = False
if BEHIND_HTTPS:
    LANGUAGE_COOKIE_SECURE = True
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("BROADSHEET_HSTS_INCLUDE_SUBDOMAINS", True)
    # Preloading is a promise to browser vendors that is slow to take back, so it is opt-in;
    # Django's warning about it is silenced only while the operator has not opted in.
    SECURE_HSTS_PRELOAD = env_bool("BROADSHEET_HSTS_PRELOAD", False)
    SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
    # A proxy that already redirects http to https makes Django's redirect redundant.
    if not SECURE_SSL_REDIRECT:
        SILENCED_SYSTEM_CHECKS.append("security.W008")

# --- Fetching -----------------------------------------------------------------------------
BROADSHEET_ALLOW_PRIVATE_NETWORKS = env_bool("BROADSHEET_ALLOW_PRIVATE_NETWORKS", False)
# Networks or single addresses that may be fetched although private, e.g. "127.0.0.1,10.1.0.0/16".
BROADSHEET_ALLOWED_NETWORKS = env_list("BROADSHEET_ALLOWED_NETWORKS", [])
BROADSHEET_USER_AGENT = env_str(
    "BROADSHEET_USER_AGENT", "Broadsheet/0.1 (+https://github.com/broadsheet; news aggregator)"
)
BROADSHEET_FETCH_TIMEOUT = env_float("BROADSHEET_FETCH_TIMEOUT", 20.0, minimum=0.1)
BROADSHEET_CONNECT_TIMEOUT = env_float("BROADSHEET_CONNECT_TIMEOUT", 10.0, minimum=0.1)
BROADSHEET_MAX_BODY_BYTES = env_int("BROADSHEET_MAX_BODY_BYTES", 10 * 1024 * 1024, minimum=1024)
BROADSHEET_MAX_REDIRECTS = env_int("BROADSHEET_MAX_REDIRECTS", 5, minimum=0)
BROADSHEET_OBEY_ROBOTS = env_bool("BROADSHEET_OBEY_ROBOTS", True)
BROADSHEET_HOST_CONCURRENCY = env_int("BROADSHEET_HOST_CONCURRENCY", 2, minimum=1)
BROADSHEET_HOST_RATE = env_float("BROADSHEET_HOST_RATE", 2.0, minimum=0.01)  # requests/second

# --- Polling ------------------------------------------------------------------------------
BROADSHEET_POLL_INTERVAL = env_int("BROADSHEET_POLL_INTERVAL", 900, minimum=1)  # seconds
BROADSHEET_POLL_MIN_INTERVAL = env_int("BROADSHEET_POLL_MIN_INTERVAL", 300, minimum=1)
BROADSHEET_POLL_MAX_INTERVAL = env_int("BROADSHEET_POLL_MAX_INTERVAL", 86400, minimum=1)
BROADSHEET_SCHEDULER_TICK = env_float("BROADSHEET_SCHEDULER_TICK", 5.0, minimum=0.05)
BROADSHEET_CLAIM_LEASE = env_int("BROADSHEET_CLAIM_LEASE", 300, minimum=1)  # seconds
BROADSHEET_ARTICLE_BATCH = env_int("BROADSHEET_ARTICLE_BATCH", 16, minimum=1)
BROADSHEET_MAX_ATTEMPTS = env_int("BROADSHEET_MAX_ATTEMPTS", 5, minimum=1)
# The scheduler claims nothing new while this many tasks wait in the queue (back-pressure).
BROADSHEET_QUEUE_HIGH_WATER = env_int("BROADSHEET_QUEUE_HIGH_WATER", 100, minimum=1)


# --- AI ---------------------------------------------------------------------------------
# Questions a stranger may ask per window: "count/seconds".
def _rate(name: str, default: str) -> tuple[int, int]:
    raw = env_str(name, default)
    try:
        count, seconds = (int(part) for part in raw.split("/"))
        if count < 0 or seconds < 1:
            raise ValueError
        return count, seconds
    except ValueError:
        _problem(name, raw, "expected COUNT/SECONDS, e.g. 10/60", "broadsheet.E010")
        count, seconds = default.split("/")
        return int(count), int(seconds)


BROADSHEET_ASK_RATE = _rate("BROADSHEET_ASK_RATE", "10/60")
BROADSHEET_LLM_BASE_URL = env_str("BROADSHEET_LLM_BASE_URL")
BROADSHEET_LLM_MODEL = env_str("BROADSHEET_LLM_MODEL")
BROADSHEET_LLM_API_KEY = env_str("BROADSHEET_LLM_API_KEY")
BROADSHEET_LLM_TIMEOUT = env_float("BROADSHEET_LLM_TIMEOUT", 30.0, minimum=0.1)
BROADSHEET_LLM_MAX_TOKENS = env_int("BROADSHEET_LLM_MAX_TOKENS", 400, minimum=16)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("BROADSHEET_LOG_LEVEL", "INFO")},
    "loggers": {
        "django_tasks": {"level": "WARNING"},
        "django_tasks_db": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
    },
}

# --- Community: accounts and comments (broadsheet.community) ------------------------------
INSTALLED_APPS += ["broadsheet.community"]
# Argon2 first: new and changed passwords use it; the others only verify older hashes.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "front"
LOGOUT_REDIRECT_URL = "front"
# "file" (the default: one file per message under DATA_DIR/mail), "console" or "smtp".
BROADSHEET_EMAIL = env_str("BROADSHEET_EMAIL", "file")
EMAIL_BACKEND = {
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
}.get(BROADSHEET_EMAIL, "django.core.mail.backends.filebased.EmailBackend")
if BROADSHEET_EMAIL not in {"file", "console", "smtp"}:
    _problem(
        "BROADSHEET_EMAIL", BROADSHEET_EMAIL, "expected file, console or smtp", "broadsheet.E008"
    )
EMAIL_FILE_PATH = DATA_DIR / "mail"
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "broadsheet@localhost")

BROADSHEET_COMMENT_MIN_CHARS = env_int("BROADSHEET_COMMENT_MIN_CHARS", 2, minimum=1)
BROADSHEET_COMMENT_MAX_CHARS = env_int("BROADSHEET_COMMENT_MAX_CHARS", 4000, minimum=1)
BROADSHEET_COMMENT_EDIT_MINUTES = env_int("BROADSHEET_COMMENT_EDIT_MINUTES", 10, minimum=0)
BROADSHEET_COMMENT_RATE_WINDOW = env_int("BROADSHEET_COMMENT_RATE_WINDOW", 600, minimum=1)
BROADSHEET_COMMENT_RATE_PER_USER = env_int("BROADSHEET_COMMENT_RATE_PER_USER", 5, minimum=1)
BROADSHEET_COMMENT_RATE_PER_IP = env_int("BROADSHEET_COMMENT_RATE_PER_IP", 20, minimum=1)
BROADSHEET_SIGNUP_RATE_PER_IP = env_int("BROADSHEET_SIGNUP_RATE_PER_IP", 10, minimum=1)  # /hour
BROADSHEET_COMMENT_REPORTS_TO_HIDE = env_int("BROADSHEET_COMMENT_REPORTS_TO_HIDE", 3, minimum=1)
# A new account's comments wait for a moderator until the account is this old, or until this
# many of its comments have been let through.
BROADSHEET_COMMENT_NEW_ACCOUNT_HOURS = env_int(
    "BROADSHEET_COMMENT_NEW_ACCOUNT_HOURS", 72, minimum=0
)
BROADSHEET_COMMENT_TRUSTED_AFTER = env_int("BROADSHEET_COMMENT_TRUSTED_AFTER", 2, minimum=0)
BROADSHEET_COMMENT_SPAM_THRESHOLD = env_int("BROADSHEET_COMMENT_SPAM_THRESHOLD", 5, minimum=1)
BROADSHEET_COMMENT_BAD_WORDS = env_list("BROADSHEET_COMMENT_BAD_WORDS", [])

# --- Task backend: database queue (default) or Redis (django-tasks-rq) --------------------
# BROADSHEET_TASK_BACKEND=rq moves the queue to Redis at REDIS_URL for sites where the
# database queue becomes the bottleneck; `broadsheet worker` then runs an RQ worker on the
# same queues. The database backend's app stays installed so its tables (and their history)
# remain whichever backend is chosen. Needs `pip install django-tasks-rq`.
TASK_QUEUES = TASKS["default"]["QUEUES"]
BROADSHEET_TASK_BACKEND = env_str("BROADSHEET_TASK_BACKEND", "db").lower()
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
if BROADSHEET_TASK_BACKEND not in {"db", "rq"}:
    _problem(
        "BROADSHEET_TASK_BACKEND", BROADSHEET_TASK_BACKEND, "expected db or rq", "broadsheet.E015"
    )
    BROADSHEET_TASK_BACKEND = "db"
if BROADSHEET_TASK_BACKEND == "rq":
    INSTALLED_APPS += ["django_rq"]
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": TASK_QUEUES}}
    # Results are only looked at while debugging; an hour keeps Redis small under load.
    # A job past DEFAULT_TIMEOUT is stopped; a feed poll with its retries fits well inside.
    RQ_QUEUES = {
        name: {"URL": REDIS_URL, "DEFAULT_RESULT_TTL": 3600, "DEFAULT_TIMEOUT": 900}
        for name in TASK_QUEUES
    }
    # RQ logs every job at INFO: thousands of lines an hour that say nothing went wrong.
    LOGGING["loggers"]["rq.worker"] = {"level": "WARNING"}
