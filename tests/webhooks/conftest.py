"""A webhook stack per test: gateway with the webhook routes, an in-process dispatcher and a
scripted receiver, on a fresh database and exchange prefix.

The gateway is built as production builds it. Where its main module does not yet include
``webhooks_api.router`` or set ``Dependencies.webhooks``, the fixture adds them.
"""

import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aio_pika
import httpx
import pytest
from pymongo import AsyncMongoClient

from mga_core.ids import IdPrefix, new_id
from mga_core.timestamps import utc_now
from mga_events.envelope import EventEnvelope, build_event
from mga_events.schemas import (
    InterviewCompleted,
    InterviewResult,
    InterviewStarted,
    InvitationExpired,
    InvitationOpened,
    PanelRemark,
    SkillAssessment,
    Skills,
    TranscriptTurn,
)
from mga_events.types import EventType
from mga_gateway import provisioning
from mga_gateway.main import create_app as create_gateway_app
from mga_gateway.settings import GatewaySettings
from mga_gateway.store import GatewayStore
from mga_messaging.topology import Names
from mga_service import ServiceRuntime
from mga_storage import create_client
from mga_webhook_dispatcher.delivery import OutgoingRequest, ReceivedResponse, WebhookSender
from mga_webhook_dispatcher.main import start as start_dispatcher
from mga_webhook_dispatcher.settings import WebhookDispatcherSettings
from tests.support import AMQP_URL, MONGODB_URL, RunningServer, base_settings, delete_topology
from tests.webhooks.receiver import Receiver

# Dispatcher settings that compress the retry schedule to fractions of a second.
FAST_DISPATCHER: dict[str, Any] = {
    "webhook_allow_private_targets": True,
    "webhook_timeout": timedelta(seconds=1),
    "webhook_retry_base": timedelta(milliseconds=50),
    "webhook_retry_cap": timedelta(milliseconds=200),
    "webhook_max_attempts": 6,
    "webhook_scheduler_interval": timedelta(milliseconds=50),
    "webhook_gauge_interval": timedelta(milliseconds=200),
    "webhook_max_concurrency": 8,
    "webhook_max_concurrency_per_endpoint": 2,
}


class StaticResolver:
    """A resolver that returns addresses from a table the test controls, never from DNS."""

    def __init__(self, table: dict[str, list[str]] | None = None) -> None:
        self.table: dict[str, list[str]] = dict(table or {})
        self.lookups: list[str] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.table[host])


class RecordingSender:
    """A sender that records each request and returns 200 without touching the network."""

    def __init__(self) -> None:
        self.requests: list[OutgoingRequest] = []

    async def send(self, request: OutgoingRequest) -> ReceivedResponse:
        self.requests.append(request)
        return ReceivedResponse(status_code=200, retry_after=None, location=None, body_excerpt="")

    async def aclose(self) -> None:
        return None


@dataclass
class WebhookStack:
    database: str
    prefix: str
    client: AsyncMongoClient[dict[str, Any]]
    http: httpx.AsyncClient
    amqp: aio_pika.abc.AbstractRobustConnection
    receiver: Receiver
    resolver: StaticResolver
    dispatcher_settings: WebhookDispatcherSettings
    sender: WebhookSender | None
    runtime: ServiceRuntime
    _stoppers: list[Callable[[], Any]] = field(default_factory=list)

    @property
    def db(self):  # type: ignore[no-untyped-def]
        return self.client[self.database]

    @property
    def names(self) -> Names:
        return Names(self.prefix)

    async def account(self) -> str:
        return await provisioning.create_account(GatewayStore(self.db), name="Webhook tests")

    async def key(self, account_id: str, *, live: bool = False) -> str:
        issued = await provisioning.issue_key(
            GatewayStore(self.db), account_id=account_id, livemode=live
        )
        return issued.secret

    async def request(
        self, method: str, path: str, key: str | None, body: Any = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        headers.update(kwargs.pop("headers", {}))
        if body is not None:
            kwargs["json"] = body
        return await self.http.request(method, path, headers=headers, **kwargs)

    async def create_endpoint(
        self, key: str, url: str, events: list[str] | None = None, **fields: Any
    ) -> dict[str, Any]:
        body = {"url": url, "enabledEvents": events or ["*"], **fields}
        response = await self.request("POST", "/v1/webhook_endpoints", key, body)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    async def publish(self, event: EventEnvelope) -> None:
        channel = await self.amqp.channel()
        exchange = await channel.get_exchange(self.names.events_exchange)
        await exchange.publish(aio_pika.Message(event.to_json()), routing_key=event.type.value)
        await channel.close()

    async def deliveries(
        self, key: str, event_id: str, *, missing_ok: bool = False
    ) -> list[dict[str, Any]]:
        """Return the event's deliveries; ``missing_ok`` returns [] while it is not stored yet."""
        response = await self.request("GET", f"/v1/events/{event_id}/deliveries", key)
        if missing_ok and response.status_code == 404:
            return []
        assert response.status_code == 200, response.text
        return response.json()["data"]  # type: ignore[no-any-return]

    async def stop_dispatcher(self) -> None:
        await self.runtime.stop()

    async def start_dispatcher(self) -> None:
        self.runtime = await start_dispatcher(
            self.dispatcher_settings, resolver=self.resolver, sender=self.sender
        )


@asynccontextmanager
async def webhook_stack(
    *,
    dispatcher: dict[str, Any] | None = None,
    resolver: StaticResolver | None = None,
    sender: WebhookSender | None = None,
) -> AsyncIterator[WebhookStack]:
    token = uuid.uuid4().hex[:10]
    database, prefix = f"test_{token}", f"t{token}"
    shared = base_settings(database, prefix)
    client = create_client(MONGODB_URL, app_name="tests")
    amqp = await aio_pika.connect_robust(AMQP_URL)

    receiver = Receiver()
    receiver_server = RunningServer(receiver.app)
    receiver.base_url = await receiver_server.start()

    resolver = resolver or StaticResolver()
    dispatcher_settings = WebhookDispatcherSettings(
        **{**shared, **FAST_DISPATCHER, **(dispatcher or {})}
    )
    runtime = await start_dispatcher(dispatcher_settings, resolver=resolver, sender=sender)

    gateway = RunningServer(create_gateway_app(GatewaySettings(**shared)))
    gateway_url = await gateway.start()

    http = httpx.AsyncClient(base_url=gateway_url, timeout=30)
    stack = WebhookStack(
        database=database,
        prefix=prefix,
        client=client,
        http=http,
        amqp=amqp,
        receiver=receiver,
        resolver=resolver,
        dispatcher_settings=dispatcher_settings,
        sender=sender,
        runtime=runtime,
    )
    try:
        yield stack
    finally:
        receiver.released.set()
        await http.aclose()
        await gateway.stop()
        await stack.runtime.stop()
        await receiver_server.stop()
        await delete_topology(Names(prefix))
        await amqp.close()
        await client.drop_database(database)
        await client.close()


@pytest.fixture
async def stack() -> AsyncIterator[WebhookStack]:
    async with webhook_stack() as running:
        yield running


def completed_result(invitation_id: str) -> InterviewResult:
    assessment = SkillAssessment(score=7, evidence="Structured the answer around the user.")
    return InterviewResult(
        id=invitation_id,
        candidate_name="Alex Chen",
        role="Senior Product Manager",
        completed_at=utc_now(),
        overall_score=78,
        summary="Clear and structured.",
        skills=Skills(
            communication=assessment,
            structured_thinking=assessment,
            problem_solving=assessment,
            leadership=assessment,
            domain_depth=assessment,
            composite_and_pressure=assessment,
        ),
        strengths=["Frames trade-offs"],
        improvements=["Quantify impact"],
        panel=[PanelRemark(name="Dana", role="Head of Product", remark="Would hire.")],
        transcript=[
            TranscriptTurn(speaker="interviewer", name="Dana", text="Tell me about a launch."),
            TranscriptTurn(speaker="candidate", text="We shipped checkout v2 in six weeks."),
        ],
        metadata={"candidateRef": "ats-42"},
    )


def make_event(
    event_type: EventType,
    account_id: str,
    *,
    livemode: bool = False,
    invitation_id: str | None = None,
) -> EventEnvelope:
    """Build an event of a public type with realistic data."""
    invitation_id = invitation_id or new_id(IdPrefix.INVITATION)
    now = utc_now()
    data: Any
    match event_type:
        case EventType.INVITATION_OPENED:
            data = InvitationOpened(invitation_id=invitation_id, opened_at=now)
        case EventType.INTERVIEW_STARTED:
            data = InterviewStarted(invitation_id=invitation_id, started_at=now)
        case EventType.INVITATION_EXPIRED:
            data = InvitationExpired(invitation_id=invitation_id, expired_at=now)
        case EventType.INTERVIEW_COMPLETED:
            data = InterviewCompleted(
                invitation_id=invitation_id,
                completed_at=now,
                overall_score=78,
                summary="Clear and structured.",
                minutes_used=12,
                result=completed_result(invitation_id),
            )
        case _:
            raise ValueError(f"{event_type} is not a public event type")
    return build_event(
        event_type, data, account_id=account_id, livemode=livemode, correlation_id="tests"
    )

