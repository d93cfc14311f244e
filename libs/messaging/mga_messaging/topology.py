"""The RabbitMQ topology: every exchange, queue and binding, declared in one place.

    events exchange  (topic)  ──routing key = event type──▶  <consumer>.events queues
    commands exchange (direct) ──routing key = command name──▶ <owner>.commands queues
    dead-letter exchange (direct) ──routing key = queue name──▶ <queue>.dlq

Each consuming service owns one durable queue, bound to the event types it reads. A queue
dead-letters into its own ``.dlq`` queue through queue arguments, so a rejected message is
kept with the broker's ``x-death`` record. Delayed retries go through one ``.retry.<n>s``
queue per delay: a message waits there for its time to live, then the broker dead-letters it
back to the consumer's queue through the default exchange.

Every service declares the whole topology at start-up. Declarations are idempotent, so the
queues of services that are not running yet exist and keep their messages until they start.
"""

from dataclasses import dataclass
from enum import StrEnum

import aio_pika
from aio_pika.abc import AbstractChannel

from mga_events.commands import CommandName
from mga_events.types import EventType


class Consumer(StrEnum):
    """The consuming services, by the name their queues carry."""

    INVITATION = "invitation"
    MAILER = "mailer"
    SIMULATION = "simulation"
    SCORING = "scoring"
    WEBHOOK_DISPATCHER = "webhook-dispatcher"


# The event types each consumer's queue receives.
SUBSCRIPTIONS: dict[Consumer, frozenset[EventType]] = {
    Consumer.INVITATION: frozenset(
        {
            EventType.INVITATION_OPENED,
            EventType.INTERVIEW_STARTED,
            EventType.INTERVIEW_COMPLETED,
            EventType.EMAIL_SENT,
            EventType.EMAIL_FAILED,
            # Its own events, to settle minutes even if it crashed right after the change.
            EventType.INVITATION_EXPIRED,
            EventType.INVITATION_CANCELLED,
        }
    ),
    Consumer.MAILER: frozenset(
        {EventType.INVITATION_CREATED, EventType.INVITATION_RESEND_REQUESTED}
    ),
    Consumer.SIMULATION: frozenset(
        {
            EventType.INVITATION_CREATED,
            EventType.INVITATION_CANCELLED,
            EventType.INVITATION_EXPIRED,
            EventType.INVITATION_UPDATED,
        }
    ),
    Consumer.SCORING: frozenset({EventType.INTERVIEW_FINISHED}),
    Consumer.WEBHOOK_DISPATCHER: frozenset(
        {
            EventType.INVITATION_OPENED,
            EventType.INTERVIEW_STARTED,
            EventType.INTERVIEW_COMPLETED,
            EventType.INVITATION_EXPIRED,
        }
    ),
}


# The service that handles each command. Its commands queue is bound to the command's name.
COMMAND_OWNERS: dict[CommandName, Consumer] = {
    CommandName.CREATE_INVITATION: Consumer.INVITATION,
    CommandName.CANCEL_INVITATION: Consumer.INVITATION,
    CommandName.UPDATE_INVITATION: Consumer.INVITATION,
    CommandName.RESEND_INVITATION: Consumer.INVITATION,
    CommandName.EXPIRE_INVITATION: Consumer.INVITATION,
    CommandName.ADVANCE_INTERVIEW: Consumer.SIMULATION,
    CommandName.CREATE_WEBHOOK_ENDPOINT: Consumer.WEBHOOK_DISPATCHER,
    CommandName.DELETE_WEBHOOK_ENDPOINT: Consumer.WEBHOOK_DISPATCHER,
    CommandName.ROTATE_WEBHOOK_SECRET: Consumer.WEBHOOK_DISPATCHER,
    CommandName.REDELIVER_EVENT: Consumer.WEBHOOK_DISPATCHER,
}


@dataclass(frozen=True)
class Names:
    """Exchange and queue names under one prefix."""

    prefix: str

    @property
    def events_exchange(self) -> str:
        return f"{self.prefix}.events"

    @property
    def commands_exchange(self) -> str:
        return f"{self.prefix}.commands"

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.prefix}.dlx"

    def command_queue(self, consumer: Consumer) -> str:
        return f"{self.prefix}.{consumer}.commands"

    def event_queue(self, consumer: Consumer) -> str:
        return f"{self.prefix}.{consumer}.events"

    @staticmethod
    def dead_letter_queue(queue: str) -> str:
        return f"{queue}.dlq"

    @staticmethod
    def retry_queue(queue: str, delay_seconds: int) -> str:
        return f"{queue}.retry.{delay_seconds}s"


async def _declare_consumer_queue(
    channel: AbstractChannel,
    names: Names,
    dead_letter_exchange: aio_pika.abc.AbstractExchange,
    queue_name: str,
    retry_delays_seconds: list[int],
) -> aio_pika.abc.AbstractQueue:
    dead_letters = await channel.declare_queue(
        names.dead_letter_queue(queue_name), durable=True
    )
    await dead_letters.bind(dead_letter_exchange, routing_key=queue_name)

    queue = await channel.declare_queue(
        queue_name,
        durable=True,
        arguments={
            "x-dead-letter-exchange": names.dead_letter_exchange,
            "x-dead-letter-routing-key": queue_name,
        },
    )
    for delay in sorted(set(retry_delays_seconds)):
        await channel.declare_queue(
            names.retry_queue(queue_name, delay),
            durable=True,
            arguments={
                "x-message-ttl": delay * 1000,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": queue_name,
            },
        )
    return queue


async def declare_topology(
    channel: AbstractChannel, names: Names, retry_delays_seconds: list[int]
) -> None:
    """Declare every exchange, queue and binding of the platform."""
    events = await channel.declare_exchange(
        names.events_exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    commands = await channel.declare_exchange(
        names.commands_exchange, aio_pika.ExchangeType.DIRECT, durable=True
    )
    dead_letters = await channel.declare_exchange(
        names.dead_letter_exchange, aio_pika.ExchangeType.DIRECT, durable=True
    )

    for consumer, event_types in SUBSCRIPTIONS.items():
        queue = await _declare_consumer_queue(
            channel, names, dead_letters, names.event_queue(consumer), retry_delays_seconds
        )
        for event_type in sorted(event_types):
            await queue.bind(events, routing_key=event_type.value)

    # Commands are never retried with a delay: the caller is waiting for the reply and
    # retries with the same idempotency key instead.
    for owner in sorted(set(COMMAND_OWNERS.values())):
        command_queue = await _declare_consumer_queue(
            channel, names, dead_letters, names.command_queue(owner), retry_delays_seconds=[]
        )
        for command, command_owner in COMMAND_OWNERS.items():
            if command_owner is owner:
                await command_queue.bind(commands, routing_key=command.value)
