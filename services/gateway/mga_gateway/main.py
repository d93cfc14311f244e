"""Gateway: wiring and entry point."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from mga_core.http import RequestContextMiddleware, add_probes
from mga_core.logging import configure_logging
from mga_core.server import serve, serve_workers
from mga_core.timestamps import utc_now
from mga_gateway.api import router
from mga_gateway.routing import Dependencies
from mga_gateway.edge import BodySizeLimitMiddleware, install_error_handlers
from mga_gateway.idempotency import Idempotency
from mga_gateway.ratelimit import RateLimiter
from mga_gateway.service import GatewayService
from mga_gateway.settings import GatewaySettings
from mga_gateway.store import INDEXES, GatewayStore
from mga_gateway.webhooks_api import router as webhooks_router
from mga_gateway.webhooks_service import WebhooksService
from mga_gateway.webhooks_store import WebhooksStore
from mga_messaging.broker import Broker
from mga_messaging.rpc import RpcClient
from mga_messaging.topology import Names
from mga_storage import create_client, ensure_indexes, ping

SERVICE = "gateway"
# How often expired idempotency records and rate-limit windows are deleted.
_PURGE_INTERVAL_SECONDS = 60
log = structlog.get_logger()

API_DESCRIPTION = """\
Send simulated-interview invitations by email and read the score, the behavioural
assessment, the panel's remarks and the transcript.

Authenticate with `Authorization: Bearer mga_live_...` or `mga_test_...`. Test keys use a
deterministic sandbox that sends no email and never touches the minute balance. Every error
is `{"error": {"code", "message", "param", "requestId"}}`; branch on `code`.
"""


async def _purge_forever(store: GatewayStore, settings: GatewaySettings) -> None:
    while True:
        await asyncio.sleep(_PURGE_INTERVAL_SECONDS)
        try:
            now = utc_now()
            await store.purge_idempotency_keys(now - settings.idempotency_ttl)
            await store.purge_rate_limit_windows(now - settings.rate_limit_window)
        except Exception as exc:  # keep purging through database outages
            log.warning("purge.failed", error=repr(exc))


def create_app(settings: GatewaySettings) -> FastAPI:
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = create_client(settings.mongodb_url.get_secret_value(), app_name=SERVICE)
        db = client[settings.mongodb_database]
        await ensure_indexes(db, INDEXES)
        broker = Broker(
            url=settings.amqp_url.get_secret_value(),
            names=Names(settings.amqp_prefix),
            retry_delays_seconds=settings.amqp_retry_delays_seconds,
            connection_name=f"{SERVICE}:{settings.amqp_prefix}",
        )
        await broker.connect()
        commands = RpcClient(broker, timeout_seconds=settings.command_timeout.total_seconds())
        await commands.start()

        store = GatewayStore(db)
        app.state.deps = Dependencies(
            store=store,
            service=GatewayService(
                store=store,
                commands=commands,
                default_expiry=settings.default_expiry,
                max_expiry=settings.max_expiry,
            ),
            rate_limiter=RateLimiter(
                store, limit=settings.rate_limit_requests, window=settings.rate_limit_window
            ),
            idempotency=Idempotency(
                store,
                ttl=settings.idempotency_ttl,
                lock=settings.idempotency_lock,
                wait=settings.idempotency_wait,
            ),
            webhooks=WebhooksService(store=WebhooksStore(db), commands=commands),
        )
        state.update(client=client, broker=broker)
        purge = asyncio.create_task(_purge_forever(store, settings), name="purge")
        log.info("service.started")
        try:
            yield
        finally:
            purge.cancel()
            with suppress(asyncio.CancelledError):
                await purge
            await broker.close()
            await client.close()
            log.info("service.stopped")

    async def is_ready() -> bool:
        if "broker" not in state:
            return False
        return bool(state["broker"].is_ready()) and await ping(state["client"])

    app = FastAPI(
        title="MeetAndGreet API",
        version="1.0.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.include_router(router)
    app.include_router(webhooks_router)
    install_error_handlers(app)
    add_probes(app, {"dependencies": is_ready})
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, service=SERVICE)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        servers=[{"url": "https://api.meetandgreet.ai"}],
    )
    schema.setdefault("components", {})["securitySchemes"] = {
        "bearerAuth": {"type": "http", "scheme": "bearer", "description": "mga_live_... or mga_test_..."}
    }
    schema["security"] = [{"bearerAuth": []}]
    app.openapi_schema = schema
    return schema


def create_app_from_environment() -> FastAPI:
    """Build the app from environment settings, in each worker process."""
    settings = GatewaySettings()
    configure_logging(service=SERVICE, log_format=settings.log_format, level=settings.log_level)
    return create_app(settings)


def run() -> None:
    settings = GatewaySettings()
    configure_logging(service=SERVICE, log_format=settings.log_format, level=settings.log_level)
    if settings.http_workers > 1:
        serve_workers(
            "mga_gateway.main:create_app_from_environment",
            host=settings.http_host,
            port=settings.http_port,
            workers=settings.http_workers,
        )
        return
    serve(create_app(settings), host=settings.http_host, port=settings.http_port)
