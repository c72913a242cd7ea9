#!/usr/bin/env bash
# What `make run` executes after `make setup`:
#   1. Redis: if REDIS_URL is unset, a local redis-server under var/redis on port 6379
#      (reused if one already answers PING there; if 6379 is taken by something else,
#      a free port is used and REDIS_URL exported accordingly);
#   2. python -m app migrate, python -m app seed-demo (both idempotent);
#   3. the arq worker and the web server (uvicorn, PORT default 8000) together.
# Ctrl-C (or SIGTERM) stops both children, and the Redis only if this script started it.
# Running it again reuses everything (var/, the database, a running Redis).
#
# Environment: REDIS_URL, DATABASE_URL, SHUYUAN_VAR_DIR (default ./var), PORT, HOST
# (default 127.0.0.1), PYTHON (default .venv/bin/python).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
PY=${PYTHON:-$ROOT/.venv/bin/python}
if [[ ! -x "$PY" ]]; then
    echo "run.sh: $PY not found; run \`make setup\` first" >&2
    exit 1
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export SHUYUAN_VAR_DIR="${SHUYUAN_VAR_DIR:-$ROOT/var}"
export PYTHONUNBUFFERED=1
HOST=${HOST:-127.0.0.1}
mkdir -p "$SHUYUAN_VAR_DIR"

redis_dir="$SHUYUAN_VAR_DIR/redis"
redis_port=""
started_redis=0
worker_pid=""
web_pid=""

alive() { # any of the given pids still running?
    local pid
    for pid in "$@"; do
        [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && return 0
    done
    return 1
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    if alive $web_pid $worker_pid; then
        echo "run.sh: stopping web server and worker…" >&2
        # After Ctrl-C the terminal already sent them SIGINT: give them a moment, then TERM.
        for _ in $(seq 10); do alive $web_pid $worker_pid || break; sleep 0.1; done
        for pid in $web_pid $worker_pid; do kill -TERM "$pid" 2>/dev/null; done
        for _ in $(seq 150); do alive $web_pid $worker_pid || break; sleep 0.1; done
        for pid in $web_pid $worker_pid; do kill -KILL "$pid" 2>/dev/null; done
    fi
    wait 2>/dev/null
    if [[ "$started_redis" == 1 ]]; then
        echo "run.sh: stopping the Redis it started (port $redis_port)" >&2
        "$PY" scripts/services.py stop-redis --port "$redis_port" --dir "$redis_dir" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_in_use() {
    "$PY" -c 'import sys; from scripts.services import port_in_use; sys.exit(0 if port_in_use(int(sys.argv[1])) else 1)' "$1"
}

# --- 1. Redis ---------------------------------------------------------------------
if [[ -z "${REDIS_URL:-}" ]]; then
    service_env=$("$PY" scripts/services.py redis --dir "$redis_dir" --port 6379 \
        --keep --fallback-free-port --format env)
    eval "$service_env"
    redis_port=$SERVICE_PORT
    started_redis=$SERVICE_STARTED
    export REDIS_URL=$SERVICE_URL
fi

# --- 2. database --------------------------------------------------------------------
echo "==> python -m app migrate"
"$PY" -m app migrate
echo "==> python -m app seed-demo"
"$PY" -m app seed-demo

# --- 3. worker + web ----------------------------------------------------------------
if [[ -n "${PORT:-}" ]]; then
    if port_in_use "$PORT"; then
        echo "run.sh: port $PORT is already in use (another \`make run\`?); choose another PORT=" >&2
        exit 1
    fi
else
    PORT=8000
    if port_in_use "$PORT"; then
        PORT=$("$PY" scripts/services.py free-port)
        echo "run.sh: port 8000 is busy; using $PORT instead" >&2
    fi
fi
export PORT

echo "==> arq worker (tasks.worker.WorkerSettings)"
"$PY" -m arq tasks.worker.WorkerSettings &
worker_pid=$!
echo "==> web server on $HOST:$PORT"
"$PY" -m uvicorn app.asgi:app --host "$HOST" --port "$PORT" &
web_pid=$!

url_host=$HOST
[[ "$url_host" == 0.0.0.0 ]] && url_host=127.0.0.1
for _ in $(seq 300); do
    port_in_use "$PORT" && break
    alive $web_pid || break
    sleep 0.2
done
if alive $web_pid && port_in_use "$PORT"; then
    cat <<EOF

  Shuyuan is running at http://$url_host:$PORT/
  log in as admin / admin12345 (demo data)
  Redis: $REDIS_URL   database: ${DATABASE_URL:-sqlite:///$SHUYUAN_VAR_DIR/shuyuan.sqlite3}
  Ctrl-C stops the web server and the worker.

EOF
fi

# Run until either child exits (or Ctrl-C); the EXIT trap stops the other one.
rc=0
wait -n $worker_pid $web_pid || rc=$?
if ! alive $web_pid; then
    echo "run.sh: the web server exited (status $rc)" >&2
else
    echo "run.sh: the worker exited (status $rc)" >&2
fi
exit "$rc"
