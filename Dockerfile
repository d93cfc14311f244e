# syntax=docker/dockerfile:1
# One image for all services and the operator CLI; the command selects what runs:
#   docker build -t mga-platform .
#   docker run --rm -p 127.0.0.1:8080:8080 mga-platform mga-gateway
#   docker run --rm mga-platform mga-admin --help
# Configuration comes from MGA_* environment variables (see docker-compose.yml and
# deploy/k8s/base/config.env). Every service listens on MGA_HTTP_PORT, 8080 in the image.

FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

FROM python:3.11-slim AS build
COPY --from=uv /uv /usr/local/bin/uv
# Compile bytecode at build time for faster starts. Copy files instead of hard-linking them from
# the cache mount, which is another file system. Use the image's Python, never a downloaded one.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never
WORKDIR /app

# Third-party dependencies get their own layer, so a code change does not reinstall them.
# With --frozen, uv installs from uv.lock alone and does not need the members' sources.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --all-packages --no-dev --no-install-workspace --no-editable

COPY pyproject.toml uv.lock ./
COPY libs ./libs
COPY services ./services
COPY tools ./tools
# Workspace members are installed as regular packages, not editable ones, so the final stage
# needs only the virtual environment and none of the sources.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --all-packages --no-dev --no-editable

FROM python:3.11-slim
LABEL org.opencontainers.image.title="mga-platform" \
      org.opencontainers.image.description="MeetAndGreet services and the mga-admin operator CLI"
RUN groupadd --system --gid 10001 mga \
    && useradd --system --uid 10001 --gid mga --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin mga
# The virtual environment's scripts refer to /app/.venv/bin/python, so it keeps that path.
COPY --from=build /app/.venv /app/.venv
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    LITELLM_LOCAL_MODEL_COST_MAP=True \
    MGA_HTTP_HOST=0.0.0.0 \
    MGA_HTTP_PORT=8080
WORKDIR /app
# A numeric user, so that Kubernetes can check runAsNonRoot without reading /etc/passwd.
USER 10001:10001
EXPOSE 8080
# For `docker run`; docker-compose.yml and Kubernetes define their own probes. The image has
# no curl, so Python sends the request; urlopen raises on a 4xx or 5xx status.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=6 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('MGA_HTTP_PORT', '8080')}/readyz\", timeout=3)"]
CMD ["mga-gateway"]
