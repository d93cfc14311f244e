"""A bare broker prefix and database for exercising the messaging library directly."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import pytest

from mga_core.timestamps import utc_now
from mga_events.envelope import EventEnvelope, build_event
from mga_events.schemas import InvitationExpired
from mga_events.types import EventType
from mga_messaging.broker import Broker
from mga_messaging.consumer import EventConsumer, EventHandler
from mga_messaging.publisher import EventPublisher
from mga_messaging.topology import Consumer, Names
from mga_storage import create_client
from mga_storage.inbox import MongoInbox
from tests.support import AMQP_URL, MONGODB_URL, delete_topology


@dataclass
class Bus:
    names: Names
    db: Any
    connection: aio_pika.abc.AbstractRobustConnection
    brokers: list[Broker] = field(default_factory=list)

    async def broker(self, *, name: str = "tests") -> Broker:
        broker = Broker(
            url=AMQP_URL,
            names=self.names,
            retry_delays_seconds=[1, 1],
            connection_name=f"{name}:{self.names.prefix}",
        )
        await broker.connect()
        self.brokers.append(broker)
        return broker

    async def consumer(
        self,
        handlers: dict[EventType, EventHandler],
        *,
        max_attempts: int = 3,
        name: str = "consumer",
    ) -> tuple[Broker, EventConsumer]:
        broker = await self.broker(name=name)
        consumer = EventConsumer(
            broker,
            service="tests",
            consumer=Consumer.WEBHOOK_DISPATCHER,
            handlers=handlers,
            inbox=MongoInbox(self.db, consumer="tests"),
            prefetch=4,
            retry_delays_seconds=[1, 1],
            max_attempts=max_attempts,
        )
        await consumer.start()
        return broker, consumer

    async def publisher(self) -> EventPublisher:
        publisher = EventPublisher(await self.broker(), service="tests", confirm_timeout=5)
        await publisher.start()
        return publisher

    async def publish_raw(self, body: bytes, routing_key: str = "invitation.expired") -> None:
        channel = await self.connection.channel()
        exchange = await channel.get_exchange(self.names.events_exchange)
        await exchange.publish(
            aio_pika.Message(body=body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=routing_key,
        )
        await channel.close()

    @property
    def queue(self) -> str:
        return self.names.event_queue(Consumer.WEBHOOK_DISPATCHER)

    async def depth(self, queue: str) -> int:
        channel = await self.connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        await channel.close()
        return int(declared.declaration_result.message_count or 0)

    async def get(self, queue: str) -> aio_pika.abc.AbstractIncomingMessage | None:
        channel = await self.connection.channel()
        amqp_queue = await channel.get_queue(queue, ensure=False)
        message = await amqp_queue.get(fail=False, no_ack=True)
        await channel.close()
        return message


def expired_event(invitation_id: str = "inv_1") -> EventEnvelope:
    return build_event(
        EventType.INVITATION_EXPIRED,
        InvitationExpired(invitation_id=invitation_id, expired_at=utc_now()),
        account_id="acct_test",
        livemode=False,
        correlation_id="corr-test",
    )


@pytest.fixture
async def bus() -> AsyncIterator[Bus]:
    token = uuid.uuid4().hex[:10]
    client = create_client(MONGODB_URL, app_name="tests")
    connection = await aio_pika.connect_robust(AMQP_URL)
    bus = Bus(names=Names(f"t{token}"), db=client[f"test_{token}"], connection=connection)
    try:
        yield bus
    finally:
        for broker in bus.brokers:
            await broker.close()
        await delete_topology(bus.names)
        await connection.close()
        await client.drop_database(f"test_{token}")
        await client.close()
