"""Settings from the environment, with safe defaults for `make run`."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path


def _instance_secret(instance_path: Path, name: str) -> str:
    """Read a secret generated once into the instance folder, creating it on first use."""
    instance_path.mkdir(parents=True, exist_ok=True)
    path = instance_path / name
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _database_url(instance_path: Path) -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{instance_path / 'ucmsc_lims.sqlite3'}"
    # Accept the common `postgres://` and `postgresql://` spellings; we ship psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _megabytes(text: str) -> int:
    return int(float(text) * 1024 * 1024)


def from_environment(instance_path: Path) -> dict:
    """The configuration for a served app; tests pass their own overrides on top."""
    env = os.environ
    return {
        "SECRET_KEY": env.get("SECRET_KEY") or _instance_secret(instance_path, "secret_key"),
        "DATABASE_URL": _database_url(instance_path),
        "REDIS_URL": env.get("REDIS_URL"),
        "SITE_TIMEZONE": env.get("SITE_TIMEZONE", "Asia/Shanghai"),
        "FACILITY_ID": env.get("FACILITY_ID", "G1234"),
        "DEMO_PASSWORD": env.get("DEMO_PASSWORD", "demo-password-123"),
        # SPEC 6: idle session timeout, lock-out, minimum password length.
        "IDLE_TIMEOUT": timedelta(minutes=int(env.get("IDLE_TIMEOUT_MINUTES", "15"))),
        # SPEC 6, auth.throttle: LOCKOUT_THRESHOLD failures against one account within
        # LOCKOUT_MINUTES back off the address they came from for the rest of that time; the
        # account itself locks for LOCKOUT_MINUTES only once the failures came from at least
        # LOCKOUT_ADDRESSES addresses, so one attacker cannot lock out a nurse elsewhere.
        "LOCKOUT_THRESHOLD": int(env.get("LOCKOUT_THRESHOLD", "5")),
        "LOCKOUT_DURATION": timedelta(minutes=int(env.get("LOCKOUT_MINUTES", "15"))),
        "LOCKOUT_ADDRESSES": int(env.get("LOCKOUT_ADDRESSES", "3")),
        # Reverse proxies in front of the app that append the client to X-Forwarded-For; the
        # client address (rate limit, back-off) is read from them, never from an untrusted one.
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0")),
        "PASSWORD_MIN_LENGTH": 12,
        "API_TOKEN_LIFETIME": timedelta(hours=int(env.get("API_TOKEN_HOURS", "12"))),
        # Counted in Redis when REDIS_URL is set, else in the database (auth.throttle), so
        # every worker and server counts together.
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "20 per minute"),
        # A body larger than this is refused with 413 before it is read; file uploads (logger
        # and allocation CSVs, the only multipart forms) have a smaller limit of their own.
        "MAX_CONTENT_LENGTH": _megabytes(env.get("MAX_REQUEST_MB", "16")),
        "MAX_UPLOAD_LENGTH": _megabytes(env.get("MAX_UPLOAD_MB", "2")),
        # Argon2id parameters (RFC 9106 second recommended option); tests use cheap ones.
        "ARGON2_TIME_COST": int(env.get("ARGON2_TIME_COST", "3")),
        "ARGON2_MEMORY_COST": int(env.get("ARGON2_MEMORY_COST", str(64 * 1024))),
        # SPEC 5: a sealer hashes committed audit entries off the request path.
        "AUDIT_SEALER_INTERVAL": float(env.get("AUDIT_SEALER_INTERVAL", "0.5")),
        "AUDIT_SEAL_MAX_AGE": timedelta(seconds=int(env.get("AUDIT_SEAL_MAX_AGE_SECONDS", "10"))),
        # SPEC 5: signed checkpoints anchor the chain (core.checkpoints); the key is never
        # stored in the database.
        "AUDIT_CHECKPOINT_KEY": env.get("AUDIT_CHECKPOINT_KEY")
        or _instance_secret(instance_path, "audit_checkpoint_key"),
        "AUDIT_CHECKPOINT_LOG": env.get("AUDIT_CHECKPOINT_LOG",
                                        str(instance_path / "audit-checkpoints.log")),
        "AUDIT_CHECKPOINT_SECONDS": float(env.get("AUDIT_CHECKPOINT_SECONDS", "60")),
        "SESSION_COOKIE_SECURE": env.get("SESSION_COOKIE_SECURE", "0") == "1",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": env.get("DEFAULT_LOCALE", "en"),
        "LANGUAGES": ["en", "zh_Hans"],
        "BABEL_TRANSLATION_DIRECTORIES": str(instance_path.parent / "translations"),
    }
