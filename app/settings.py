"""Settings: one dataclass per concern, read from the environment once and cached."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _var_dir() -> Path:
    path = Path(os.environ.get("SHUYUAN_VAR_DIR", ROOT / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _secret_key(var_dir: Path) -> str:
    # A fresh checkout gets a random key kept under var/ so sessions survive restarts.
    if key := os.environ.get("SECRET_KEY"):
        return key
    key_file = var_dir / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


@dataclass(frozen=True)
class DatabaseSettings:
    url: str

    @property
    def is_postgres(self) -> bool:
        return self.url.startswith(("postgres://", "postgresql://"))


@dataclass(frozen=True)
class RedisSettings:
    url: str
    events_channel: str = "shuyuan:events"
    worker_health_key: str = "shuyuan:worker:health"


@dataclass(frozen=True)
class AuthSettings:
    secret_key: str
    session_max_age: int = 12 * 3600
    login_max_failures: int = 5
    login_window_seconds: int = 15 * 60
    cookie_secure: bool = False


@dataclass(frozen=True)
class SmtpSettings:
    """Outgoing email (app/notifications/channels.py). No host: email is not configured."""

    host: str = ""
    port: int = 25
    user: str = ""
    password: str = ""
    sender: str = "shuyuan@localhost"
    starttls: bool = False
    timeout: float = 30.0
    site_url: str = ""  # SITE_URL, e.g. https://crm.example.edu: makes the links in emails absolute

    @classmethod
    def from_env(cls) -> SmtpSettings:
        return cls(
            host=os.environ.get("SMTP_HOST", ""),
            port=int(os.environ.get("SMTP_PORT") or 25),
            user=os.environ.get("SMTP_USER", ""),
            password=os.environ.get("SMTP_PASSWORD", ""),
            sender=os.environ.get("SMTP_FROM") or "shuyuan@localhost",
            starttls=os.environ.get("SMTP_STARTTLS", "") in ("1", "true", "yes"),
            site_url=os.environ.get("SITE_URL", "").rstrip("/"),
        )


@dataclass(frozen=True)
class Settings:
    var_dir: Path
    database: DatabaseSettings
    redis: RedisSettings
    auth: AuthSettings
    debug: bool = False
    default_locale: str = "zh_CN"
    locales: tuple[str, ...] = ("zh_CN", "en")
    site_name: str = "书院 Shuyuan"
    extra: dict[str, str] = field(default_factory=dict)
    smtp: SmtpSettings = field(default_factory=SmtpSettings.from_env)
    sms_provider: str = field(default_factory=lambda: os.environ.get("SMS_PROVIDER", "log"))
    # Who may put the wall display (/board/display) in a frame: CSP frame-ancestors sources,
    # e.g. "'self' https://signage.example.edu". Every other page may not be framed.
    display_frame_ancestors: str = field(
        default_factory=lambda: os.environ.get("DISPLAY_FRAME_ANCESTORS", "").strip() or "'self'"
    )


def _database_url(var_dir: Path) -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{var_dir / 'shuyuan.sqlite3'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    var_dir = _var_dir()
    return Settings(
        var_dir=var_dir,
        database=DatabaseSettings(url=_database_url(var_dir)),
        redis=RedisSettings(url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")),
        auth=AuthSettings(
            secret_key=_secret_key(var_dir),
            cookie_secure=os.environ.get("COOKIE_SECURE", "") == "1",
        ),
        debug=os.environ.get("DEBUG", "") == "1",
    )
