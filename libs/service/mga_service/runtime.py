"""The process around a service's domain logic, started and stopped in order.

A service's ``main.py`` opens a ``ServiceRuntime``, builds its domain objects on the database
it returns, then registers what runs: outbox relays, event consumers, command servers and
periodic jobs. On shutdown the runtime first stops taking messages and lets those in
progress finish, then cancels background jobs and closes the broker and database
connections last, so nothing in flight loses its connection midway.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import structlog
from fastapi import FastAPI
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from mga_core.http import create_probe_app
from mga_core.locks import KeyedLocks
from mga_core.settings import ServiceSettings
from mga_events.commands import CommandName
from mga_events.types import EventType
from mga_messaging.broker import Broker
from mga_messaging.consumer import EventConsumer, EventHandler
from mga_messaging.outbox import OutboxRelay
from mga_messaging.publisher import EventPublisher
from mga_messaging.rpc import CommandHandler, RpcServer
from mga_messaging.topology import Consumer, Names
from mga_storage import Document, IndexSpec, create_client, ensure_indexes, ping
from mga_storage.inbox import MongoInbox

log = structlog.get_logger()


class ServiceRuntime:
    """Connections, consumers and background jobs of one service process."""

    def __init__(self, *, service: str, settings: ServiceSettings) -> None:
        self.name = service
        self.settings = settings
        # The service's main domain object, for tests that call it directly.
        self.service: Any = None
        self._client: AsyncMongoClient[Document] | None = None
        self._db: AsyncDatabase[Document] | None = None
        self._broker: Broker | None = None
        self._publisher: EventPublisher | None = None
        self._consumers: list[EventConsumer] = []
        self._command_servers: list[RpcServer] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._stop_callbacks: list[Callable[[], Awaitable[object]]] = []

    @property
    def broker(self) -> Broker:
        if self._broker is None:
            raise RuntimeError("ServiceRuntime.open() must run first")
        return self._broker

    @property
    def publisher(self) -> EventPublisher:
        if self._publisher is None:
            raise RuntimeError("ServiceRuntime.open() must run first")
        return self._publisher

    async def open(self, indexes: Sequence[IndexSpec]) -> AsyncDatabase[Document]:
        """Connect to MongoDB (creating ``indexes``) and RabbitMQ; return the database."""
        settings = self.settings
        self._client = create_client(settings.mongodb_url.get_secret_value(), app_name=self.name)
        self._db = self._client[settings.mongodb_database]
        await ensure_indexes(self._db, indexes)

        self._broker = Broker(
            url=settings.amqp_url.get_secret_value(),
            names=Names(settings.amqp_prefix),
            retry_delays_seconds=settings.amqp_retry_delays_seconds,
            connection_name=f"{self.name}:{settings.amqp_prefix}",
        )
        await self._broker.connect()
        self._publisher = EventPublisher(
            self._broker, service=self.name, confirm_timeout=settings.amqp_confirm_timeout_seconds
        )
        await self._publisher.start()
        return self._db

    def relay(
        self,
        collection: AsyncCollection[Document],
        *,
        interval: timedelta,
        locks: KeyedLocks | None = None,
    ) -> OutboxRelay:
        """Create the outbox relay of ``collection`` and sweep it in the background."""
        relay = OutboxRelay(
            collection,
            self.publisher,
            service=self.name,
            sweep_interval_seconds=interval.total_seconds(),
            locks=locks,
        )
        self._tasks.append(asyncio.create_task(relay.run(), name=f"outbox-{collection.name}"))
        return relay

    async def consume(
        self, consumer: Consumer, handlers: Mapping[EventType, EventHandler]
    ) -> EventConsumer:
        """Start consuming ``consumer``'s event queue with the platform's consumer policy."""
        if self._db is None:
            raise RuntimeError("ServiceRuntime.open() must run first")
        settings = self.settings
        event_consumer = EventConsumer(
            self.broker,
            service=self.name,
            consumer=consumer,
            handlers=handlers,
            inbox=MongoInbox(self._db, consumer=consumer.value),
            prefetch=settings.amqp_prefetch,
            retry_delays_seconds=settings.amqp_retry_delays_seconds,
            max_attempts=settings.amqp_max_attempts,
        )
        await event_consumer.start()
        self._consumers.append(event_consumer)
        return event_consumer

    async def serve_commands(
        self, owner: Consumer, handlers: Mapping[CommandName, CommandHandler]
    ) -> RpcServer:
        """Start handling the commands routed to ``owner`` and replying to their callers."""
        server = RpcServer(
            self.broker,
            owner=owner,
            handlers=handlers,
            prefetch=self.settings.amqp_prefetch,
            service=self.name,
        )
        await server.start()
        self._command_servers.append(server)
        return server

    def every(self, interval: timedelta, job: Callable[[], Awaitable[object]], *, name: str) -> None:
        """Run ``job`` now and then every ``interval``; a failing run is logged, not fatal."""

        async def repeat() -> None:
            while True:
                try:
                    await job()
                except Exception as exc:  # keep the job running through database or broker outages
                    log.warning("background_job.failed", job=name, error=repr(exc))
                await asyncio.sleep(interval.total_seconds())

        self._tasks.append(asyncio.create_task(repeat(), name=name))

    def background(self, job: Callable[[], Awaitable[None]], *, name: str) -> None:
        """Run ``job`` (a loop that runs until cancelled) in the background."""
        self._tasks.append(asyncio.create_task(job(), name=name))

    def on_stop(self, callback: Callable[[], Awaitable[object]]) -> None:
        """Run ``callback`` on stop, after background jobs end and before connections close."""
        self._stop_callbacks.append(callback)

    async def stop(self) -> None:
        """Stop taking messages, let those in progress finish, then close connections."""
        for server in self._command_servers:
            await server.stop()
        for consumer in self._consumers:
            await consumer.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for callback in self._stop_callbacks:
            await callback()
        if self._broker is not None:
            await self._broker.close()
        if self._client is not None:
            await self._client.close()
        log.info("service.stopped")

    async def database_ready(self) -> bool:
        return self._client is not None and await ping(self._client)

    async def broker_ready(self) -> bool:
        return self._broker is not None and self._broker.is_ready()


def create_service_app(
    *, service: str, start: Callable[[], Awaitable[ServiceRuntime]]
) -> FastAPI:
    """Build the probe app of a service whose lifespan runs ``start`` and stops what it made.

    ``app.state.runtime`` is set to the runtime once the app has started.
    """
    runtime_holder: dict[str, ServiceRuntime] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await start()
        runtime_holder["runtime"] = runtime
        app.state.runtime = runtime
        log.info("service.started")
        try:
            yield
        finally:
            await runtime.stop()

    async def database_ready() -> bool:
        runtime = runtime_holder.get("runtime")
        return runtime is not None and await runtime.database_ready()

    async def broker_ready() -> bool:
        runtime = runtime_holder.get("runtime")
        return runtime is not None and await runtime.broker_ready()

    return create_probe_app(
        service=service,
        checks={"database": database_ready, "broker": broker_ready},
        lifespan=lifespan,
    )
