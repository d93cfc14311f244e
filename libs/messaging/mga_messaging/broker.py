"""One robust connection per process, its channels and its readiness."""

import asyncio
from dataclasses import dataclass, field

import aio_pika
import structlog
from aio_pika.abc import AbstractRobustChannel, AbstractRobustConnection

from mga_messaging.topology import Names, declare_topology

log = structlog.get_logger()


@dataclass
class Broker:
    """A robust RabbitMQ connection that reconnects, restores channels and consumers."""

    url: str
    names: Names
    retry_delays_seconds: list[int]
    # Shown by the broker (rabbitmqctl list_connections, management UI) for this connection.
    connection_name: str = "mga"
    connection: AbstractRobustConnection | None = None
    _channels: list[AbstractRobustChannel] = field(default_factory=list)

    async def connect(self, *, attempts: int = 30) -> None:
        """Connect, retrying for a while so that a service may start before the broker."""
        for attempt in range(1, attempts + 1):
            try:
                self.connection = await aio_pika.connect_robust(
                    self.url, reconnect_interval=1, client_properties={"connection_name": self.connection_name}
                )
                break
            except (ConnectionError, OSError, aio_pika.exceptions.AMQPConnectionError) as exc:
                if attempt == attempts:
                    raise
                log.warning("broker.connect_failed", attempt=attempt, error=repr(exc))
                await asyncio.sleep(1)
        assert self.connection is not None
        self.connection.close_callbacks.add(self._on_close)
        self.connection.reconnect_callbacks.add(self._on_reconnect)

        channel = await self.channel()
        await declare_topology(channel, self.names, self.retry_delays_seconds)
        log.info("broker.connected", prefix=self.names.prefix)

    async def channel(
        self, *, prefetch: int | None = None, on_return_raises: bool = True
    ) -> AbstractRobustChannel:
        if self.connection is None:
            raise RuntimeError("Broker.connect() must run before channels are opened")
        channel = self.connection.channel(
            publisher_confirms=True, on_return_raises=on_return_raises
        )
        await channel.initialize()
        if prefetch is not None:
            await channel.set_qos(prefetch_count=prefetch)
        self._channels.append(channel)
        return channel

    def is_ready(self) -> bool:
        """Tell whether the connection and every channel are open right now."""
        if self.connection is None or self.connection.is_closed:
            return False
        if not self.connection.connected.is_set():
            return False
        return all(not channel.is_closed for channel in self._channels)

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()

    def _on_close(self, _connection: object, exc: BaseException | None = None) -> None:
        log.warning("broker.connection_lost", error=repr(exc) if exc else None)

    def _on_reconnect(self, _connection: object) -> None:
        log.info("broker.reconnected")
