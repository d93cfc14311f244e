"""Checks that keep webhook deliveries away from internal networks (server-side request forgery).

An endpoint URL is checked when it is registered and again before every attempt, because
the addresses a name resolves to can change after registration. Every address of the name
must be public. One internal address rejects the whole name, so a name with both a public
and an internal record cannot slip through. The attempt then connects to the checked
address itself (``Target.address``), so a second lookup cannot return something else.

URLs are parsed with ``httpx.URL``, the parser of the client that sends the request, so
the host checked is the host connected to.
"""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Protocol

import httpx

MAX_URL_LENGTH = 2048

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges that the ``ipaddress`` flags of Python 3.11 do not cover by themselves.
_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, RFC 6598
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # embeds an IPv4 address, RFC 6052


class UnsafeTarget(Exception):
    """An endpoint URL the dispatcher must not send to.

    The message is a predicate about the URL ("must use https ..."), so callers put the
    URL's name in front of it.
    """


class Resolver(Protocol):
    """Resolves a host name to the IP addresses a TCP connection may use."""

    async def resolve(self, host: str, port: int) -> list[str]: ...


class SystemResolver:
    """The operating system's resolver, through ``loop.getaddrinfo``."""

    async def resolve(self, host: str, port: int) -> list[str]:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM
        )
        addresses: list[str] = []
        for _family, _type, _proto, _canonname, sockaddr in infos:
            address = str(sockaddr[0])
            if address not in addresses:
                addresses.append(address)
        return addresses


@dataclass(frozen=True)
class Target:
    """A checked endpoint URL and the address an attempt connects to."""

    url: httpx.URL
    address: str

    @property
    def host_header(self) -> str:
        """Return the Host header value: the name from the URL, with a non-default port."""
        return self.url.netloc.decode("ascii")


def parse_endpoint_url(url: str, *, livemode: bool, allow_private: bool) -> httpx.URL:
    """Parse an endpoint URL and apply the scheme rules; raise ``UnsafeTarget``.

    Live endpoints must use https unless ``allow_private`` is set. Credentials in the URL are
    rejected because the URL is shown in API responses.
    """
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeTarget(f"must be at most {MAX_URL_LENGTH} characters")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise UnsafeTarget(f"is not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise UnsafeTarget(
            "must start with https:// (http:// is accepted only for test-mode endpoints, "
            "or on a development stack that allows private targets)"
        )
    if not parsed.host:
        raise UnsafeTarget("must name a host, such as https://hooks.example.com/mga")
    if parsed.userinfo:
        raise UnsafeTarget(
            "must not contain a user name or password; put a token in the path or query instead"
        )
    if parsed.scheme == "http" and livemode and not allow_private:
        raise UnsafeTarget("must use https for live-mode endpoints")
    return parsed


def blocked_reason(address: IPAddress) -> str | None:
    """Return why ``address`` is not a public unicast address, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            reason = blocked_reason(embedded)
            return f"{reason}, embedded in an IPv6 address" if reason else None
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED_ADDRESS_SPACE:
        return "shared address space (carrier-grade NAT)"
    if address.is_reserved:
        return "reserved"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "not globally routable"
    return None


async def resolve_target(
    url: str, *, livemode: bool, allow_private: bool, resolver: Resolver
) -> Target:
    """Parse, resolve and check an endpoint URL; raise ``UnsafeTarget``.

    A name that does not resolve raises ``UnsafeTarget`` too, with the resolver's error.
    """
    parsed = parse_endpoint_url(url, livemode=livemode, allow_private=allow_private)
    host = parsed.host
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        addresses: list[IPAddress] = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = await _resolve(parsed.raw_host.decode("ascii"), port, resolver)

    if not allow_private:
        for address in addresses:
            reason = blocked_reason(address)
            if reason is not None:
                raise UnsafeTarget(
                    f"must not point to a {reason} address: {host} resolves to {address}. "
                    "Webhook endpoints must be reachable from the public internet"
                )
    return Target(url=parsed, address=str(addresses[0]))


async def _resolve(host: str, port: int, resolver: Resolver) -> list[IPAddress]:
    try:
        resolved = await resolver.resolve(host, port)
    except OSError as exc:
        raise UnsafeTarget(
            f"must name a host that resolves; looking up {host} failed: {exc}"
        ) from None
    addresses: list[IPAddress] = []
    for text in resolved:
        # A scoped IPv6 address ("fe80::1%eth0") carries its interface after the percent sign.
        addresses.append(ipaddress.ip_address(text.split("%", 1)[0]))
    if not addresses:
        raise UnsafeTarget(f"must name a host that resolves; {host} has no IP addresses")
    return addresses
