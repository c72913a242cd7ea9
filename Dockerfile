# syntax=docker/dockerfile:1
# Shuyuan: one image for the web server (default CMD) and the arq worker
# (command: python -m arq tasks.worker.WorkerSettings).  See docs/DEPLOY.md.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/srv/shuyuan \
    SHUYUAN_VAR_DIR=/var/lib/shuyuan \
    PORT=8000

# WeasyPrint needs Pango/HarfBuzz; fonts-noto-cjk renders Chinese in PDFs; fontconfig
# builds the font cache once here instead of in every process.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig \
 && rm -rf /var/lib/apt/lists/* \
 && fc-cache -f

WORKDIR /srv/shuyuan

# Dependencies first: this layer is rebuilt only when requirements.lock changes.
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY piccolo_conf.py ./
COPY app/ app/
COPY components/ components/
COPY tables/ tables/
COPY tasks/ tasks/
COPY static/ static/
COPY locale/ locale/
COPY scripts/ scripts/

RUN useradd --system --uid 10001 --user-group --home-dir /srv/shuyuan --shell /usr/sbin/nologin shuyuan \
 && mkdir -p /var/lib/shuyuan \
 && chown shuyuan:shuyuan /var/lib/shuyuan \
 && python -m compileall -q app components tables tasks scripts piccolo_conf.py

USER shuyuan
VOLUME ["/var/lib/shuyuan"]
EXPOSE 8000

# Migrations are idempotent; set SHUYUAN_MIGRATE_ON_START=0 when several web replicas
# start at once and run `python -m app migrate` as a separate step instead.
# uvicorn also reads WEB_CONCURRENCY (worker processes) and FORWARDED_ALLOW_IPS.
CMD ["sh", "-c", "if [ \"${SHUYUAN_MIGRATE_ON_START:-1}\" = 1 ]; then python -m app migrate || exit 1; fi; exec python -m uvicorn app.asgi:app --host 0.0.0.0 --port \"${PORT:-8000}\" --proxy-headers"]
