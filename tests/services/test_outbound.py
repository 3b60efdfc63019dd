"""The SSRF rules of webhook delivery: which addresses are refused, and the pinned connection."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from gateway.services.outbound import (
    AddressRefused,
    PinnedTransport,
    refusal,
    resolve_pinned,
    url_problem,
)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.5", "private"),
        ("172.16.3.4", "private"),
        ("192.168.1.10", "private"),
        ("169.254.10.1", "link-local"),
        ("fe80::1", "link-local"),
        ("fd12:3456::1", "unique-local"),
        ("::ffff:10.0.0.5", "IPv4-mapped"),
        ("::ffff:8.8.8.8", "IPv4-mapped"),
        ("2002:a00:1::1", "embeds an IPv4"),
        ("64:ff9b::a00:1", "embeds an IPv4"),
        ("100.64.0.1", "shared"),
        ("0.0.0.0", "reserved"),
        ("224.0.0.1", "reserved"),
        ("240.0.0.1", "reserved"),
        ("169.254.169.254", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("100.100.100.200", "cloud metadata"),
        ("198.51.100.7", "private"),  # documentation range: not global
        ("93.184.216.34", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_only_public_addresses_may_be_contacted(address: str, reason: str | None) -> None:
    found = refusal(ipaddress.ip_address(address), allow_private=False)
    if reason is None:
        assert found is None
    else:
        assert found is not None and reason in found


def test_development_allows_private_addresses_but_never_cloud_metadata() -> None:
    assert refusal(ipaddress.ip_address("127.0.0.1"), allow_private=True) is None
    assert refusal(ipaddress.ip_address("10.1.1.1"), allow_private=True) is None
    assert "metadata" in (
        refusal(ipaddress.ip_address("169.254.169.254"), allow_private=True) or ""
    )


@pytest.mark.parametrize(
    ("url", "plain_http", "problem"),
    [
        ("https://hooks.example.com/x", False, None),
        ("http://hooks.example.com/x", False, "https"),
        ("http://hooks.example.com/x", True, None),
        ("https://u:p@hooks.example.com/", False, "user name"),
        ("https://hooks.example.com/#frag", False, "fragment"),
        ("https:///nohost", False, "no host"),
        ("https://hooks.example.com:99999/", False, "not a valid URL"),
        ("javascript:alert(1)", True, "http(s)"),
    ],
)
def test_receiver_urls_as_written(url: str, plain_http: bool, problem: str | None) -> None:
    found = url_problem(url, allow_plain_http=plain_http)
    assert (found is None) if problem is None else (found is not None and problem in found)


async def test_a_name_resolving_to_a_loopback_address_is_refused() -> None:
    with pytest.raises(AddressRefused, match="loopback"):
        await resolve_pinned("localhost", 443, allow_private=False)
    assert all(ip.is_loopback for ip in await resolve_pinned("localhost", 443, allow_private=True))


async def test_the_pinned_transport_connects_to_the_address_and_keeps_name_and_sni() -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    transport = PinnedTransport(ipaddress.ip_address("93.184.216.34"), httpx.MockTransport(record))
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.post("https://hooks.example.com:8443/in?x=1", content=b"{}")
    assert response.status_code == 204
    (request,) = seen
    assert str(request.url) == "https://93.184.216.34:8443/in?x=1"
    assert request.headers["host"] == "hooks.example.com:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.com"

    transport6 = PinnedTransport(ipaddress.ip_address("2606:4700::1"), httpx.MockTransport(record))
    async with httpx.AsyncClient(transport=transport6) as client:
        await client.post("http://hooks.example.com/in", content=b"{}")
    assert seen[-1].url.host == "2606:4700::1"
    assert "sni_hostname" not in seen[-1].extensions  # plain http has no TLS
