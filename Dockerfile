# syntax=docker/dockerfile:1
#
# backrest-queue: one image for every process kind. The command picks the kind:
#
#   api         gunicorn 'app:create_app()'                (the default CMD below)
#   worker      celery -A tasks.worker worker -Q brq
#   beat        celery -A tasks.beat beat
#   watcher     python -m tasks.watcher
#   job-runner  job-runner  (= python -m tasks.jobrunner, what backup Jobs run; see tasks/topology.py)
#
# Neither pgBackRest nor a PostgreSQL client is installed: the service never runs them itself. Workers and
# job-runners exec `pgbackrest …`/`psql` inside the cluster's own pods through the Kubernetes API
# (tasks/kube/execing.py, tasks/kube/lite.py); those pods run the images named in pgo.yaml's `Images`.
#
# No configuration is baked in: mount a conf directory (pgo.yaml, aws-s3-ca.crt, optionally
# aws-s3-credentials.yaml) at /etc/backrest-queue, or point BRQ_CONF_DIR elsewhere; secrets come from the
# environment (BRQ_S3_KEY, BRQ_S3_KEY_SECRET, BRQ_REDIS_URL) or mounted files (BRQ_TOKENS_FILE). See k8s/README.md.
#
# Base image: pinned by tag. To pin by digest as well (recommended for production builds), resolve it where a
# registry is reachable — `docker buildx imagetools inspect python:3.11.14-slim-bookworm` — and write
# `FROM python:3.11.14-slim-bookworm@sha256:<digest>` in both stages. (The machines this project is built on
# reach no container registry, so no digest is written here that could not be checked.)

# ---- build: wheels for the package and its pinned dependencies, then a virtualenv from those wheels only ----
FROM python:3.11.14-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

# Compilers, for a dependency without a wheel for the target platform (on linux/amd64 every locked one has a
# wheel today, so this is a fallback). This stage is discarded: none of it reaches the image.
# DL3008 (pin apt versions) is ignored: Debian replaces a version at each point release, so pins would break the
# build at the next security update; the base image's tag fixes the Debian release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev libffi-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY requirements.lock setup.cfg pyproject.toml README.md ./
COPY app ./app
COPY tasks ./tasks
COPY cli ./cli

# requirements.lock, as constraints, pins versions without installing anything: what is built and installed is
# the package and its own requirements (setup.cfg install_requires), not the test tools the lock also lists.
# PIP_CONSTRAINT reaches pip's isolated build environment too, so setuptools and wheel are the locked ones.
RUN PIP_CONSTRAINT=/src/requirements.lock pip wheel --wheel-dir /wheels . \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-index --find-links=/wheels backrest-queue==0.1.0

# ---- the image: Python, the virtualenv, a non-root user; no compilers, no package manager caches ----------
FROM python:3.11.14-slim-bookworm

LABEL org.opencontainers.image.title="backrest-queue" \
      org.opencontainers.image.description="pgBackRest backups and restores for PostgreSQL on Kubernetes" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0"

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    BRQ_CONF_DIR=/etc/backrest-queue

# A fixed uid/gid (10001), so Kubernetes' runAsNonRoot can check it and volumes can be given to it (fsGroup).
RUN groupadd --system --gid 10001 brq \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin brq \
    && mkdir -p /etc/backrest-queue

COPY --from=builder /opt/venv /opt/venv

WORKDIR /tmp
USER 10001:10001
EXPOSE 8080

# The API's liveness (/healthz: the process answers; no token). Containers of the other kinds override it
# (docker-compose.yml runs `python -m tasks.health worker|watcher|beat` instead); Kubernetes ignores it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]

CMD ["gunicorn", "--bind=0.0.0.0:8080", "--workers=2", "--worker-class=gthread", "--threads=4", \
     "--timeout=60", "--graceful-timeout=20", "app:create_app()"]
