"""A webhook receiver on 127.0.0.1 whose reply to each request is scripted by the test."""

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field

from fastapi import FastAPI, Request, Response

# Maximum time a hanging reply waits. Teardown releases it earlier.
_HANG_LIMIT_SECONDS = 60


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str = "ok"
    # Seconds to wait before replying.
    delay: float = 0.0
    # Never reply until the receiver is released; the sender has timed out by then.
    hang: bool = False


@dataclass(frozen=True)
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: bytes
    # Event loop time when the request arrived.
    received_at: float


class Receiver:
    """A test HTTP server that records every request by path and responds with the path's
    scripted replies in order.

    A path whose script is used up, or that has none, responds with 200.
    """

    def __init__(self) -> None:
        self.requests: dict[str, list[ReceivedRequest]] = defaultdict(list)
        self._scripts: dict[str, list[Reply]] = {}
        self._repeat: dict[str, Reply] = {}
        self.released = asyncio.Event()
        self.base_url = ""
        self.app = FastAPI()
        self.app.add_api_route("/{name}", self._handle, methods=["POST"])

    def script(self, name: str, *replies: Reply, then: Reply | None = None) -> str:
        """Set the replies of a path and return its URL; ``then`` is the reply to all later requests."""
        self._scripts[name] = list(replies)
        if then is not None:
            self._repeat[name] = then
        return self.url(name)

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name}"

    def received(self, name: str) -> list[ReceivedRequest]:
        return list(self.requests.get(name, []))

    async def _handle(self, name: str, request: Request) -> Response:
        body = await request.body()
        self.requests[name].append(
            ReceivedRequest(
                path=name,
                headers={key.lower(): value for key, value in request.headers.items()},
                body=body,
                received_at=asyncio.get_running_loop().time(),
            )
        )
        script = self._scripts.get(name, [])
        reply = script.pop(0) if script else self._repeat.get(name, Reply())
        if reply.hang:
            try:
                await asyncio.wait_for(self.released.wait(), timeout=_HANG_LIMIT_SECONDS)
            except TimeoutError:
                pass
        elif reply.delay:
            await asyncio.sleep(reply.delay)
        return Response(reply.body, status_code=reply.status, headers=reply.headers)
