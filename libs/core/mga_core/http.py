"""The HTTP edge every service shares: request ids, access logs, metrics and probes.

Each service, worker or API, serves ``/healthz`` (the process is alive), ``/readyz`` (its
dependencies answer, so it can take work) and ``/metrics`` (Prometheus text format).
"""

import time
from collections.abc import Awaitable, Callable, Mapping

import structlog
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mga_core.ids import IdPrefix, new_id
from mga_core.metrics import HTTP_REQUEST_DURATION, HTTP_REQUESTS

REQUEST_ID_HEADER = "X-Request-Id"
CORRELATION_ID_HEADER = "X-Correlation-Id"
_PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# Caller-supplied correlation ids are kept only when they are short and plain.
_MAX_CORRELATION_ID_LENGTH = 128

ReadinessCheck = Callable[[], Awaitable[bool]]

log = structlog.get_logger()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def _clean_correlation_id(value: str | None) -> str | None:
    if not value or len(value) > _MAX_CORRELATION_ID_LENGTH:
        return None
    if not all(ch.isalnum() or ch in "-_.:" for ch in value):
        return None
    return value


class RequestContextMiddleware:
    """Give every request an id, bind log context, write the access log and metrics."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = new_id(IdPrefix.REQUEST)
        correlation_id = (
            _clean_correlation_id(_header(scope, b"x-correlation-id")) or request_id
        )
        scope.setdefault("state", {})
        scope["state"]["request_id"] = request_id
        scope["state"]["correlation_id"] = correlation_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            service=self.service, request_id=request_id, correlation_id=correlation_id
        )

        status_code = 500
        started = time.perf_counter()

        async def send_with_ids(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.lower().encode(), request_id.encode()))
                headers.append(
                    (CORRELATION_ID_HEADER.lower().encode(), correlation_id.encode())
                )
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_ids)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            if scope["path"] not in _PROBE_PATHS:
                HTTP_REQUESTS.labels(self.service, route, method, str(status_code)).inc()
                HTTP_REQUEST_DURATION.labels(self.service, route, method).observe(elapsed)
                log.info(
                    "http.request_handled",
                    method=method,
                    route=route,
                    status=status_code,
                    duration_ms=round(elapsed * 1000, 1),
                )
            structlog.contextvars.clear_contextvars()


def render_metrics() -> bytes:
    """Render this process's metrics, or all workers' when several share a multiprocess folder.

    With ``PROMETHEUS_MULTIPROC_DIR`` set (``mga_core.server.serve`` sets it for more than
    one worker), every worker writes its samples there and any worker can serve the sum.
    """
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return generate_latest()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def add_probes(app: FastAPI, checks: Mapping[str, ReadinessCheck]) -> None:
    """Serve ``/healthz``, ``/readyz`` and ``/metrics`` on ``app``."""

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        results: dict[str, bool] = {}
        for name, check in checks.items():
            try:
                results[name] = await check()
            except Exception as exc:  # a probe reports failure, it never raises
                log.warning("readiness_check.failed", check=name, error=repr(exc))
                results[name] = False
        ready = all(results.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": results},
            status_code=200 if ready else 503,
        )

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(render_metrics(), media_type=CONTENT_TYPE_LATEST)


def create_probe_app(
    *, service: str, checks: Mapping[str, ReadinessCheck], lifespan: object = None
) -> FastAPI:
    """Build the small HTTP app of a worker service: probes and metrics only."""
    app = FastAPI(title=f"mga {service}", docs_url=None, redoc_url=None, lifespan=lifespan)  # type: ignore[arg-type]
    app.add_middleware(RequestContextMiddleware, service=service)
    add_probes(app, checks)
    return app
