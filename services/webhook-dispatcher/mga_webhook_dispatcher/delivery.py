"""The HTTP sender: one POST of a signed body to a checked endpoint address."""

from dataclasses import dataclass
from typing import Protocol

import httpx

from mga_webhook_dispatcher.ssrf import Target

# Part of the response body kept with the attempt, so integrators can see their endpoint's
# response. The rest of the body is never read.
RESPONSE_EXCERPT_BYTES = 1024


@dataclass(frozen=True)
class OutgoingRequest:
    target: Target
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class ReceivedResponse:
    status_code: int
    retry_after: str | None
    location: str | None
    # At most RESPONSE_EXCERPT_BYTES of the body, decoded as UTF-8 with replacement characters.
    body_excerpt: str


class WebhookSender(Protocol):
    """Sends one attempt. Network failures and timeouts raise the HTTP client's exceptions."""

    async def send(self, request: OutgoingRequest) -> ReceivedResponse: ...

    async def aclose(self) -> None: ...


class HttpxSender:
    """Send attempts with httpx, to the address the SSRF check approved.

    The request URL carries the checked IP address, so no second DNS lookup happens. The
    Host header and the TLS server name (``sni_hostname``, an httpx request extension) keep
    the name from the endpoint URL, so virtual hosting and certificate verification work
    as if the name had been used. Redirects are not followed, proxies from the environment
    are not used, and connections are not kept alive: a pooled connection is keyed by the
    IP address and could otherwise carry a request for another name on that address.
    """

    def __init__(self, *, timeout_seconds: float) -> None:
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(timeout_seconds),
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    async def send(self, request: OutgoingRequest) -> ReceivedResponse:
        target = request.target
        url = target.url.copy_with(host=target.address)
        headers = {"Host": target.host_header, **request.headers}
        extensions = {}
        if target.url.scheme == "https":
            extensions["sni_hostname"] = target.url.raw_host.decode("ascii")
        async with self._client.stream(
            "POST", url, content=request.body, headers=headers, extensions=extensions
        ) as response:
            excerpt = bytearray()
            async for chunk in response.aiter_bytes():
                excerpt.extend(chunk)
                if len(excerpt) >= RESPONSE_EXCERPT_BYTES:
                    break
        return ReceivedResponse(
            status_code=response.status_code,
            retry_after=response.headers.get("Retry-After"),
            location=response.headers.get("Location"),
            body_excerpt=bytes(excerpt[:RESPONSE_EXCERPT_BYTES]).decode("utf-8", "replace"),
        )

    async def aclose(self) -> None:
        await self._client.aclose()
