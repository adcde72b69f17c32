# syntax=docker/dockerfile:1
# The leadflow worker image. Built by `docker compose build worker` (docker-compose.yml); runs
# `python worker.py` as an unprivileged user, with its data under /data (a volume).

# One pin for both stages; tests/test_deploy.py checks it is an exact version.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

# ---- build: install the project and its dependencies into a virtualenv ---------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# README.md and starter.py are optional here (globs), so the image builds at every stage of the repo.
COPY pyproject.toml README.m[d] ./
COPY domain/ domain/
COPY workflows/ workflows/
COPY activities/ activities/
COPY leadclient/ leadclient/
COPY reporting/ reporting/
COPY demo/ demo/
COPY worker.py starter.p[y] ./
RUN --mount=type=cache,target=/root/.cache/pip pip install .

# ---- runtime -------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    LEADFLOW_DATA_DIR=/data
# The data directory belongs to the worker's user; a new named volume mounted there inherits that.
RUN groupadd --system --gid 10001 leadflow \
    && useradd --system --uid 10001 --gid leadflow --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin leadflow \
    && mkdir -p /data \
    && chown leadflow:leadflow /data
COPY --from=build /opt/venv /opt/venv
# Code and rules stay owned by root: the worker can read them, not change them. The packages come
# from the virtualenv; the scripts are here so that `python worker.py` / `python starter.py` work
# from the working directory, where the default rules path (rules/default.yaml) also resolves.
WORKDIR /app
COPY worker.py starter.p[y] ./
COPY rules/ rules/
USER leadflow
CMD ["python", "worker.py"]
