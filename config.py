"""Configuration classes, read from the environment (12-factor).

Everything the application reads from its surroundings is read here and nowhere else.
Runtime-editable settings (investment thresholds, annual targets) live in database tables.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_url(default: str) -> str:
    url = os.environ.get("DATABASE_URL", default)
    # Heroku-style URLs and plain "postgresql://" both select the psycopg 3 driver.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class Config:
    """Settings shared by every environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = database_url(f"sqlite:///{INSTANCE_DIR / 'crm.sqlite3'}")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    # PostgreSQL's JIT compiler costs more than it saves on the pages' short aggregates.
    POSTGRES_JIT = _env_bool("POSTGRES_JIT", False)
    # Lookups by key are prepared once per PostgreSQL connection; off behind a pooler in
    # transaction mode that does not carry prepared statements (PgBouncer before 1.21).
    POSTGRES_PREPARE = _env_bool("POSTGRES_PREPARE", True)
    SQLALCHEMY_RECORD_QUERIES = False

    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = {"zh_Hans_CN": "简体中文", "en": "English"}

    # Absolute base URL used in e-mails and anything read outside the browser.
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")

    PAGE_SIZE = int(os.environ.get("PAGE_SIZE", "25"))
    # Lists count their records up to this many exactly; beyond it they say "more than" and
    # count everything only when asked (a count reads every matching row).
    LIST_COUNT_LIMIT = int(os.environ.get("LIST_COUNT_LIMIT", "10000"))
    # A search for a common word counts its matches up to this many: beyond it the list says
    # "more than" (a narrower word finds the record sooner than an exact count would help).
    SEARCH_COUNT_LIMIT = int(os.environ.get("SEARCH_COUNT_LIMIT", "1000"))
    # The cockpit's figure sets are read on this many connections side by side (1: one after
    # another on the request's own); see app/core/reads.py.
    PARALLEL_READS = int(os.environ.get("PARALLEL_READS", "2"))

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # "Remember me" lasts two weeks (Flask-Login's default is a year).
    REMEMBER_COOKIE_DURATION = dt.timedelta(days=int(os.environ.get("REMEMBER_COOKIE_DAYS", "14")))
    WTF_CSRF_TIME_LIMIT = None
    # Behind a reverse proxy: how many proxies set X-Forwarded-For/-Proto in front of the
    # app (werkzeug's ProxyFix trusts exactly that many hops); 0 when the app faces clients.
    PROXY_FIX_HOPS = int(os.environ.get("PROXY_FIX_HOPS", "0"))
    # Strict-Transport-Security on HTTPS responses, in seconds (0: no header).
    HSTS_MAX_AGE = int(os.environ.get("HSTS_MAX_AGE", str(365 * 24 * 3600)))
    # Login attempts (Flask-Limiter): failed attempts per account and per client address. The
    # counters live in Redis when REDIS_URL is set (shared by every worker and host), else in
    # the process's memory (one process only).
    REDIS_URL = os.environ.get("REDIS_URL")
    RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "crm")
    # Redis unreachable: count in memory meanwhile rather than refuse every login.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    LOGIN_LIMIT_PER_ACCOUNT = os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "10 per 15 minutes")
    LOGIN_LIMIT_PER_ADDRESS = os.environ.get("LOGIN_LIMIT_PER_ADDRESS", "30 per 15 minutes")
    # argon2id cost parameters (argon2-cffi's defaults, RFC 9106 low-memory profile).
    ARGON2_TIME_COST = int(os.environ.get("ARGON2_TIME_COST", "3"))
    ARGON2_MEMORY_COST = int(os.environ.get("ARGON2_MEMORY_COST", str(64 * 1024)))
    ARGON2_PARALLELISM = int(os.environ.get("ARGON2_PARALLELISM", "4"))
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(20 * 1024 * 1024)))

    # Ledger import (台账导入): limits checked before a file is parsed; an .xlsx is a zip, so its
    # uncompressed size is limited too.
    LEDGER_MAX_BYTES = int(os.environ.get("LEDGER_MAX_BYTES", str(10 * 1024 * 1024)))
    LEDGER_MAX_ROWS = int(os.environ.get("LEDGER_MAX_ROWS", "50000"))
    LEDGER_MAX_UNCOMPRESSED_BYTES = int(
        os.environ.get("LEDGER_MAX_UNCOMPRESSED_BYTES", str(200 * 1024 * 1024))
    )

    # Outgoing mail (the weekly digests): STARTTLS with MAIL_USE_TLS, implicit TLS with
    # MAIL_USE_SSL (usually port 465); a login only when MAIL_USERNAME is set.
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _env_bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "招商引资CRM <crm@localhost>")
    MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT", "30"))

    # Weekly digests: when they go out (weekday and time, Asia/Shanghai), how often a
    # temporary SMTP failure is retried (back-off doubling from the base), and how long a
    # claimed row stays with its sender before another run takes it over (a crashed sender).
    DIGEST_SCHEDULE = os.environ.get("DIGEST_SCHEDULE", "mon 08:00")
    DIGEST_MAX_ATTEMPTS = int(os.environ.get("DIGEST_MAX_ATTEMPTS", "4"))
    DIGEST_RETRY_BASE_SECONDS = float(os.environ.get("DIGEST_RETRY_BASE_SECONDS", "60"))
    DIGEST_CLAIM_LEASE_SECONDS = float(os.environ.get("DIGEST_CLAIM_LEASE_SECONDS", "600"))
    DIGEST_RETRY_POLL_SECONDS = float(os.environ.get("DIGEST_RETRY_POLL_SECONDS", "300"))
    # Development only: run the scheduler inside the web process (one process, no reloader).
    DIGEST_SCHEDULER_IN_WEB = _env_bool("DIGEST_SCHEDULER_IN_WEB", False)


class DevelopmentConfig(Config):
    """Local development: a fixed, insecure key is acceptable."""

    DEBUG = True
    SECRET_KEY = Config.SECRET_KEY or "dev-only-insecure-key"


class TestingConfig(Config):
    """The test suite: TEST_DATABASE_URL selects PostgreSQL, otherwise a temporary SQLite file."""

    TESTING = True
    SECRET_KEY = "test-secret-key"  # noqa: S105
    WTF_CSRF_ENABLED = False
    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("TEST_DATABASE_URL", "sqlite://"))
    SQLALCHEMY_RECORD_QUERIES = True
    SERVER_NAME = "crm.test"
    # Cheap hashing keeps the suite fast; the algorithm is the same argon2id.
    ARGON2_TIME_COST = 2
    ARGON2_MEMORY_COST = 1024
    ARGON2_PARALLELISM = 1
    BASE_URL = "http://crm.test"
    MAIL_SERVER = "127.0.0.1"
    MAIL_DEFAULT_SENDER = "招商引资CRM <crm@crm.test>"
    MAIL_USERNAME = None
    MAIL_PASSWORD = None
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    DIGEST_RETRY_BASE_SECONDS = 0.0
    DIGEST_SCHEDULER_IN_WEB = False
    # The suite logs in thousands of times from one address; tests/auth/test_login_limits.py
    # builds its own applications with the limiter on.
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"


class ProductionConfig(Config):
    """Production: SECRET_KEY must come from the environment."""

    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def get_config(name: str | None = None) -> type[Config]:
    """Return the configuration class named by *name* or by the APP_ENV variable."""
    name = name or os.environ.get("APP_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"Unknown APP_ENV {name!r}; use one of {', '.join(CONFIGS)}") from None
