"""An isolated mailer per test: its own database and broker prefix, and a real SMTP server.

The SMTP server is aiosmtpd on 127.0.0.1 and a free port, started by the test (or left
stopped, to play an SMTP outage). The mailer runs in-process as a real HTTP server.
"""

import asyncio
import email
import email.policy
import json
import re
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import aio_pika
import pytest
from aiosmtpd.controller import Controller
from pymongo import AsyncMongoClient

from mga_core.ids import IdPrefix, new_id
from mga_events.envelope import EventEnvelope, build_event
from mga_events.schemas import InvitationCreated, InvitationResendRequested, Language
from mga_events.types import EventType
from mga_mailer.main import create_app
from mga_service import ServiceRuntime
from mga_mailer.sender import SmtpSender
from mga_mailer.settings import MailerSettings
from mga_messaging.headers import CORRELATION_ID
from mga_messaging.topology import Consumer, Names
from mga_storage import create_client
from tests.support import AMQP_URL, MONGODB_URL, RunningServer, base_settings, delete_topology

EXPIRES_AT = datetime(2030, 6, 1, tzinfo=UTC)


def free_port() -> int:
    """Return a loopback port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ReceivedMessage:
    mail_from: str
    rcpt_tos: list[str]
    mail_options: list[str]
    raw: bytes

    @property
    def parsed(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)  # type: ignore[return-value]

    @property
    def parsed_utf8(self) -> EmailMessage:
        """The message parsed as UTF-8 text, for SMTPUTF8 messages with raw UTF-8 headers."""
        return email.message_from_string(self.raw.decode("utf-8"), policy=email.policy.default)  # type: ignore[return-value]

    @property
    def raw_headers(self) -> list[bytes]:
        """The header lines as received, folded continuation lines kept separate."""
        head = re.split(rb"\r?\n\r?\n", self.raw, maxsplit=1)[0]
        return re.split(rb"\r?\n", head)

    def body(self, subtype: str) -> str:
        part = self.parsed.get_body(preferencelist=(subtype,))
        assert part is not None, f"the message has no text/{subtype} part"
        return part.get_content()


class RecordingHandler:
    """An aiosmtpd handler that keeps every message and replies to RCPT as scripted."""

    def __init__(self) -> None:
        self.messages: list[ReceivedMessage] = []
        self.sessions = 0
        self.rcpt_commands = 0
        # A reply such as "550 5.1.1 mailbox unavailable" for every RCPT. None accepts.
        self.rcpt_reply: str | None = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # type: ignore[no-untyped-def]
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        self.rcpt_commands += 1
        if self.rcpt_reply is not None:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(
            ReceivedMessage(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                mail_options=list(envelope.mail_options),
                raw=envelope.original_content,
            )
        )
        return "250 2.0.0 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on 127.0.0.1, started and stopped by the test."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.handler = RecordingHandler()
        self._controller: Controller | None = None

    async def start(self, *, smtputf8: bool = True) -> None:
        self._controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=smtputf8
        )
        await asyncio.to_thread(self._controller.start)

    async def stop(self) -> None:
        if self._controller is not None:
            await asyncio.to_thread(self._controller.stop)
            self._controller = None

    @property
    def messages(self) -> list[ReceivedMessage]:
        return self.handler.messages

    def messages_to(self, address: str) -> list[ReceivedMessage]:
        return [message for message in self.messages if address in message.rcpt_tos]


def invitation_event(
    *,
    livemode: bool = True,
    name: str = "Alex Chen",
    address: str = "alex@example.com",
    role: str = "Senior Product Manager",
    language: Language = "en",
    event_type: EventType = EventType.INVITATION_CREATED,
) -> EventEnvelope:
    """An ``invitation.created`` (or ``invitation.resend_requested``) event for a new invitation."""
    invitation_id = new_id(IdPrefix.INVITATION)
    fields: dict[str, Any] = {
        "invitation_id": invitation_id,
        "candidate_email": address,
        "candidate_name": name,
        "role": role,
        "job_posting": "We are hiring to lead our checkout team.",
        "toughness": 3,
        "duration_minutes": 30,
        "language": language,
        "expires_at": EXPIRES_AT,
        "invitation_url": f"http://127.0.0.1:8083/invite/{uuid.uuid4().hex}",
        "metadata": {},
    }
    data: InvitationCreated
    if event_type is EventType.INVITATION_RESEND_REQUESTED:
        data = InvitationResendRequested(**fields, requested_at=datetime.now(UTC))
    else:
        data = InvitationCreated(**fields)
    return build_event(
        event_type,
        data,
        account_id="acct_test",
        livemode=livemode,
        correlation_id=f"corr-{invitation_id}",
    )


def fields_of(event: EventEnvelope) -> InvitationCreated:
    if event.type is EventType.INVITATION_RESEND_REQUESTED:
        return event.data_as(InvitationResendRequested)
    return event.data_as(InvitationCreated)


@dataclass
class MailerEnvironment:
    database: str
    names: Names
    client: AsyncMongoClient[dict[str, Any]]
    amqp: aio_pika.abc.AbstractRobustConnection
    smtp: SmtpServer
    servers: list[RunningServer] = field(default_factory=list)
    # Events the mailer published, drained from the invitation service's queue.
    published: list[dict[str, Any]] = field(default_factory=list)
    # Base URL of the mailer started last.
    url: str = ""

    @property
    def db(self):  # type: ignore[no-untyped-def]
        return self.client[self.database]

    def settings(self, **overrides: Any) -> MailerSettings:
        values: dict[str, Any] = {
            **base_settings(self.database, self.names.prefix),
            "smtp_host": "127.0.0.1",
            "smtp_port": self.smtp.port,
            "smtp_timeout": timedelta(seconds=5),
            "smtp_retry_attempts": 2,
            "smtp_retry_initial_backoff": timedelta(milliseconds=50),
            "smtp_retry_max_backoff": timedelta(milliseconds=200),
            "outbox_sweep_interval": timedelta(milliseconds=200),
        }
        values.update(overrides)
        return MailerSettings(**values)

    async def start_mailer(self, *, sender: SmtpSender | None = None, **overrides: Any) -> ServiceRuntime:
        server = RunningServer(create_app(self.settings(**overrides), sender=sender))
        self.url = await server.start()
        self.servers.append(server)
        return server.server.config.app.state.runtime  # type: ignore[no-any-return]

    async def stop_mailers(self) -> None:
        while self.servers:
            await self.servers.pop().stop()

    async def publish(self, event: EventEnvelope) -> None:
        channel = await self.amqp.channel()
        try:
            exchange = await channel.get_exchange(self.names.events_exchange)
            await exchange.publish(
                aio_pika.Message(
                    body=event.to_json(),
                    content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=event.id,
                    type=event.type.value,
                    headers={CORRELATION_ID: event.correlation_id},
                ),
                routing_key=event.type.value,
            )
        finally:
            await channel.close()

    async def record(self, email_id: str) -> dict[str, Any] | None:
        return await self.db.emails.find_one({"_id": email_id})

    async def record_with_status(self, email_id: str, status: str) -> dict[str, Any] | None:
        record = await self.record(email_id)
        return record if record is not None and record["status"] == status else None

    async def events(self, event_type: str, email_id: str) -> list[dict[str, Any]]:
        """Events of ``event_type`` about ``email_id`` published so far."""
        channel = await self.amqp.channel()
        try:
            queue = await channel.get_queue(
                self.names.event_queue(Consumer.INVITATION), ensure=False
            )
            while (message := await queue.get(fail=False, no_ack=True)) is not None:
                self.published.append(json.loads(message.body))
        finally:
            await channel.close()
        return [
            event
            for event in self.published
            if event["type"] == event_type and event["data"].get("emailId") == email_id
        ]

    async def dead_letter_count(self) -> int:
        channel = await self.amqp.channel()
        try:
            queue = self.names.dead_letter_queue(self.names.event_queue(Consumer.MAILER))
            declared = await channel.declare_queue(queue, passive=True)
            return int(declared.declaration_result.message_count or 0)
        finally:
            await channel.close()


@pytest.fixture
async def environment() -> AsyncIterator[MailerEnvironment]:
    """A fresh database, prefix and stopped SMTP server. Tests start what they need."""
    token = uuid.uuid4().hex[:10]
    database, names = f"test_{token}", Names(f"t{token}")
    client = create_client(MONGODB_URL, app_name="tests")
    amqp = await aio_pika.connect_robust(AMQP_URL)
    env = MailerEnvironment(
        database=database, names=names, client=client, amqp=amqp, smtp=SmtpServer(free_port())
    )
    try:
        yield env
    finally:
        await env.stop_mailers()
        await env.smtp.stop()
        await delete_topology(names)
        await amqp.close()
        await client.drop_database(database)
        await client.close()


@pytest.fixture
async def mailer(environment: MailerEnvironment) -> MailerEnvironment:
    """The environment with the SMTP server (SMTPUTF8 offered) and one mailer running."""
    await environment.smtp.start()
    await environment.start_mailer()
    return environment
