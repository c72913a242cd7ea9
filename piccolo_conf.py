"""Piccolo's configuration: the database engine and the registry of table apps, nothing else."""

from urllib.parse import parse_qs, unquote, urlparse

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

from app.core.sqlite_engine import PooledSQLiteEngine
from app.settings import get_settings


def postgres_config(url: str) -> dict:
    """asyncpg's connection settings from a postgres:// URL. libpq's `?host=/run/postgresql` names
    the directory of a Unix socket: on the same machine it costs a third less CPU per query than TCP
    through the loopback (docs/DEPLOY.md)."""
    parsed = urlparse(url)
    socket_dir = parse_qs(parsed.query).get("host", [""])[0]
    return {
        "host": socket_dir or parsed.hostname or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": unquote(parsed.username or "postgres"),
        "password": unquote(parsed.password or ""),
        "database": parsed.path.lstrip("/") or "shuyuan",
    }


def _engine():
    url = get_settings().database.url
    if url.startswith("sqlite:///"):
        # Reused connections (app/core/sqlite_engine.py); a busy timeout lets
        # the web process and the worker write to the same file without "database is locked".
        return PooledSQLiteEngine(path=url.removeprefix("sqlite:///"), timeout=30)
    return PostgresEngine(config=postgres_config(url))


DB = _engine()

# Order matters: apps are migrated in this order and later apps reference earlier ones.
APP_REGISTRY = AppRegistry(
    apps=[
        "tables.accounts.piccolo_app",
        "tables.calendars.piccolo_app",
        "tables.audit.piccolo_app",
        "tables.notifications.piccolo_app",
        "tables.leads.piccolo_app",
        "tables.students.piccolo_app",
        "tables.follow_ups.piccolo_app",
        "tables.teaching.piccolo_app",
        "tables.tickets.piccolo_app",
        "tables.approvals.piccolo_app",
        "tables.assignment.piccolo_app",
        "tables.sla.piccolo_app",
        "tables.automation.piccolo_app",
        "tables.jobs.piccolo_app",
    ]
)
