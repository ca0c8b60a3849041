"""NetworkGate: schemes, userinfo, IPv4 spellings, private ranges, allow-lists. No internet needed."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any

import pytest

from pressroom.core.errors import UrlForbidden
from pressroom.net.gate import IPAddress, NetworkGate, Purpose, address_reason, parse_ipv4


def check(gate: NetworkGate, url: str, purpose: Purpose = "download") -> list[IPAddress]:
    return asyncio.run(gate.check(url, purpose))


def refused(gate: NetworkGate, url: str, purpose: Purpose = "download") -> str:
    with pytest.raises(UrlForbidden) as info:
        check(gate, url, purpose)
    assert info.value.details["url"] == url
    assert info.value.status == 422 and info.value.code == "URL_FORBIDDEN"
    return str(info.value.details["reason"])


def fake_resolver(table: dict[str, list[str]]) -> Any:
    async def resolve(host: str, port: int) -> list[IPAddress]:
        if host not in table:
            raise socket.gaierror("not found")
        return [ipaddress.ip_address(a) for a in table[host]]

    return resolve


GATE = NetworkGate()


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "File://localhost/etc/passwd",
        "ftp://example.com/x",
        "gopher://example.com/",
        "javascript:alert(1)",
        "data:text/html,hi",
        "dict://127.0.0.1:11211/",
        "//example.com/x",
        "example.com/x",
        "",
    ],
)
def test_non_http_schemes_refused(url: str) -> None:
    assert "scheme" in refused(GATE, url)


@pytest.mark.parametrize(
    "url",
    ["http://user:pass@8.8.8.8/", "http://8.8.8.8@127.0.0.1/", "http://@8.8.8.8/", "https://a%40b@8.8.8.8/"],
)
def test_userinfo_refused(url: str) -> None:
    assert "credentials" in refused(GATE, url)


@pytest.mark.parametrize(
    "url",
    [
        "http://8.8.8.8\\@127.0.0.1/",
        "http://8.8.8.8 /",
        "http://8.8.8.8/\n",
        "http://[::1%25eth0]/",
        "http://8.8.8.8:99999/",
        "http://8.8.8.8:abc/",
        "http://[::1/",
        "http:///path",
        "http://exa mple.com/",
        "http://1.2.3.4.5/",
        "http://08.0.0.1/",
    ],
)
def test_malformed_urls_refused(url: str) -> None:
    refused(GATE, url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://127.1/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://0x7f000001/",
        "http://017700000001/",
        "http://0177.0.0.1/",
        "http://127.0.0.1./",
        "http://0/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://localhost:8080/",
        "http://LOCALHOST/",
    ],
)
def test_loopback_in_any_spelling_refused(url: str) -> None:
    reason = refused(GATE, url)
    assert "loopback" in reason or "unspecified" in reason


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "metadata"),
        ("169.254.1.1", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.255", "carrier-grade NAT"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("255.255.255.255", "reserved"),
        ("240.0.0.1", "reserved"),
        ("192.0.2.1", "documentation"),
        ("198.18.0.1", "benchmarking"),
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("fe80::1", "link-local"),
        ("ff02::1", "multicast"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "metadata"),
        ("64:ff9b::a9fe:a9fe", "metadata"),  # NAT64
        ("2002:c0a8:0101::1", "private"),  # 6to4 of 192.168.1.1
        ("::7f00:1", "reserved"),  # IPv4-compatible (deprecated)
        ("2001:db8::1", "documentation"),
    ],
)
def test_non_public_addresses(address: str, expected: str) -> None:
    reason = address_reason(ipaddress.ip_address(address))
    assert reason is not None and expected in reason
    literal = f"[{address}]" if ":" in address else address
    assert expected in refused(GATE, f"http://{literal}/")


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111"])
def test_public_addresses_allowed(address: str) -> None:
    assert address_reason(ipaddress.ip_address(address)) is None
    literal = f"[{address}]" if ":" in address else address
    assert check(GATE, f"https://{literal}/x", "webhook") == [ipaddress.ip_address(address)]


@pytest.mark.parametrize(
    "spelling", ["127.1", "0x7f.1", "017700000001", "2130706433", "0x7f.0.0.1", "10.1", "1.2.3", "0xa.0xb.12.013"]
)
def test_ipv4_parsing_matches_inet_aton(spelling: str) -> None:
    assert parse_ipv4(spelling) == ipaddress.IPv4Address(socket.inet_aton(spelling))


def test_names_are_not_ipv4() -> None:
    assert parse_ipv4("example.com") is None
    assert parse_ipv4("1.2.3.example") is None


def test_unresolvable_host_refused() -> None:
    assert "does not resolve" in refused(GATE, "http://nonexistent.invalid/")


def test_any_private_record_refuses_the_host() -> None:
    gate = NetworkGate(resolver=fake_resolver({"mixed.test": ["8.8.8.8", "10.0.0.5"]}))
    assert "private" in refused(gate, "http://mixed.test/")


def test_all_records_returned_when_public() -> None:
    gate = NetworkGate(resolver=fake_resolver({"cdn.test": ["8.8.8.8", "2606:4700:4700::1111"]}))
    assert [str(ip) for ip in check(gate, "https://CDN.test./x")] == ["8.8.8.8", "2606:4700:4700::1111"]


def test_idn_hosts_are_encoded() -> None:
    gate = NetworkGate(resolver=fake_resolver({"xn--bcher-kva.test": ["8.8.8.8"]}))
    assert check(gate, "https://bücher.test/") == [ipaddress.ip_address("8.8.8.8")]


def test_render_needs_an_allowed_host() -> None:
    resolver = fake_resolver({"cdn.example.com": ["8.8.8.8"], "example.com": ["8.8.8.8"], "x.org": ["8.8.8.8"]})
    offline = NetworkGate(resolver=resolver)
    assert "render_public_hosts" in refused(offline, "https://cdn.example.com/a.css", "render")
    assert check(offline, "https://cdn.example.com/a.css", "download")  # other purposes: any public host

    pattern = NetworkGate(render_public_hosts=["*.example.com", "x.org"], resolver=resolver)
    assert check(pattern, "https://cdn.example.com/a.css", "render")
    assert check(pattern, "https://x.org/", "render")
    refused(pattern, "https://example.com/", "render")
    refused(pattern, "https://evilexample.com/", "render")

    anything = NetworkGate(render_public_hosts=["*"], resolver=resolver)
    assert check(anything, "https://x.org/", "render")
    real_dns = NetworkGate(render_public_hosts=["*"])
    assert "loopback" in refused(real_dns, "http://localhost/", "render")  # "*" means public hosts only


def test_allow_private_is_exact_host_and_port() -> None:
    gate = NetworkGate(allow_private=["127.0.0.1:8081", "LocalHost:9000", "[::1]:7000"])
    assert check(gate, "http://127.0.0.1:8081/hook", "webhook")
    assert check(gate, "http://2130706433:8081/hook", "webhook")  # same address, other spelling
    assert check(gate, "http://localhost:9000/", "webhook")
    assert check(gate, "http://[::1]:7000/", "webhook")
    refused(gate, "http://127.0.0.1:8082/hook", "webhook")
    refused(gate, "http://127.0.0.1/hook", "webhook")
    refused(gate, "http://10.0.0.1:8081/", "webhook")


def test_from_settings() -> None:
    from pressroom.config import NetSettings

    gate = NetworkGate.from_settings(NetSettings(render_public_hosts=["*"], allow_private=["127.0.0.1:1"]))
    assert gate.render_public_hosts == ("*",)
    assert check(gate, "http://127.0.0.1:1/", "render")


def test_unknown_purpose_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        check(GATE, "https://8.8.8.8/", "upload")  # type: ignore[arg-type]
