"""Simulation service: wiring and entry point."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.staticfiles import StaticFiles
from pymongo import AsyncMongoClient
from starlette.exceptions import HTTPException as StarletteHTTPException

from mga_core.http import create_probe_app
from mga_core.locks import KeyedLocks
from mga_core.logging import configure_logging
from mga_core.server import serve
from mga_llm import LiteLlmClient, LlmSettings
from mga_messaging.broker import Broker
from mga_messaging.consumer import EventConsumer
from mga_messaging.outbox import OutboxRelay
from mga_messaging.publisher import EventPublisher
from mga_messaging.topology import Consumer, Names
from mga_simulation import pages, store
from mga_simulation.api import router
from mga_simulation.consumers import event_handlers
from mga_simulation.headers import STATIC_PREFIX, SecurityHeadersMiddleware
from mga_simulation.panel import LlmPanelWriter, SandboxPanelWriter
from mga_simulation.questions import LlmQuestionWriter, SandboxQuestionWriter
from mga_simulation.service import Engines, InterviewService
from mga_simulation.settings import SANDBOX_MODEL, SimulationSettings
from mga_storage import Document, create_client, ensure_indexes, ping
from mga_storage.inbox import MongoInbox

SERVICE = "simulation"
STATIC_DIRECTORY = Path(__file__).parent / "static"
log = structlog.get_logger()


def live_engines(settings: SimulationSettings) -> Engines | None:
    """Return the model-backed engines, or None when every interview runs on the sandbox."""
    if settings.llm_model == SANDBOX_MODEL:
        return None
    model = LiteLlmClient(
        LlmSettings(
            model=settings.llm_model,
            api_base=settings.llm_api_base,
            api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
            timeout_seconds=settings.llm_timeout.total_seconds(),
            max_attempts=settings.llm_max_attempts,
        )
    )
    return Engines(
        panel=LlmPanelWriter(model, settings.panel_size), questions=LlmQuestionWriter(model)
    )


@dataclass
class Runtime:
    """Everything the service runs, so tests can start and stop it in-process."""

    settings: SimulationSettings
    broker: Broker | None = None
    service: InterviewService | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _client: AsyncMongoClient[Document] | None = None

    async def start(self) -> None:
        settings = self.settings
        client = create_client(settings.mongodb_url.get_secret_value(), app_name=SERVICE)
        self._client = client
        db = client[settings.mongodb_database]
        await ensure_indexes(db, [store.INDEXES])

        self.broker = Broker(
            url=settings.amqp_url.get_secret_value(),
            names=Names(settings.amqp_prefix),
            retry_delays_seconds=settings.amqp_retry_delays_seconds,
            connection_name=f"{SERVICE}:{settings.amqp_prefix}",
        )
        await self.broker.connect()
        publisher = EventPublisher(
            self.broker, service=SERVICE, confirm_timeout=settings.amqp_confirm_timeout_seconds
        )
        await publisher.start()

        locks = KeyedLocks()
        sessions = store.SessionStore(db, locks)
        relay = OutboxRelay(
            sessions.collection,
            publisher,
            service=SERVICE,
            sweep_interval_seconds=settings.outbox_sweep_interval.total_seconds(),
            locks=locks,
        )
        self.service = InterviewService(
            store=sessions,
            outbox=relay,
            sandbox=Engines(
                panel=SandboxPanelWriter(settings.panel_size), questions=SandboxQuestionWriter()
            ),
            live=live_engines(settings),
            deadline_grace=settings.deadline_grace,
            public_base_url=settings.public_base_url,
        )

        await EventConsumer(
            self.broker,
            service=SERVICE,
            consumer=Consumer.SIMULATION,
            handlers=event_handlers(self.service),
            inbox=MongoInbox(db, consumer=Consumer.SIMULATION.value),
            prefetch=settings.amqp_prefetch,
            retry_delays_seconds=settings.amqp_retry_delays_seconds,
            max_attempts=settings.amqp_max_attempts,
        ).start()

        self.tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))
        self.tasks.append(asyncio.create_task(self._sweep_forever(), name="deadline-sweep"))
        log.info("service.started", llm_model=settings.llm_model)

    async def _sweep_forever(self) -> None:
        assert self.service is not None
        interval = self.settings.session_sweep_interval.total_seconds()
        while True:
            try:
                finished = await self.service.finish_overdue()
                if finished:
                    log.info("interview.overdue_swept", finished=finished)
            except Exception as exc:  # keep sweeping through database or broker outages
                log.warning("interview.sweep_failed", error=repr(exc))
            await asyncio.sleep(interval)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.broker is not None:
            await self.broker.close()
        if self._client is not None:
            await self._client.close()
        log.info("service.stopped")

    async def database_ready(self) -> bool:
        return self._client is not None and await ping(self._client)

    async def broker_ready(self) -> bool:
        return self.broker is not None and self.broker.is_ready()

    async def is_ready(self) -> bool:
        return await self.broker_ready() and await self.database_ready()


async def _not_found_page(request: Request, exc: Exception) -> Response:
    """Render the bilingual not-found page for unknown paths; other HTTP errors stay as usual."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return pages.not_found()
    return await http_exception_handler(request, exc)


def create_app(settings: SimulationSettings) -> FastAPI:
    runtime = Runtime(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = create_probe_app(
        service=SERVICE,
        checks={"database": runtime.database_ready, "broker": runtime.broker_ready},
        lifespan=lifespan,
    )
    app.include_router(router)
    app.mount(STATIC_PREFIX.rstrip("/"), StaticFiles(directory=STATIC_DIRECTORY), name="static")
    app.add_exception_handler(StarletteHTTPException, _not_found_page)
    app.add_middleware(SecurityHeadersMiddleware)
    app.state.runtime = runtime
    return app


def run() -> None:
    settings = SimulationSettings()
    configure_logging(service=SERVICE, log_format=settings.log_format, level=settings.log_level)
    serve(create_app(settings), host=settings.http_host, port=settings.http_port)
