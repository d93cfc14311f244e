"""Invitation service: wiring and entry point."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import structlog
from fastapi import FastAPI

from mga_core.http import create_probe_app
from mga_core.locks import KeyedLocks
from mga_core.logging import configure_logging
from mga_core.server import serve
from mga_invitation import ledger, store
from mga_invitation.consumers import command_handlers, event_handlers
from mga_invitation.service import InvitationService
from mga_invitation.settings import InvitationSettings
from mga_messaging.broker import Broker
from mga_messaging.consumer import EventConsumer
from mga_messaging.outbox import OutboxRelay
from mga_messaging.publisher import EventPublisher
from mga_messaging.rpc import RpcServer
from mga_messaging.topology import Consumer, Names
from mga_storage import create_client, ensure_indexes, ping
from mga_storage.inbox import MongoInbox

SERVICE = "invitation"
log = structlog.get_logger()


@dataclass
class Runtime:
    """Everything the service runs, so tests can start and stop it in-process."""

    settings: InvitationSettings
    broker: Broker | None = None
    service: InvitationService | None = None
    consumer: EventConsumer | None = None
    command_server: RpcServer | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        settings = self.settings
        client = create_client(settings.mongodb_url.get_secret_value(), app_name=SERVICE)
        self._client = client
        db = client[settings.mongodb_database]
        await ensure_indexes(db, [store.INDEXES, ledger.INDEXES])

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
        invitations = store.InvitationStore(db, locks)
        relay = OutboxRelay(
            invitations.collection,
            publisher,
            service=SERVICE,
            sweep_interval_seconds=settings.outbox_sweep_interval.total_seconds(),
            locks=locks,
        )
        self.service = InvitationService(
            store=invitations,
            ledger=ledger.MinuteLedger(db),
            outbox=relay,
            public_base_url=settings.public_base_url,
        )

        self.command_server = RpcServer(
            self.broker,
            owner=Consumer.INVITATION,
            handlers=command_handlers(self.service),
            prefetch=settings.amqp_prefetch,
            service=SERVICE,
        )
        await self.command_server.start()
        self.consumer = EventConsumer(
            self.broker,
            service=SERVICE,
            consumer=Consumer.INVITATION,
            handlers=event_handlers(self.service),
            inbox=MongoInbox(db, consumer=Consumer.INVITATION.value),
            prefetch=settings.amqp_prefetch,
            retry_delays_seconds=settings.amqp_retry_delays_seconds,
            max_attempts=settings.amqp_max_attempts,
        )
        await self.consumer.start()

        self.tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))
        self.tasks.append(asyncio.create_task(self._expire_forever(), name="expiry"))
        log.info("service.started")

    async def _expire_forever(self) -> None:
        assert self.service is not None
        interval = self.settings.expiry_sweep_interval.total_seconds()
        while True:
            try:
                expired = await self.service.expire_due()
                if expired:
                    log.info("expiry.swept", expired=expired)
            except Exception as exc:  # keep sweeping through database or broker outages
                log.warning("expiry.sweep_failed", error=repr(exc))
            await asyncio.sleep(interval)

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


def create_app(settings: InvitationSettings) -> FastAPI:
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
    settings = InvitationSettings()
    configure_logging(service=SERVICE, log_format=settings.log_format, level=settings.log_level)
    serve(create_app(settings), host=settings.http_host, port=settings.http_port)
