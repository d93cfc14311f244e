"""Acknowledgements that survive a lost connection.

A handler may still be running when its connection drops. The robust connection then opens a
new channel, and acking the old delivery tag there would be a protocol error, so an ack on a
closed channel is logged and skipped: the broker redelivers the message, and the consumer's
idempotency makes the second delivery harmless.
"""

import aio_pika
import aiormq
import structlog
from aio_pika.abc import AbstractIncomingMessage

log = structlog.get_logger()

_CHANNEL_GONE = (
    aiormq.exceptions.AMQPError,
    aio_pika.exceptions.ChannelInvalidStateError,
    ConnectionError,
)


async def ack(message: AbstractIncomingMessage) -> None:
    try:
        await message.ack()
    except _CHANNEL_GONE as exc:
        log.warning("message.ack_skipped", reason="channel closed", error=repr(exc))


async def reject(message: AbstractIncomingMessage) -> None:
    """Reject without requeue, so the queue's dead-letter arguments apply."""
    try:
        await message.reject(requeue=False)
    except _CHANNEL_GONE as exc:
        log.warning("message.reject_skipped", reason="channel closed", error=repr(exc))


async def requeue(message: AbstractIncomingMessage) -> None:
    try:
        await message.nack(requeue=True)
    except _CHANNEL_GONE as exc:
        log.warning("message.requeue_skipped", reason="channel closed", error=repr(exc))
