"""Mailer service: wiring and entry point."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import structlog
from fastapi import FastAPI
from pymongo import AsyncMongoClient

from mga_core.http import create_probe_app
from mga_core.locks import KeyedLocks
from mga_core.logging import configure_logging
from mga_core.server import serve
from mga_mailer import store
from mga_mailer.consumers import event_handlers
from mga_mailer.message import Mailbox
from mga_mailer.render import InvitationRenderer
from mga_mailer.sender import AiosmtplibSender, SmtpSender
from mga_mailer.service import DeliveryPolicy, MailerService
from mga_mailer.settings import MailerSettings
from mga_messaging.broker import Broker
from mga_messaging.consumer import EventConsumer
from mga_messaging.outbox import OutboxRelay
from mga_messaging.publisher import EventPublisher
from mga_messaging.topology import Consumer, Names
from mga_storage import Document, create_client, ensure_indexes, ping
from mga_storage.inbox import MongoInbox

SERVICE = "mailer"
log = structlog.get_logger()


def create_sender(settings: MailerSettings) -> AiosmtplibSender:
    return AiosmtplibSender(
        host=settings.smtp_host,
        port=settings.smtp_port,
        security=settings.smtp_security,
        username=settings.smtp_username.get_secret_value() if settings.smtp_username else None,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        timeout_seconds=settings.smtp_timeout.total_seconds(),
    )


@dataclass
class Runtime:
    """Everything the service runs, so tests can start and stop it in-process."""

    settings: MailerSettings
    # The SMTP client. None builds the aiosmtplib one from the settings.
    sender: SmtpSender | None = None
    broker: Broker | None = None
    service: MailerService | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _client: AsyncMongoClient[Document] | None = field(default=None, init=False, repr=False)

    async def start(self) -> None:
        settings = self.settings
        client = create_client(settings.mongodb_url.get_secret_value(), app_name=SERVICE)
        self._client = client
        db = client[settings.mongodb_database]
        await ensure_indexes(db, [store.INDEXES, store.ATTEMPT_INDEXES])

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
        emails = store.EmailStore(db, locks)
        relay = OutboxRelay(
            emails.collection,
            publisher,
            service=SERVICE,
            sweep_interval_seconds=settings.outbox_sweep_interval.total_seconds(),
            locks=locks,
        )
        self.service = MailerService(
            store=emails,
            sender=self.sender or create_sender(settings),
            outbox=relay,
            renderer=InvitationRenderer(),
            policy=DeliveryPolicy(
                attempts=settings.smtp_retry_attempts,
                initial_backoff_seconds=settings.smtp_retry_initial_backoff.total_seconds(),
                max_backoff_seconds=settings.smtp_retry_max_backoff.total_seconds(),
                lease=settings.send_lease,
            ),
            from_mailbox=Mailbox(settings.mail_from_name, settings.mail_from_address),
            reply_to=settings.mail_reply_to,
        )

        await EventConsumer(
            self.broker,
            service=SERVICE,
            consumer=Consumer.MAILER,
            handlers=event_handlers(self.service),
            inbox=MongoInbox(db, consumer=Consumer.MAILER.value),
            prefetch=settings.amqp_prefetch,
            retry_delays_seconds=settings.amqp_retry_delays_seconds,
            max_attempts=settings.amqp_max_attempts,
        ).start()

        self.tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))
        log.info(
            "service.started",
            smtp_host=settings.smtp_host,
            smtp_port=settings.smtp_port,
            smtp_security=settings.smtp_security.value,
        )

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.broker is not None:
            await self.broker.close()
        if self._client is not None:
            await self._client.close()
        log.info("service.stopped")

    async def is_ready(self) -> bool:
        """Tell whether MongoDB responds and the broker connection is open.

        The SMTP server is not checked: deliveries during an SMTP outage are retried.
        """
        if self.broker is None or self._client is None or not self.broker.is_ready():
            return False
        return await ping(self._client)


def create_app(settings: MailerSettings, *, sender: SmtpSender | None = None) -> FastAPI:
    runtime = Runtime(settings, sender=sender)

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
    settings = MailerSettings()
    configure_logging(service=SERVICE, log_format=settings.log_format, level=settings.log_level)
    serve(create_app(settings), host=settings.http_host, port=settings.http_port)
