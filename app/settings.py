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
