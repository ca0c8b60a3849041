# Pressroom image: one image for every role (API node, worker, migrations); the command picks the role.
#   docker build -t pressroom .
#   docker run pressroom pressroom serve --host 0.0.0.0 --no-worker   # an API node
#   docker run pressroom pressroom worker --concurrency 2              # a Celery worker
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PRESSROOM_DATA_DIR=/var/lib/pressroom \
    PRESSROOM_RENDER__CHROMIUM_PATH=/usr/bin/chromium-headless-shell

# The same system packages as `make install` (scripts/install.sh): the OS Chromium (and its headless-only
# build, which renders; the full browser is the fallback), PDF tools, fonts,
# and Pango/HarfBuzz for WeasyPrint.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      chromium chromium-headless-shell qpdf poppler-utils fonts-dejavu-core fonts-liberation2 fonts-noto-core fonts-inter \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 tini \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Dependencies first (pinned by requirements.lock), so that code changes do not reinstall them.
COPY requirements.lock pyproject.toml README.md ./
RUN pip install -r requirements.lock
COPY src ./src
RUN pip install --no-deps . \
 && useradd --system --home-dir /var/lib/pressroom --create-home pressroom

USER pressroom
EXPOSE 8000
# tini reaps Chromium's and the pool's child processes and forwards SIGTERM (warm shutdown).
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["pressroom", "serve", "--host", "0.0.0.0", "--port", "8000"]
