"""Test helpers: a fresh, isolated stack per test on the real broker and database.

Each stack gets its own database name and its own exchange and queue prefix, and runs the
gateway and invitation service as real HTTP servers in the test's event loop.
"""

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import httpx
import uvicorn
from fastapi import FastAPI
from pymongo import AsyncMongoClient

from mga_gateway import provisioning
from mga_gateway.main import create_app as create_gateway_app
from mga_gateway.settings import GatewaySettings
from mga_gateway.store import INDEXES as GATEWAY_INDEXES
from mga_gateway.store import GatewayStore
from mga_invitation.ledger import INDEXES as LEDGER_INDEXES
from mga_invitation.ledger import MinuteLedger
from mga_invitation.main import create_app as create_invitation_app
from mga_invitation.settings import InvitationSettings
from mga_messaging.topology import SUBSCRIPTIONS, Consumer, Names
from mga_storage import create_client, ensure_indexes

MONGODB_URL = os.environ.get("MGA_TEST_MONGODB_URL", "mongodb://127.0.0.1:27017")
AMQP_URL = os.environ.get("MGA_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")

REFERENCE_BODY: dict[str, Any] = {
    "candidateEmail": "alex@example.com",
    "candidateName": "Alex Chen",
    "role": "Senior Product Manager",
    "jobPosting": "We are hiring a Senior PM to lead our checkout team...",
    "toughness": 3,
    "durationMinutes": 30,
    "language": "en",
    "expiresAt": "2030-06-01T00:00:00Z",
}


def base_settings(database: str, prefix: str) -> dict[str, Any]:
    return {
        "environment": "test",
        "log_format": "console",
        "mongodb_url": MONGODB_URL,
        "mongodb_database": database,
        "amqp_url": AMQP_URL,
        "amqp_prefix": prefix,
        "amqp_retry_delays_seconds": [1, 1],
        "amqp_max_attempts": 3,
        # Services without an outbox ignore it; the others retry failed publishes quickly.
        "outbox_sweep_interval": timedelta(milliseconds=500),
        "http_host": "127.0.0.1",
        "http_port": 0,
    }


class RunningServer:
    """A uvicorn server on an ephemeral loopback port inside the current event loop."""

    def __init__(self, app: FastAPI) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on")
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> str:
        self._task = asyncio.create_task(self.server.serve())
        for _ in range(300):
            if self.server.started:
                break
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.02)
        else:
            raise TimeoutError("server did not start within 6 seconds")
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            await asyncio.wait_for(self._task, timeout=30)


@dataclass
class Stack:
    database: str
    prefix: str
    client: AsyncMongoClient[dict[str, Any]]
    gateway_url: str
    invitation_url: str
    http: httpx.AsyncClient
    amqp: aio_pika.abc.AbstractRobustConnection
    servers: list[RunningServer] = field(default_factory=list)

    @property
    def db(self):  # type: ignore[no-untyped-def]
        return self.client[self.database]

    @property
    def names(self) -> Names:
        return Names(self.prefix)

    async def account(self, *, name: str = "Test account") -> str:
        return await provisioning.create_account(GatewayStore(self.db), name=name)

    async def key(self, account_id: str, *, live: bool = False) -> str:
        issued = await provisioning.issue_key(
            GatewayStore(self.db), account_id=account_id, livemode=live
        )
        return issued.secret

    async def top_up(self, account_id: str, minutes: int) -> None:
        await MinuteLedger(self.db).top_up(account_id, minutes, operation_id=uuid.uuid4().hex)

    async def post(
        self, path: str, key: str | None, body: Any = None, **headers: str
    ) -> httpx.Response:
        all_headers = {"Authorization": f"Bearer {key}"} if key else {}
        all_headers.update({k.replace("_", "-"): v for k, v in headers.items()})
        if isinstance(body, (bytes, str)):
            all_headers.setdefault("Content-Type", "application/json")
            return await self.http.post(path, content=body, headers=all_headers)
        return await self.http.post(path, json=body, headers=all_headers)

    async def get(self, path: str, key: str | None, **params: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return await self.http.get(path, params=params, headers=headers)

    async def queue_messages(self, queue: str, *, wait: float = 5.0, expect: int = 1) -> list[dict[str, Any]]:
        """Drain messages from a queue (acking them) until ``expect`` arrived or ``wait`` ends."""
        channel = await self.amqp.channel()
        try:
            amqp_queue = await channel.get_queue(queue, ensure=False)
            bodies: list[dict[str, Any]] = []
            deadline = asyncio.get_running_loop().time() + wait
            while len(bodies) < expect and asyncio.get_running_loop().time() < deadline:
                message = await amqp_queue.get(fail=False, no_ack=True)
                if message is None:
                    await asyncio.sleep(0.05)
                    continue
                bodies.append(json.loads(message.body))
            return bodies
        finally:
            await channel.close()

    async def queue_depth(self, queue: str) -> int:
        channel = await self.amqp.channel()
        try:
            declared = await channel.declare_queue(queue, passive=True)
            return int(declared.declaration_result.message_count or 0)
        finally:
            await channel.close()


async def wait_for(predicate, *, timeout: float = 10.0, interval: float = 0.05):  # type: ignore[no-untyped-def]
    """Poll an async predicate until it returns a truthy value; fail after ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} seconds")
        await asyncio.sleep(interval)


async def delete_topology(names: Names) -> None:
    """Delete every exchange and queue under the prefix, on a connection of its own."""
    connection = await aio_pika.connect(AMQP_URL)
    channel = await connection.channel()
    queues = [names.command_queue(consumer) for consumer in Consumer] + [
        names.event_queue(consumer) for consumer in Consumer
    ]
    for queue in queues:
        for name in [queue, names.dead_letter_queue(queue)] + [
            names.retry_queue(queue, delay) for delay in (1, 2, 5)
        ]:
            await channel.queue_delete(name)
    for exchange in (names.events_exchange, names.commands_exchange, names.dead_letter_exchange):
        await channel.exchange_delete(exchange)
    await connection.close()


def _optional_service(name: str, settings: dict[str, Any]) -> FastAPI:
    """Build the app of a service that only some tests start."""
    if name == "scoring":
        from mga_scoring.main import create_app
        from mga_scoring.settings import ScoringSettings

        return create_app(ScoringSettings(**settings))
    if name == "simulation":
        from mga_simulation.main import create_app as create_simulation_app
        from mga_simulation.settings import SimulationSettings

        return create_simulation_app(SimulationSettings(**settings))
    raise ValueError(f"unknown optional service {name!r}")


@asynccontextmanager
async def running_stack(*, services: tuple[str, ...] = (), **overrides: Any) -> AsyncIterator[Stack]:
    """Start the gateway and invitation service, and ``services``, on a fresh database.

    ``overrides`` maps a service name to settings that replace the test defaults.
    """
    token = uuid.uuid4().hex[:10]
    database, prefix = f"test_{token}", f"t{token}"
    settings = base_settings(database, prefix)
    gateway_settings = GatewaySettings(**{**settings, **overrides.get("gateway", {})})
    invitation_settings = InvitationSettings(
        **{
            **settings,
            "expiry_sweep_interval": timedelta(milliseconds=200),
            "outbox_sweep_interval": timedelta(milliseconds=200),
            **overrides.get("invitation", {}),
        }
    )
    client = create_client(MONGODB_URL, app_name="tests")
    await ensure_indexes(client[database], [*GATEWAY_INDEXES, LEDGER_INDEXES])
    amqp = await aio_pika.connect_robust(AMQP_URL)

    invitation = RunningServer(create_invitation_app(invitation_settings))
    gateway = RunningServer(create_gateway_app(gateway_settings))
    extra = [
        RunningServer(_optional_service(name, {**settings, **overrides.get(name, {})}))
        for name in services
    ]
    invitation_url = await invitation.start()
    gateway_url = await gateway.start()
    for server in extra:
        await server.start()
    http = httpx.AsyncClient(base_url=gateway_url, timeout=30)
    stack = Stack(
        database=database,
        prefix=prefix,
        client=client,
        gateway_url=gateway_url,
        invitation_url=invitation_url,
        http=http,
        amqp=amqp,
        servers=[gateway, invitation, *extra],
    )
    try:
        yield stack
    finally:
        await http.aclose()
        for server in stack.servers:
            await server.stop()
        await delete_topology(stack.names)
        await amqp.close()
        await client.drop_database(database)
        await client.close()


def invitation_document(
    account_id: str, *, livemode: bool, created_at: datetime, invitation_id: str
) -> dict[str, Any]:
    """A stored invitation, for tests that need control over createdAt."""
    return {
        "_id": invitation_id,
        "accountId": account_id,
        "livemode": livemode,
        "requestKey": invitation_id,
        "status": "pending",
        "candidateEmail": "seed@example.com",
        "candidateName": "Seed Candidate",
        "role": "Engineer",
        "jobPosting": "Seeded invitation.",
        "toughness": 3,
        "durationMinutes": 30,
        "language": "en",
        "metadataJson": "{}",
        "token": uuid.uuid4().hex,
        "invitationUrl": f"http://127.0.0.1:8083/invite/{invitation_id}",
        "createdAt": created_at,
        "updatedAt": created_at,
        # In the future whatever createdAt is, so the expiry sweep leaves it pending.
        "expiresAt": max(created_at.astimezone(UTC), datetime.now(UTC)) + timedelta(days=14),
        "email": {"status": "queued", "error": None},
        "outbox": {},
        "outboxPending": False,
    }


