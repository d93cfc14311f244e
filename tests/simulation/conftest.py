"""The simulation service on a fresh database and broker prefix, fed with invitation events.

Each test gets its own database and exchange/queue prefix, like ``tests.support.running_stack``.
Invitations are created by publishing ``invitation.created`` to the events exchange, as the
invitation service does; the events this service publishes are read from the queues of the
services that consume them (invitation, webhook-dispatcher, scoring), which no one drains here.
"""

import asyncio
import json
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import httpx
import pytest
from pymongo import AsyncMongoClient

from mga_core.ids import IdPrefix, new_id
from mga_events.envelope import EventEnvelope, build_event
from mga_events.schemas import InvitationCreated
from mga_events.types import EventType
from mga_messaging.topology import Consumer, Names
from mga_simulation.main import create_app
from mga_simulation.service import InterviewService
from mga_simulation.settings import SimulationSettings
from mga_storage import create_client
from tests.support import (
    AMQP_URL,
    MONGODB_URL,
    RunningServer,
    base_settings,
    delete_topology,
    wait_for,
)

ACCOUNT_ID = "acct_01J0SIMULATIONTESTACCOUNT0"

INVITATION_FIELDS: dict[str, Any] = {
    "candidate_email": "alex@example.com",
    "candidate_name": "Alex Chen",
    "role": "Senior Product Manager",
    "job_posting": (
        "We are hiring a Senior PM to lead our checkout team. You own the roadmap, work "
        "closely with engineering and design, and run discovery with customers."
    ),
    "toughness": 3,
    "duration_minutes": 30,
    "language": "en",
    "expires_at": datetime(2030, 6, 1, tzinfo=UTC),
    "metadata": {"atsCandidateId": "cand-42", "stage.name": "screening"},
}


@dataclass(frozen=True)
class Invitation:
    id: str
    token: str

    @property
    def path(self) -> str:
        return f"/invite/{self.token}"


@dataclass
class SimulationStack:
    database: str
    prefix: str
    client: AsyncMongoClient[dict[str, Any]]
    amqp: aio_pika.abc.AbstractRobustConnection
    server: RunningServer
    base_url: str
    http: httpx.AsyncClient

    @property
    def names(self) -> Names:
        return Names(self.prefix)

    @property
    def db(self):  # type: ignore[no-untyped-def]
        return self.client[self.database]

    @property
    def service(self) -> InterviewService:
        service: InterviewService = self.server.server.config.app.state.runtime.service
        return service

    async def publish(self, event: EventEnvelope) -> None:
        channel = await self.amqp.channel()
        try:
            exchange = await channel.get_exchange(self.names.events_exchange)
            await exchange.publish(
                aio_pika.Message(event.to_json(), message_id=event.id, type=event.type.value),
                routing_key=event.type.value,
            )
        finally:
            await channel.close()

    def created_event(
        self, *, livemode: bool = False, invitation_id: str | None = None, **fields: Any
    ) -> tuple[EventEnvelope, Invitation]:
        token = secrets.token_urlsafe(32)
        invitation = Invitation(id=invitation_id or new_id(IdPrefix.INVITATION), token=token)
        data = InvitationCreated(
            invitation_id=invitation.id,
            invitation_url=f"http://127.0.0.1:8083/invite/{token}",
            **{**INVITATION_FIELDS, **fields},
        )
        event = build_event(
            EventType.INVITATION_CREATED,
            data,
            account_id=ACCOUNT_ID,
            livemode=livemode,
            correlation_id=f"req_{invitation.id}",
        )
        return event, invitation

    async def invite(self, *, livemode: bool = False, **fields: Any) -> Invitation:
        """Publish ``invitation.created`` and wait until the service stored the session."""
        event, invitation = self.created_event(livemode=livemode, **fields)
        await self.publish(event)
        await wait_for(lambda: self.session(invitation.id))
        return invitation

    async def session(self, invitation_id: str) -> dict[str, Any] | None:
        return await self.db.interview_sessions.find_one({"_id": invitation_id})

    async def events(
        self, consumer: Consumer, *, expect: int, wait: float = 10.0
    ) -> list[dict[str, Any]]:
        """Take up to ``expect`` messages from a consumer's queue, waiting at most ``wait``."""
        channel = await self.amqp.channel()
        try:
            queue = await channel.get_queue(self.names.event_queue(consumer), ensure=False)
            bodies: list[dict[str, Any]] = []
            deadline = asyncio.get_running_loop().time() + wait
            while len(bodies) < expect and asyncio.get_running_loop().time() < deadline:
                message = await queue.get(fail=False, no_ack=True)
                if message is None:
                    await asyncio.sleep(0.05)
                    continue
                bodies.append(json.loads(message.body))
            return bodies
        finally:
            await channel.close()


@asynccontextmanager
async def running_simulation(**overrides: Any) -> AsyncIterator[SimulationStack]:
    """Start the simulation service on a fresh database and prefix."""
    suffix = uuid.uuid4().hex[:10]
    database, prefix = f"test_{suffix}", f"t{suffix}"
    settings = SimulationSettings(
        **{
            **base_settings(database, prefix),
            "outbox_sweep_interval": timedelta(milliseconds=200),
            "session_sweep_interval": timedelta(milliseconds=200),
            "deadline_grace": timedelta(seconds=1),
            **overrides,
        }
    )
    client = create_client(MONGODB_URL, app_name="tests")
    amqp = await aio_pika.connect_robust(AMQP_URL)
    server = RunningServer(create_app(settings))
    base_url = await server.start()
    http = httpx.AsyncClient(base_url=base_url, timeout=30)
    stack = SimulationStack(
        database=database,
        prefix=prefix,
        client=client,
        amqp=amqp,
        server=server,
        base_url=base_url,
        http=http,
    )
    try:
        yield stack
    finally:
        await http.aclose()
        await server.stop()
        await delete_topology(stack.names)
        await amqp.close()
        await client.drop_database(database)
        await client.close()


@pytest.fixture
async def simulation() -> AsyncIterator[SimulationStack]:
    async with running_simulation() as running:
        yield running
