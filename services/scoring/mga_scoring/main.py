"""Scoring service: wiring and entry point."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import structlog
from fastapi import FastAPI

from mga_core.http import create_probe_app
from mga_core.logging import configure_logging
from mga_core.server import serve
from mga_llm import LiteLlmClient, LlmSettings
from mga_messaging.broker import Broker
from mga_messaging.consumer import EventConsumer
from mga_messaging.outbox import OutboxRelay
from mga_messaging.publisher import EventPublisher
from mga_messaging.rpc import RpcServer
from mga_messaging.topology import Consumer, Names
from mga_scoring.consumers import event_handlers
from mga_scoring.service import ScoringService
from mga_scoring.settings import SANDBOX_MODEL, ScoringSettings
from mga_scoring.store import INDEXES, ResultStore
from mga_storage import create_client, ensure_indexes, ping
from mga_storage.inbox import MongoInbox

SERVICE = "scoring"
log = structlog.get_logger()


def _language_model(settings: ScoringSettings) -> LiteLlmClient | None:
    if settings.llm_model == SANDBOX_MODEL:
        return None
    return LiteLlmClient(
        LlmSettings(
            model=settings.llm_model,
            api_base=settings.llm_api_base,
            api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
            timeout_seconds=settings.llm_timeout.total_seconds(),
            max_attempts=settings.llm_max_attempts,
        )
    )


@dataclass
class Runtime:
    """Everything the service runs, so tests can start and stop it in-process."""

    settings: ScoringSettings
    broker: Broker | None = None
    service: ScoringService | None = None
    consumer: EventConsumer | None = None
    command_server: RpcServer | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        settings = self.settings
        self._client = create_client(settings.mongodb_url.get_secret_value(), app_name=SERVICE)
        db = self._client[settings.mongodb_database]
        await ensure_indexes(db, INDEXES)

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

        store = ResultStore(db)
        relay = OutboxRelay(
            store.collection,
            publisher,
            service=SERVICE,
            sweep_interval_seconds=settings.outbox_sweep_interval.total_seconds(),
        )
        self.service = ScoringService(store=store, outbox=relay, model=_language_model(settings))
        self.consumer = EventConsumer(
            self.broker,
            service=SERVICE,
            consumer=Consumer.SCORING,
            handlers=event_handlers(self.service),
            inbox=MongoInbox(db, consumer=Consumer.SCORING.value),
            prefetch=settings.amqp_prefetch,
            retry_delays_seconds=settings.amqp_retry_delays_seconds,
            max_attempts=settings.amqp_max_attempts,
        )
        await self.consumer.start()
        self.tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))
        log.info("service.started", llm_model=settings.llm_model)

    async def stop(self) -> None:
        """Stop consuming, let messages in progress finish, then close connections."""
        if self.command_server is not None:
            await self.command_server.stop()
        if self.consumer is not None:
            await self.consumer.stop()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.broker is not None:
            await self.broker.close()
        await self._client.close()
        log.info("service.stopped")

    async def is_ready(self) -> bool:
        return self.broker is not None and self.broker.is_ready() and await ping(self._client)


def create_app(settings: ScoringSettings) -> FastAPI:
    runtime = Runtime(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = create_probe_app(
        service=SERVICE, checks={"dependencies": runtime.is_ready}, lifespan=lifespan
    )
    app.state.runtime = runtime
    return app


def run() -> None:
    settings = ScoringSettings()
    configure_logging(service=SERVICE, log_format=settings.log_format, level=settings.log_level)
    serve(create_app(settings), host=settings.http_host, port=settings.http_port)
