# Seratus: one image, migrations then the app, as a non-root user.
FROM python:3.11-slim

# MALLOC_ARENA_MAX: two malloc arenas per process keep a threaded worker's memory compact
# (app/cli.py, SERVER_ENVIRONMENT).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    SERATUS_HOST=0.0.0.0 \
    SERATUS_PORT=8000 \
    SERATUS_DATABASE_URL=sqlite:////data/seratus.db \
    SERATUS_DATA_DIR=/data \
    MALLOC_ARENA_MAX=2

WORKDIR /srv/seratus
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY templates ./templates
COPY migrations ./migrations
RUN pip install -e . \
    && useradd --system --uid 10001 --home-dir /srv/seratus seratus \
    && mkdir -p /data && chown seratus /data

USER seratus
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"

# Migrate first (idempotent), then serve; SERATUS_WORKERS sets the number of processes.
CMD ["sh", "-c", "seratus migrate && exec seratus serve"]
