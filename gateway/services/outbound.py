"""POSTs to sellers' webhook receivers without letting a URL reach into our own network (SSRF).

A seller chooses the URL, so it is hostile input: ``http://169.254.169.254/…`` or a name that
resolves to ``10.0.0.5`` would make the gateway call the cloud's metadata service or an
internal system for them. So, per attempt:

1. the host is resolved **once**; every address it resolves to must be public (a name that
   also resolves to a private address is refused: which one a client picks is not ours to
   guess);
2. the connection goes to that pinned address (:class:`PinnedTransport` rewrites the request
   to the IP), while the ``Host`` header and TLS SNI / certificate check keep the name, so a
   DNS answer that changes between check and connect (rebinding) is never used;
3. redirects are not followed (a 3xx is "not delivered"), proxies from the environment are
   ignored, and the receiver's body is never read: only its status code counts.

Refused: loopback, private (RFC 1918), link-local (169.254/16, fe80::/10), unique-local
(fc00::/7), shared (100.64/10), multicast, reserved, unspecified, IPv4-mapped / 6to4 / NAT64
IPv6 (they smuggle an IPv4 address), and the cloud metadata addresses. Outside production a
setting allows private addresses (a receiver on localhost); metadata addresses never.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# The cloud metadata services (AWS/GCP/Azure/OpenStack, AWS IPv6, Alibaba, Oracle): refused
# even where private addresses are allowed for development.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
# IPv6 ranges that carry an IPv4 address inside: a way around IPv4 checks.
_EMBEDS_IPV4 = (
    ipaddress.ip_network("2002::/16"),  # 6to4
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64
    ipaddress.ip_network("64:ff9b:1::/48"),  # local-use NAT64
)
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
_SHARED = ipaddress.ip_network("100.64.0.0/10")

# One TLS context for every attempt (building one reads the CA bundle: ~ms and memory).
_TLS = ssl.create_default_context()


class AddressRefused(Exception):
    """The receiver's address is not one we may connect to; the message says why."""


def refusal(ip: IPAddress, *, allow_private: bool) -> str | None:
    """Why ``ip`` may not be contacted, or None when it may."""
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if allow_private:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return "an IPv4-mapped IPv6 address"
        if any(ip in net for net in _EMBEDS_IPV4):
            return "an IPv6 address that embeds an IPv4 address"
        if ip in _UNIQUE_LOCAL:
            return "a unique-local address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return "a reserved address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if ip.is_private or not ip.is_global:
        return "a private address"
    return None


def url_problem(url: str, *, allow_plain_http: bool) -> str | None:
    """What is wrong with a receiver URL as written (before any lookup), or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    schemes = ("https", "http") if allow_plain_http else ("https",)
    if parts.scheme not in schemes:
        return "must start with https://" if not allow_plain_http else "must be http(s)"
    if not parts.hostname:
        return "has no host"
    if parts.username is not None or parts.password is not None:
        return "must not contain a user name or password"
    if parts.fragment:
        return "must not contain a #fragment"
    if port == 0:
        return "has an invalid port"
    return None


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def resolve_pinned(host: str, port: int, *, allow_private: bool) -> list[IPAddress]:
    """The addresses to connect to, in the resolver's order; raises :class:`AddressRefused`.

    Every address of the name must be allowed: which one a client would use is not ours to
    guess, and a name that mixes public and private answers is a rebinding attempt. Only
    these are ever tried (the next when one refuses the connection, e.g. IPv6 first on a
    receiver listening on IPv4); the name is not resolved again.
    """
    literal = _literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            raise AddressRefused("the host name could not be resolved") from exc
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
        if not addresses:
            raise AddressRefused("the host name could not be resolved")
    for ip in addresses:
        reason = refusal(ip, allow_private=allow_private)
        if reason is not None:
            raise AddressRefused(f"the host resolves to {reason}")
    return list(dict.fromkeys(addresses))


class PinnedTransport(httpx.AsyncBaseTransport):
    """Sends every request to one IP address; ``Host`` and TLS SNI keep the URL's name.

    httpx has set the ``Host`` header from the original URL by the time a transport sees the
    request, so only the connection target changes. The certificate is checked against the
    name (``sni_hostname`` is the ``server_hostname`` httpcore verifies).
    """

    def __init__(self, ip: IPAddress, inner: httpx.AsyncBaseTransport) -> None:
        self.ip = ip
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if _literal(host) is None and request.url.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": host}
        request.url = request.url.copy_with(host=str(self.ip))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _post_to(
    ip: IPAddress, url: str, body: bytes, headers: dict[str, str], timeout: float
) -> int:
    transport = PinnedTransport(
        ip, httpx.AsyncHTTPTransport(verify=_TLS, trust_env=False, retries=0)
    )
    async with (
        httpx.AsyncClient(
            transport=transport, follow_redirects=False, trust_env=False, timeout=timeout
        ) as client,
        client.stream("POST", url, content=body, headers=headers) as response,
    ):
        # The body is never read (closing the stream drops it): a receiver's answer is not
        # ours to keep or show, and a huge one costs nothing.
        return response.status_code


@dataclass(frozen=True)
class PostOutcome:
    """What one attempt came to: a status code, or our own words for why there was none."""

    delivered: bool
    status_code: int | None
    error: str | None
    latency_ms: int
    refused: bool = False


async def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    allow_private: bool,
) -> PostOutcome:
    """One POST to a receiver: resolved once, pinned, no redirects, body never read.

    A 2xx is delivered; anything else (3xx included) is not. Never raises for the receiver's
    faults: the outcome says what happened, in words safe to show the seller.
    """
    started = time.monotonic()

    def outcome(
        status: int | None = None, error: str | None = None, *, refused: bool = False
    ) -> PostOutcome:
        delivered = status is not None and 200 <= status < 300
        return PostOutcome(
            delivered,
            status,
            error if error or delivered else f"HTTP {status}",
            int((time.monotonic() - started) * 1000),
            refused,
        )

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        async with asyncio.timeout(timeout):
            addresses = await resolve_pinned(host, port, allow_private=allow_private)
            for index, ip in enumerate(addresses):
                try:
                    return outcome(await _post_to(ip, url, body, headers, timeout))
                except httpx.ConnectError:
                    if index == len(addresses) - 1:
                        raise
            raise AssertionError("unreachable: resolve_pinned returns at least one address")
    except AddressRefused as exc:
        return outcome(error=f"not sent: {exc}", refused=True)
    except TimeoutError:
        return outcome(error="timed out")
    except httpx.TimeoutException:
        return outcome(error="timed out")
    except httpx.ConnectError as exc:
        tls = isinstance(exc.__cause__, ssl.SSLError) or "SSL" in str(exc)
        return outcome(error="TLS handshake failed" if tls else "connection failed")
    except httpx.HTTPError:
        return outcome(error="connection lost")
