"""Request/reply over RabbitMQ: the gateway sends commands, the owning service replies.

The client publishes a command to the commands exchange with a ``reply_to`` queue and a
correlation id, then waits a bounded time for the reply. The command carries the same time
to live, so a command whose caller has given up is dropped by the broker instead of being run
late. A caller that timed out retries with the same idempotency key, and the invitation
service runs each key once.
"""

import asyncio

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage
from pydantic import ValidationError

from mga_core.errors import ApiError, ServiceUnavailable
from mga_core.ids import IdPrefix, new_id
from mga_events.commands import COMMAND_MODELS, CommandName, CommandReply
from mga_events.envelope import WireModel
from mga_messaging import acks
from mga_messaging.broker import Broker
from mga_messaging.headers import CORRELATION_ID, DEAD_LETTER_REASON
from mga_messaging.topology import Consumer

log = structlog.get_logger()

CommandHandler = Callable[[Any], Awaitable[dict[str, Any]]]


class RpcClient:
    """Send commands and wait for their replies."""

    def __init__(self, broker: Broker, *, timeout_seconds: float) -> None:
        self._broker = broker
        self._timeout = timeout_seconds
        self._pending: dict[str, asyncio.Future[CommandReply]] = {}
        self._channel: AbstractChannel | None = None
        self._reply_queue_name = ""

    async def start(self) -> None:
        self._channel = await self._broker.channel()
        queue = await self._channel.declare_queue(exclusive=True, auto_delete=True)
        self._reply_queue_name = queue.name
        await queue.consume(self._on_reply, no_ack=True)

    async def call(
        self, name: CommandName, command: WireModel, *, correlation_id: str
    ) -> dict[str, Any]:
        """Run ``command`` and return its result; raise the ``ApiError`` it replied with.

        Raises ``ServiceUnavailable`` when the command cannot be sent or no reply arrives in
        time.
        """
        if self._channel is None:
            raise RuntimeError("RpcClient.start() must run before call()")
        call_id = new_id(IdPrefix.COMMAND)
        future: asyncio.Future[CommandReply] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = future
        message = aio_pika.Message(
            body=command.model_dump_json(by_alias=True).encode(),
            content_type="application/json",
            correlation_id=call_id,
            reply_to=self._reply_queue_name,
            expiration=self._timeout,
            headers={CORRELATION_ID: correlation_id},
            type=name.value,
        )
        try:
            exchange = await self._channel.get_exchange(
                self._broker.names.commands_exchange, ensure=False
            )
            await exchange.publish(message, routing_key=name.value, timeout=self._timeout)
            reply = await asyncio.wait_for(future, self._timeout)
        except (TimeoutError, aio_pika.exceptions.AMQPError, ConnectionError) as exc:
            log.warning("command.failed", command=name.value, error=repr(exc))
            raise ServiceUnavailable() from exc
        finally:
            self._pending.pop(call_id, None)

        if reply.error is not None:
            raise ApiError.from_wire(reply.error)
        return reply.result or {}

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._pending.get(message.correlation_id or "")
        if future is None or future.done():
            log.info("command.reply_unclaimed", call_id=message.correlation_id)
            return
        try:
            future.set_result(CommandReply.model_validate_json(message.body))
        except ValidationError as exc:
            future.set_exception(ServiceUnavailable("A service sent an unreadable reply."))
            log.error("command.reply_invalid", error=str(exc))


class RpcServer:
    """Consume the command queue and reply to each command's caller."""

    def __init__(
        self,
        broker: Broker,
        *,
        owner: Consumer,
        handlers: Mapping[CommandName, CommandHandler],
        prefetch: int,
        service: str,
    ) -> None:
        self._broker = broker
        self._queue_name = broker.names.command_queue(owner)
        self._handlers = handlers
        self._prefetch = prefetch
        self._service = service
        self._channel: AbstractChannel | None = None
        self._queue: aio_pika.abc.AbstractQueue | None = None
        self._consumer_tag: str | None = None

    async def start(self) -> None:
        self._channel = await self._broker.channel(prefetch=self._prefetch, on_return_raises=False)
        self._queue = await self._channel.get_queue(self._queue_name, ensure=True)
        self._consumer_tag = await self._queue.consume(self._on_command)
        log.info("command_server.started", queue=self._queue_name)

    async def stop(self) -> None:
        """Stop taking commands; unacknowledged ones go back to the queue for another replica."""
        if self._queue is None or self._consumer_tag is None:
            return
        try:
            await self._queue.cancel(self._consumer_tag)
        except (aio_pika.exceptions.AMQPError, ConnectionError) as exc:
            log.warning("command_server.cancel_failed", error=repr(exc))

    async def _on_command(self, message: AbstractIncomingMessage) -> None:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            service=self._service,
            command=message.type,
            correlation_id=str((message.headers or {}).get(CORRELATION_ID, "")) or None,
        )
        try:
            reply = await self._run(message)
            if reply is None:
                return
            await self._reply(message, reply)
            await acks.ack(message)
        finally:
            structlog.contextvars.clear_contextvars()

    async def _run(self, message: AbstractIncomingMessage) -> CommandReply | None:
        try:
            name = CommandName(message.type or "")
            command = COMMAND_MODELS[name].model_validate_json(message.body)
        except (ValueError, ValidationError) as exc:
            await self._dead_letter(message, f"malformed command: {exc}")
            return None

        try:
            result = await self._handlers[name](command)
        except ApiError as exc:
            log.info("command.rejected", code=exc.code, param=exc.param)
            return CommandReply(error=exc.to_wire())
        except Exception as exc:  # a bug or an outage: the caller gets a retryable 503
            log.exception("command.crashed", error=repr(exc))
            return CommandReply(error=ServiceUnavailable().to_wire())
        log.info("command.handled")
        return CommandReply(result=result)

    async def _reply(self, message: AbstractIncomingMessage, reply: CommandReply) -> None:
        if not message.reply_to or self._channel is None:
            return
        try:
            await self._channel.default_exchange.publish(
                aio_pika.Message(
                    body=reply.model_dump_json(by_alias=True).encode(),
                    content_type="application/json",
                    correlation_id=message.correlation_id,
                ),
                routing_key=message.reply_to,
                mandatory=False,
                timeout=10,
            )
        except (aio_pika.exceptions.AMQPError, ConnectionError, TimeoutError) as exc:
            # The caller times out and retries with its idempotency key.
            log.warning("command.reply_failed", error=repr(exc))

    async def _dead_letter(self, message: AbstractIncomingMessage, reason: str) -> None:
        log.error("command.dead_lettered", reason=reason)
        if self._channel is not None:
            try:
                exchange = await self._channel.get_exchange(
                    self._broker.names.dead_letter_exchange, ensure=False
                )
                await exchange.publish(
                    aio_pika.Message(
                        body=message.body,
                        type=message.type,
                        headers={**(message.headers or {}), DEAD_LETTER_REASON: reason[:1000]},
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key=self._queue_name,
                    timeout=10,
                )
                await acks.ack(message)
                return
            except (aio_pika.exceptions.AMQPError, ConnectionError, TimeoutError) as exc:
                log.warning("command.dead_letter_publish_failed", error=repr(exc))
        await acks.reject(message)


