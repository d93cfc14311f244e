# syntax=docker/dockerfile:1
# One image for all services and the operator CLI; the command selects what runs:
#   docker build -t mga-platform .
#   docker run --rm -p 127.0.0.1:8080:8080 mga-platform mga-gateway
#   docker run --rm mga-platform mga-admin --help
# Configuration comes from MGA_* environment variables (see docker-compose.yml).

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
USER mga
EXPOSE 8080
CMD ["mga-gateway"]
