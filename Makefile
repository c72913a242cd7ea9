# Shuyuan: developer entry points.
#   make setup   system packages (apt, only what is missing) + .venv from requirements.lock
#   make run     setup, then scripts/run.sh (Redis, migrations, demo data, worker + web)
#   make test    setup, then the test suite on SQLite and on PostgreSQL (fails if either fails)
#   make lint    ruff (lint + format check), mypy on app/ and tasks/, byte-compile, bash -n
# Every Python command runs with .venv/bin/python and PYTHONPATH = the repository root.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT := $(CURDIR)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
VAR_DIR ?= var
# Interpreter used to create .venv (and `make lock`); Python >= 3.11.
BOOT_PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
PYTEST_ARGS ?=
LOCK_VENV := /tmp/shuyuan-lock-venv

export PYTHONPATH := $(ROOT)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help setup sysdeps venv run test test-sqlite test-postgres bench lint messages clean lock

help:
	@echo "make setup          install missing system packages and the .venv"
	@echo "make run            start Redis (if needed), migrate, load demo data, run worker + web"
	@echo "make test           run the tests on SQLite and on PostgreSQL"
	@echo "make test-sqlite | test-postgres   one database only (PYTEST_ARGS='-k x' to filter)"
	@echo "make bench          run bench/run_all.py"
	@echo "make lint           ruff check + ruff format --check, mypy app tasks, byte-compile, bash -n scripts"
	@echo "make messages       extract messages into locale/ catalogues (scripts/i18n.py)"
	@echo "make lock           regenerate requirements.lock from pyproject.toml"
	@echo "make clean          stop services under $(VAR_DIR)/, remove $(VAR_DIR)/ and test leftovers (keeps .venv)"

setup: sysdeps venv

# Debian packages, installed only when something is missing (no apt at all otherwise).
sysdeps:
	@missing=""; \
	have_pkg() { [ "$$(dpkg-query -W -f='$${db:Status-Status}' "$$1" 2>/dev/null)" = installed ]; }; \
	{ command -v redis-server && command -v redis-cli; } >/dev/null 2>&1 || missing="$$missing redis-server"; \
	if command -v fc-list >/dev/null 2>&1; then \
	  fc-list 2>/dev/null | grep -i "Noto Sans CJK" >/dev/null || missing="$$missing fonts-noto-cjk"; \
	else \
	  have_pkg fonts-noto-cjk || missing="$$missing fonts-noto-cjk"; \
	fi; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	command -v pdftoppm >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	for pkg in libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0; do \
	  have_pkg $$pkg || missing="$$missing $$pkg"; \
	done; \
	{ have_pkg postgresql || ls /usr/lib/postgresql/*/bin/initdb; } >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -z "$$missing" ]; then echo "sysdeps: all system packages present"; exit 0; fi; \
	echo "sysdeps: missing:$$missing"; \
	if ! command -v apt-get >/dev/null 2>&1; then \
	  echo "sysdeps: no apt-get here; install the equivalents of:$$missing"; exit 1; \
	fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; \
	else \
	  echo "sysdeps: not root; please run:"; \
	  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends$$missing"; \
	  exit 1; \
	fi; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing

venv: $(STAMP)

# The stamp is newer than requirements.lock once it is installed: a second run does nothing.
$(STAMP): requirements.lock
	@if [ ! -x $(PY) ] || ! $(PY) -c "" 2>/dev/null; then \
	  test -n "$(BOOT_PYTHON)" || { echo "venv: python3.11 / python3 not found"; exit 1; }; \
	  $(BOOT_PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	    || { echo "venv: $(BOOT_PYTHON) is older than Python 3.11"; exit 1; }; \
	  rm -rf $(VENV); \
	  echo "venv: creating $(VENV) with $(BOOT_PYTHON)"; \
	  $(BOOT_PYTHON) -m venv $(VENV) \
	    || { rm -rf $(VENV); echo "venv: failed (on Debian: apt-get install python3-venv)"; exit 1; }; \
	fi
	@echo "venv: pip install -r requirements.lock"
	$(PY) -m pip install -q -r requirements.lock
	@touch $@

run: setup
	bash scripts/run.sh

test: setup
	@rc=0; \
	echo "== tests on SQLite =="; \
	SHUYUAN_TEST_DB=sqlite $(PY) -m pytest -q tests $(PYTEST_ARGS) || rc=$$?; \
	echo "== tests on PostgreSQL =="; \
	SHUYUAN_TEST_DB=postgres $(PY) -m pytest -q tests $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -ne 0 ]; then echo "make test: FAILED (exit $$rc)"; fi; \
	exit $$rc

test-sqlite: setup
	SHUYUAN_TEST_DB=sqlite $(PY) -m pytest -q tests $(PYTEST_ARGS)

test-postgres: setup
	SHUYUAN_TEST_DB=postgres $(PY) -m pytest -q tests $(PYTEST_ARGS)

bench: setup
	@if [ -f bench/run_all.py ]; then $(PY) bench/run_all.py; else echo "bench: no bench/run_all.py yet"; fi

# Every step runs even when an earlier one fails, so one run lists every problem; the
# target fails if any step failed.  Settings: [tool.ruff] and [tool.mypy] in pyproject.toml.
LINT_PATHS := $(wildcard app tables tasks components scripts bench tests piccolo_conf.py)

lint: venv
	@rc=0; \
	echo "== ruff check =="; $(VENV)/bin/ruff check $(LINT_PATHS) || rc=1; \
	echo "== ruff format --check =="; $(VENV)/bin/ruff format --check $(LINT_PATHS) || rc=1; \
	echo "== mypy app tasks =="; $(PY) -m mypy app tasks || rc=1; \
	echo "== compileall, bash -n =="; \
	$(PY) -m compileall -q $(LINT_PATHS) || rc=1; \
	bash -n scripts/run.sh || rc=1; \
	bash -n .ci/run || rc=1; \
	if [ $$rc -ne 0 ]; then echo "make lint: FAILED"; fi; \
	exit $$rc

messages: venv
	$(PY) scripts/i18n.py

# Regenerate requirements.lock: fresh venv, install pyproject's dependencies + the
# "test" extra, pip freeze (pip/setuptools/wheel left out).
lock:
	rm -rf $(LOCK_VENV)
	$(BOOT_PYTHON) -m venv $(LOCK_VENV)
	$(BOOT_PYTHON) -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; print("\n".join(p["dependencies"] + p["optional-dependencies"]["test"]))' > $(LOCK_VENV)/requirements.in
	$(LOCK_VENV)/bin/python -m pip install -q -r $(LOCK_VENV)/requirements.in
	{ \
	  echo "# requirements.lock: every package, transitive ones included, pinned exactly."; \
	  echo "# Python 3.11 on Linux (Debian 12 / python:3.11-slim-bookworm)."; \
	  echo "# Generated by \`make lock\` from pyproject.toml ([project] dependencies + the"; \
	  echo "# \"test\" extra): a fresh venv in $(LOCK_VENV), pip install, pip freeze"; \
	  echo "# without pip/setuptools/wheel. Do not edit by hand: change pyproject.toml,"; \
	  echo "# run \`make lock\`, commit both files."; \
	  $(LOCK_VENV)/bin/python -m pip freeze --exclude-editable | grep -v -E '^(pip|setuptools|wheel|distribute)=='; \
	} > requirements.lock.tmp
	mv requirements.lock.tmp requirements.lock
	rm -rf $(LOCK_VENV)
	@echo "lock: wrote requirements.lock ($$(grep -vc '^#' requirements.lock) packages)"

# Stops only the servers that scripts/services.py started from $(VAR_DIR)/ (pid-file
# checked), then removes $(VAR_DIR)/ and test/bench leftovers.  .venv stays.
clean:
	@for pidfile in $(VAR_DIR)/redis/redis-*.pid; do \
	  [ -e "$$pidfile" ] || continue; \
	  port=$${pidfile##*/redis-}; port=$${port%.pid}; \
	  $(BOOT_PYTHON) scripts/services.py stop-redis --port "$$port" --dir $(VAR_DIR)/redis || true; \
	done
	@if [ -d $(VAR_DIR)/pg ]; then $(BOOT_PYTHON) scripts/services.py stop-postgres --dir $(VAR_DIR)/pg || true; fi
	rm -rf $(VAR_DIR) .pytest_cache .hypothesis test-results bench/out
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
