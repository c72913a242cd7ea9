#!/usr/bin/env python3
"""Throwaway local Redis and PostgreSQL servers on loopback ports (stdlib only).

Used by tests/conftest.py, the bench scripts and ``make run``::

    from scripts.services import start_redis, start_postgres

    with start_redis(tmp / "redis") as redis, start_postgres(tmp / "pg") as pg:
        os.environ["REDIS_URL"] = redis.url          # redis://127.0.0.1:P/0
        os.environ["DATABASE_URL"] = pg.url          # postgres://postgres@127.0.0.1:P/shuyuan
        other = pg.create_database("shuyuan_gw1")    # -> URL of a second database

A service only ever stops what it started itself: ``stop()`` is a no-op for a
server it merely found already running (``owned`` is False), Redis is shut down
only if the server answering on the port still reports the pid recorded at start,
and PostgreSQL is stopped through its own data directory.  Services started from
Python are also stopped at interpreter exit (unless ``keep=True``), so a test run
that dies with an exception does not leave servers behind.

No systemd is needed.  initdb/pg_ctl refuse to run as root, so when run as root
they run as the ``postgres`` user (``runuser -u postgres --``) and the cluster
directory is chowned to it.  If the postgres user cannot reach ``base_dir`` (e.g.
pytest's /tmp/pytest-of-root is mode 700) the cluster lives in a private
directory under /tmp instead (``base_dir/pgdata`` is a symlink to it) and that
directory is deleted again by ``stop()``.

CLI (prints the URL on stdout; messages go to stderr)::

    python scripts/services.py redis --dir var/redis --port 6379 [--keep] [--fallback-free-port]
    python scripts/services.py stop-redis --port 6379 [--dir var/redis]
    python scripts/services.py postgres --dir var/pg --port 5433 [--keep] [--fast]
    python scripts/services.py stop-postgres --dir var/pg
    python scripts/services.py free-port

Without ``--keep`` the CLI stays in the foreground and stops the server it
started on Ctrl-C / SIGTERM; with ``--keep`` it leaves the server running and
exits.  ``--format env`` prints ``SERVICE_URL=… SERVICE_PORT=… SERVICE_STARTED=0|1``
lines for ``eval`` in shell scripts.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import glob
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = [
    "Service",
    "ServiceError",
    "free_port",
    "port_in_use",
    "postgres_ready",
    "redis_ping",
    "start_postgres",
    "start_redis",
    "stop_postgres",
    "stop_redis",
]

HOST = "127.0.0.1"
PG_USER = "postgres"  # both the OS user that runs the server and the DB superuser
DEFAULT_DB = "shuyuan"
REDIS_TIMEOUT = 10.0
PG_TIMEOUT = 30.0
# The longest unix socket path the kernel accepts is 107 bytes.
_MAX_SOCKET_PATH = 100
_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class ServiceError(RuntimeError):
    """A service could not be started or stopped."""


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def port_in_use(port: int, host: str = HOST) -> bool:
    """True if something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _redis_command(port: int, command: bytes, timeout: float = 1.0) -> bytes | None:
    """Send one inline command to a Redis server and return the raw reply (or None)."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.sendall(command + b"\r\n")
            data = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
                if data.startswith((b"+", b"-", b":")) and data.endswith(b"\r\n"):
                    break
                if data.startswith(b"$"):
                    header, _, rest = data.partition(b"\r\n")
                    if _ and len(rest) >= int(header[1:]) + 2:
                        break
            return data
    except (OSError, ValueError):
        return None


def redis_ping(port: int) -> bool:
    """True if a Redis server on 127.0.0.1:port answers PING with PONG (like `redis-cli -p P ping`)."""
    reply = _redis_command(port, b"PING")
    return bool(reply) and reply.startswith(b"+PONG")


def _redis_server_pid(port: int) -> int | None:
    reply = _redis_command(port, b"INFO server")
    if not reply:
        return None
    match = re.search(rb"process_id:(\d+)", reply)
    return int(match.group(1)) if match else None


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still "exists"; treat it as gone.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _tail(path: Path | None, lines: int = 25) -> str:
    if path is None:
        return ""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def _which(name: str, *fallbacks: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for pattern in fallbacks:
        matches = sorted(glob.glob(pattern), key=_version_key)
        if matches:
            return matches[-1]
    raise ServiceError(f"{name} not found (run `make sysdeps`)")


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"/(\d+)/", path)) or (0,)


# --------------------------------------------------------------------------- Service


class Service:
    """A running local server.  Use as a context manager or call ``stop()``."""

    def __init__(
        self,
        kind: str,
        port: int,
        url: str,
        *,
        base_dir: Path,
        pid: int | None,
        owned: bool,
        log_file: Path | None = None,
        data_dir: Path | None = None,
        pid_file: Path | None = None,
        scratch_dir: Path | None = None,
    ) -> None:
        self.kind = kind  # "redis" | "postgres"
        self.port = port
        self.url = url
        self.base_dir = base_dir
        self.pid = pid
        self.owned = owned  # True only if this object started the server
        self.log_file = log_file
        self.data_dir = data_dir
        self.pid_file = pid_file
        self._scratch_dir = scratch_dir  # private dir outside base_dir, removed on stop()
        self._owner_pid = os.getpid()  # never stop from a forked child
        self._stopped = False

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else ("owned" if self.owned else "reused")
        return f"<Service {self.kind} {self.url} pid={self.pid} {state}>"

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- URLs ---------------------------------------------------------------
    def url_for(self, name: str | int) -> str:
        """URL of another database (postgres: a name, redis: a db number)."""
        if self.kind == "redis":
            return f"redis://{HOST}:{self.port}/{int(name)}"
        return f"postgres://{PG_USER}@{HOST}:{self.port}/{name}"

    # -- postgres helpers ----------------------------------------------------
    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL with psql as the superuser and return its unaligned output."""
        if self.kind != "postgres":
            raise ServiceError("psql() is for postgres services")
        return _psql(self.port, sql, database)

    def create_database(self, name: str, *, drop_existing: bool = False) -> str:
        """Create database ``name`` if it does not exist; return its URL."""
        if self.kind != "postgres":
            raise ServiceError("create_database() is for postgres services")
        _create_database(self.port, name, drop_existing=drop_existing)
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        if self.kind != "postgres":
            raise ServiceError("drop_database() is for postgres services")
        _check_db_name(name)
        _psql(self.port, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    # -- lifecycle -----------------------------------------------------------
    def is_running(self) -> bool:
        if self.kind == "redis":
            return redis_ping(self.port)
        return postgres_ready(self.port)

    def stop(self) -> None:
        """Stop the server if (and only if) this object started it.  Idempotent."""
        if self._stopped or not self.owned or os.getpid() != self._owner_pid:
            return
        self._stopped = True
        _REGISTRY.discard(self)
        try:
            if self.kind == "redis":
                _stop_redis_pid(self.port, self.pid)
            else:
                _pg_ctl_stop(self.data_dir)
        finally:
            if self._scratch_dir is not None:
                shutil.rmtree(self._scratch_dir, ignore_errors=True)
                link = self.base_dir / "pgdata"
                if link.is_symlink():
                    link.unlink()


_REGISTRY: set[Service] = set()


@atexit.register
def _stop_all() -> None:
    for service in list(_REGISTRY):
        with contextlib.suppress(Exception):
            service.stop()


def _track(service: Service, keep: bool) -> Service:
    if service.owned and not keep:
        _REGISTRY.add(service)
    return service


# --------------------------------------------------------------------------- Redis


def _redis_files(base_dir: Path, port: int) -> tuple[Path, Path]:
    return base_dir / f"redis-{port}.pid", base_dir / f"redis-{port}.log"


def start_redis(
    base_dir: Path | str,
    port: int | None = None,
    *,
    reuse: bool = False,
    keep: bool = False,
    timeout: float = REDIS_TIMEOUT,
) -> Service:
    """Start redis-server on 127.0.0.1 (a free port if ``port`` is None), no persistence.

    With ``reuse=True`` a Redis already answering PING on ``port`` is returned as
    a not-owned Service (``stop()`` leaves it alone); otherwise a busy port is an
    error.  ``keep=True`` skips the stop-at-interpreter-exit safety net.
    """
    base_dir = Path(base_dir).resolve()
    base_dir.mkdir(parents=True, exist_ok=True)
    attempts = 3 if port is None else 1
    last_error: Exception | None = None
    for _ in range(attempts):
        chosen = port or free_port()
        try:
            return _track(_start_redis_once(base_dir, chosen, reuse, timeout), keep)
        except _PortRace as error:  # someone grabbed the free port first: try another
            last_error = error
    raise ServiceError(str(last_error))


class _PortRace(ServiceError):
    pass


def _start_redis_once(base_dir: Path, port: int, reuse: bool, timeout: float) -> Service:
    pid_file, log_file = _redis_files(base_dir, port)
    url = f"redis://{HOST}:{port}/0"
    if port_in_use(port):
        if reuse and redis_ping(port):
            return Service(
                "redis",
                port,
                url,
                base_dir=base_dir,
                pid=_redis_server_pid(port),
                owned=False,
                log_file=log_file,
                pid_file=pid_file,
            )
        raise _PortRace(f"port {port} on {HOST} is already in use")
    with contextlib.suppress(FileNotFoundError):
        pid_file.unlink()
    log_start = log_file.stat().st_size if log_file.exists() else 0
    cmd = [
        _which("redis-server"),
        "--port",
        str(port),
        "--bind",
        HOST,
        "--dir",
        str(base_dir),
        "--daemonize",
        "yes",
        "--pidfile",
        str(pid_file),
        "--logfile",
        str(log_file),
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ServiceError(f"redis-server failed ({proc.returncode}): {proc.stderr or proc.stdout}\n{_tail(log_file)}")
    started = time.monotonic()
    deadline = started + timeout
    pid = None
    while time.monotonic() < deadline:
        pid = pid or _read_pid(pid_file)
        if pid and redis_ping(port):
            served_by = _redis_server_pid(port)
            if served_by == pid:
                return Service(
                    "redis", port, url, base_dir=base_dir, pid=pid, owned=True, log_file=log_file, pid_file=pid_file
                )
            # Another server answers on "our" port: ours cannot have bound it.
            _kill_pid(pid)
            raise _PortRace(f"port {port} was taken by another redis (pid {served_by})")
        if pid and not _pid_alive(pid):
            break
        if not pid and time.monotonic() - started > 1.0:
            log = _log_since(log_file, log_start)
            if "Address already in use" in log or "# Fatal" in log or "FATAL" in log:
                break
        time.sleep(0.05)
    if pid:
        _kill_pid(pid)
    log = _log_since(log_file, log_start)
    if "Address already in use" in log:
        raise _PortRace(f"port {port} is already in use:\n{log}")
    raise ServiceError(f"redis-server on port {port} did not answer PING within {timeout:.0f}s; log {log_file}:\n{log}")


def _log_since(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            text = fh.read().decode(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-25:])


def _kill_pid(pid: int, timeout: float = 5.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _stop_redis_pid(port: int, pid: int | None, timeout: float = 10.0) -> None:
    """Shut down the Redis on ``port`` only if it is the process ``pid``."""
    if not pid:
        return
    if _redis_server_pid(port) == pid:
        cli = shutil.which("redis-cli")
        if cli:
            subprocess.run(
                [cli, "-h", HOST, "-p", str(port), "shutdown", "nosave"],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
            )
        else:
            _redis_command(port, b"SHUTDOWN NOSAVE")
    deadline = time.monotonic() + timeout
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _pid_alive(pid) and _is_redis_process(pid):
        _kill_pid(pid)


def _is_redis_process(pid: int) -> bool:
    try:
        return b"redis" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def stop_redis(port: int, base_dir: Path | str | None = None, *, force: bool = False) -> bool:
    """Stop the Redis on ``port`` that was started with ``base_dir`` (pid file check).

    Returns True if a server was stopped.  A Redis on that port whose pid does not
    match ``base_dir/redis-PORT.pid`` is left alone unless ``force=True``.
    """
    served_by = _redis_server_pid(port)
    if served_by is None:
        return False
    if not force:
        if base_dir is None:
            raise ServiceError("stop_redis needs base_dir (or force=True)")
        pid_file, _ = _redis_files(Path(base_dir).resolve(), port)
        if _read_pid(pid_file) != served_by:
            raise ServiceError(
                f"redis on port {port} (pid {served_by}) was not started from {base_dir}; not stopping it"
            )
    _stop_redis_pid(port, served_by)
    return True


# --------------------------------------------------------------------------- PostgreSQL


def _as_pg_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return [_which("runuser", "/sbin/runuser", "/usr/sbin/runuser"), "-u", PG_USER, "--", *cmd]
    return cmd


def _pg_bin(name: str) -> str:
    # Prefer Debian's versioned dirs, highest version first, then PATH.
    matches = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version_key)
    if matches:
        return matches[-1]
    return _which(name)


def _pg_ids() -> tuple[int, int]:
    if os.geteuid() != 0:
        return os.geteuid(), os.getegid()
    import pwd

    try:
        entry = pwd.getpwnam(PG_USER)
    except KeyError as exc:
        raise ServiceError(f"no '{PG_USER}' OS user (install postgresql: `make sysdeps`)") from exc
    return entry.pw_uid, entry.pw_gid


def _pg_can_reach(path: Path) -> bool:
    """Can the OS user that runs postgres traverse into ``path``?"""
    if os.geteuid() != 0:
        return os.access(path, os.X_OK)
    proc = subprocess.run(
        _as_pg_user(["/bin/sh", "-c", 'test -x "$1" && test -r "$1"', "sh", str(path)]),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        cwd="/",
    )
    return proc.returncode == 0


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    if os.geteuid() != 0:
        return
    st = path.stat()
    if st.st_uid == uid and st.st_gid == gid:
        return
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, gid)
        for name in dirs + files:
            with contextlib.suppress(FileNotFoundError):
                os.lchown(os.path.join(root, name), uid, gid)


def _run_pg(cmd: list[str], timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _as_pg_user(cmd), stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd="/", timeout=timeout
    )


def _pg_layout(base_dir: Path) -> tuple[Path, Path | None]:
    """Return (cluster root, scratch dir or None) for ``base_dir``."""
    if _pg_can_reach(base_dir):
        link = base_dir / "pgdata"
        if link.is_symlink():  # stale pointer from an earlier scratch cluster
            target = link.resolve()
            if target.exists() and (target / "data" / "PG_VERSION").exists():
                return target, None
            link.unlink()
        return base_dir, None
    digest = hashlib.sha1(str(base_dir).encode()).hexdigest()[:10]
    scratch = Path(tempfile.gettempdir()) / f"shuyuan-pg-{digest}"
    try:
        scratch.mkdir(mode=0o755)
    except FileExistsError:
        st = scratch.lstat()
        if scratch.is_symlink() or not scratch.is_dir() or st.st_uid != os.geteuid():
            scratch = Path(tempfile.mkdtemp(prefix="shuyuan-pg-"))
    scratch.chmod(0o755)
    link = base_dir / "pgdata"
    if not link.is_symlink():
        with contextlib.suppress(OSError):
            link.symlink_to(scratch)
    return scratch, scratch


def _postmaster_info(data_dir: Path) -> dict[str, str] | None:
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None
    if len(lines) < 4:
        return None
    return {"pid": lines[0].strip(), "port": lines[3].strip(), "status": lines[7].strip() if len(lines) > 7 else ""}


def _cluster_running(data_dir: Path) -> bool:
    if not (data_dir / "PG_VERSION").exists():
        return False
    return _run_pg([_pg_bin("pg_ctl"), "-D", str(data_dir), "status"]).returncode == 0


def postgres_ready(port: int) -> bool:
    """True if a PostgreSQL server accepts connections on 127.0.0.1:port."""
    try:
        isready = _pg_bin("pg_isready")
    except ServiceError:
        return port_in_use(port)
    proc = subprocess.run(
        [isready, "-q", "-h", HOST, "-p", str(port), "-t", "2"], stdin=subprocess.DEVNULL, capture_output=True
    )
    return proc.returncode == 0


def _psql(port: int, sql: str, database: str = "postgres") -> str:
    env = {**os.environ, "PGCONNECT_TIMEOUT": "5"}
    for var in ("PGPASSWORD", "PGSERVICE", "PGOPTIONS"):
        env.pop(var, None)
    proc = subprocess.run(
        [
            _pg_bin("psql"),
            "-X",
            "-q",
            "-h",
            HOST,
            "-p",
            str(port),
            "-U",
            PG_USER,
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-tA",
            "-c",
            sql,
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        cwd="/",
    )
    if proc.returncode != 0:
        raise ServiceError(f"psql failed: {proc.stderr.strip()}\nSQL: {sql}")
    return proc.stdout.strip()


def _check_db_name(name: str) -> None:
    if not _DB_NAME.match(name):
        raise ServiceError(f"invalid database name {name!r}")


def _create_database(port: int, name: str, *, drop_existing: bool = False) -> None:
    _check_db_name(name)
    if drop_existing:
        _psql(port, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    exists = _psql(port, f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
    if exists != "1":
        try:
            _psql(port, f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'")
        except ServiceError as error:
            # Two processes racing to create it: fine if it exists now.
            if "already exists" not in str(error):
                raise


def start_postgres(
    base_dir: Path | str,
    port: int | None = None,
    *,
    fast: bool = True,
    reuse: bool = False,
    keep: bool = False,
    database: str = DEFAULT_DB,
    timeout: float = PG_TIMEOUT,
) -> Service:
    """Start PostgreSQL on 127.0.0.1 with its cluster in ``base_dir/data``.

    initdb runs (as the postgres user when we are root) if the cluster does not
    exist yet; database ``database`` is created.  ``fast=True`` adds
    ``fsync=off synchronous_commit=off full_page_writes=off`` (tests only!).
    With ``reuse=True`` a cluster of this ``base_dir`` that is already running on
    ``port`` (or on any port if ``port`` is None) is returned as not owned.
    """
    base_dir = Path(base_dir).resolve()
    base_dir.mkdir(parents=True, exist_ok=True)
    root, scratch = _pg_layout(base_dir)
    data_dir = root / "data"
    uid, gid = _pg_ids()

    if _cluster_running(data_dir):
        info = _postmaster_info(data_dir) or {}
        running_port = int(info.get("port") or 0)
        if reuse and running_port and port in (None, running_port):
            _create_database(running_port, database)
            return Service(
                "postgres",
                running_port,
                f"postgres://{PG_USER}@{HOST}:{running_port}/{database}",
                base_dir=base_dir,
                pid=int(info["pid"]),
                owned=False,
                data_dir=data_dir,
                log_file=root / "postgres.log",
            )
        raise ServiceError(
            f"the cluster in {data_dir} is already running on port {running_port}"
            + ("" if reuse else " (pass reuse=True / use it or stop it first)")
        )

    if not (data_dir / "PG_VERSION").exists():
        _initdb(root, data_dir, uid, gid)
    _chown_tree(data_dir, uid, gid)
    os.chmod(data_dir, 0o700)

    attempts = 3 if port is None else 1
    error: ServiceError | None = None
    try:
        for _ in range(attempts):
            chosen = port or free_port()
            try:
                service = _pg_start_once(base_dir, root, data_dir, chosen, fast, timeout, scratch)
            except _PortRace as exc:
                error = exc
                continue
            try:
                _create_database(chosen, database)
            except BaseException:
                scratch = None  # stop() removes it
                service.stop()
                raise
            service.url = service.url_for(database)
            return _track(service, keep)
        assert error is not None
        raise ServiceError(str(error))
    except BaseException:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
            with contextlib.suppress(OSError):
                (base_dir / "pgdata").unlink()
        raise


def _initdb(root: Path, data_dir: Path, uid: int, gid: int) -> None:
    if data_dir.exists() and any(data_dir.iterdir()):
        raise ServiceError(f"{data_dir} exists, is not empty and has no PG_VERSION; remove it")
    root.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(mode=0o700, exist_ok=True)
    if os.geteuid() == 0:
        os.chown(data_dir, uid, gid)
    proc = _run_pg(
        [
            _pg_bin("initdb"),
            "-D",
            str(data_dir),
            "-U",
            PG_USER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-instructions",
        ]
    )
    if proc.returncode != 0 and "--no-instructions" in proc.stderr:  # very old initdb
        proc = _run_pg(
            [_pg_bin("initdb"), "-D", str(data_dir), "-U", PG_USER, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]
        )
    if proc.returncode != 0:
        raise ServiceError(f"initdb failed:\n{proc.stdout}\n{proc.stderr}")


def _pg_start_once(
    base_dir: Path, root: Path, data_dir: Path, port: int, fast: bool, timeout: float, scratch: Path | None
) -> Service:
    if port_in_use(port):
        raise _PortRace(f"port {port} on {HOST} is already in use")
    uid, gid = _pg_ids()
    log_file = root / "postgres.log"
    log_file.touch(exist_ok=True)
    sock_dir = root / "run"
    sock_dir.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        os.chown(log_file, uid, gid)
        os.chown(sock_dir, uid, gid)
    # Unix socket paths are limited to ~107 bytes; TCP alone is enough for us.
    use_socket = len(str(sock_dir / f".s.PGSQL.{port}")) <= _MAX_SOCKET_PATH
    options = ["-p", str(port), "-c", f"listen_addresses={HOST}", "-k", str(sock_dir) if use_socket else ""]
    if fast:
        options += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    log_start = log_file.stat().st_size
    proc = _run_pg(
        [
            _pg_bin("pg_ctl"),
            "-D",
            str(data_dir),
            "-l",
            str(log_file),
            "-o",
            " ".join(shlex.quote(o) for o in options),
            "-w",
            "-t",
            str(int(timeout)),
            "start",
        ],
        timeout=timeout + 15,
    )
    log = _log_since(log_file, log_start)
    if proc.returncode != 0:
        # pg_ctl may have left a half-started postmaster behind; it is ours, stop it.
        with contextlib.suppress(Exception):
            _pg_ctl_stop(data_dir)
        if "Address already in use" in log or "could not create any TCP/IP sockets" in log:
            raise _PortRace(f"port {port} is already in use:\n{log}")
        raise ServiceError(f"pg_ctl start failed ({proc.returncode}): {proc.stderr.strip()}\nlog {log_file}:\n{log}")
    deadline = time.monotonic() + timeout
    while not postgres_ready(port):
        if time.monotonic() > deadline:
            _pg_ctl_stop(data_dir)
            raise ServiceError(f"postgres on port {port} not ready after {timeout:.0f}s:\n{_tail(log_file)}")
        time.sleep(0.1)
    info = _postmaster_info(data_dir) or {}
    return Service(
        "postgres",
        port,
        f"postgres://{PG_USER}@{HOST}:{port}/{DEFAULT_DB}",
        base_dir=base_dir,
        pid=int(info.get("pid") or 0) or None,
        owned=True,
        log_file=log_file,
        data_dir=data_dir,
        pid_file=data_dir / "postmaster.pid",
        scratch_dir=scratch,
    )


def _pg_ctl_stop(data_dir: Path | None, timeout: float = 60.0) -> None:
    if data_dir is None or not (data_dir / "postmaster.pid").exists():
        return
    proc = _run_pg(
        [_pg_bin("pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w", "-t", str(int(timeout)), "stop"],
        timeout=timeout + 15,
    )
    if proc.returncode != 0 and _cluster_running(data_dir):
        raise ServiceError(f"pg_ctl stop failed: {proc.stderr.strip()}")


def stop_postgres(base_dir: Path | str) -> bool:
    """Stop the cluster that lives in ``base_dir`` (if running).  True if it was stopped."""
    base_dir = Path(base_dir).resolve()
    link = base_dir / "pgdata"
    root = link.resolve() if link.is_symlink() else base_dir
    data_dir = root / "data"
    if not _cluster_running(data_dir):
        return False
    _pg_ctl_stop(data_dir)
    return True


# --------------------------------------------------------------------------- CLI


def _emit(service: Service, fmt: str) -> None:
    if fmt == "env":
        print(f"SERVICE_URL={shlex.quote(service.url)}")
        print(f"SERVICE_PORT={service.port}")
        print(f"SERVICE_STARTED={1 if service.owned else 0}")
        print(f"SERVICE_PID={service.pid or ''}")
    elif fmt == "json":
        print(
            json.dumps(
                {
                    "kind": service.kind,
                    "url": service.url,
                    "port": service.port,
                    "started": service.owned,
                    "pid": service.pid,
                }
            )
        )
    else:
        print(service.url)
    sys.stdout.flush()


def _foreground(service: Service) -> int:
    """Block until SIGINT/SIGTERM, then stop what we started."""
    stop = {"flag": False}

    def handler(signum: int, frame: object) -> None:
        stop["flag"] = True

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    print(f"{service.kind} running at {service.url}; Ctrl-C stops it", file=sys.stderr)
    try:
        while not stop["flag"]:
            if not service.is_running():
                print(f"{service.kind} on port {service.port} went away", file=sys.stderr)
                return 1
            time.sleep(0.5)
    finally:
        service.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="services.py", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)

    def common(p: argparse.ArgumentParser, default_dir: str) -> None:
        p.add_argument("--dir", default=default_dir, help=f"state directory (default {default_dir})")
        p.add_argument(
            "--keep", action="store_true", help="leave the server running and exit (default: stay in the foreground)"
        )
        p.add_argument("--format", choices=("url", "env", "json"), default="url")

    p = sub.add_parser("redis", help="start (or reuse) a Redis and print its URL")
    common(p, "var/redis")
    p.add_argument("--port", type=int, default=None, help="default: a free port")
    p.add_argument(
        "--fallback-free-port",
        action="store_true",
        help="if --port is taken by something that is not Redis, use a free port",
    )

    p = sub.add_parser("stop-redis", help="stop a Redis started with services.py redis")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", default="var/redis")
    p.add_argument("--force", action="store_true", help="stop it even if the pid file differs")

    p = sub.add_parser("postgres", help="start (or reuse) a PostgreSQL and print its URL")
    common(p, "var/pg")
    p.add_argument("--port", type=int, default=None, help="default: a free port")
    p.add_argument(
        "--fast", action="store_true", help="fsync/synchronous_commit/full_page_writes off (throwaway data only)"
    )
    p.add_argument("--database", default=DEFAULT_DB)

    p = sub.add_parser("stop-postgres", help="stop the PostgreSQL whose cluster is in --dir")
    p.add_argument("--dir", default="var/pg")

    sub.add_parser("free-port", help="print a free TCP port on 127.0.0.1")

    args = parser.parse_args(argv)
    try:
        if args.cmd == "free-port":
            print(free_port())
            return 0
        if args.cmd == "redis":
            port = args.port
            if port is not None and port_in_use(port) and not redis_ping(port):
                if not args.fallback_free_port:
                    print(f"port {port} is taken by something that does not answer Redis PING", file=sys.stderr)
                    return 2
                print(f"port {port} is taken by something that is not Redis; using a free port", file=sys.stderr)
                port = None
            service = start_redis(args.dir, port, reuse=True, keep=True)
            verb = "started" if service.owned else "reusing"
            print(f"{verb} redis at {service.url} (dir {args.dir})", file=sys.stderr)
            _emit(service, args.format)
            return 0 if args.keep or not service.owned else _foreground(service)
        if args.cmd == "stop-redis":
            stopped = stop_redis(args.port, args.dir, force=args.force)
            print("stopped" if stopped else f"no redis answering on port {args.port}", file=sys.stderr)
            return 0
        if args.cmd == "postgres":
            service = start_postgres(args.dir, args.port, fast=args.fast, reuse=True, keep=True, database=args.database)
            verb = "started" if service.owned else "reusing"
            print(f"{verb} postgres at {service.url} (dir {args.dir})", file=sys.stderr)
            _emit(service, args.format)
            return 0 if args.keep or not service.owned else _foreground(service)
        if args.cmd == "stop-postgres":
            stopped = stop_postgres(args.dir)
            print("stopped" if stopped else f"no postgres running from {args.dir}", file=sys.stderr)
            return 0
    except ServiceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
