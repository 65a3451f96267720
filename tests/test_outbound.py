"""The outbound guard: which addresses the server may send a request to, and that webhooks use it.

Webhooks use it: tests/watch/test_delivery.py sends to a real receiver
through it. The tables name every form an internal address can hide in: IPv6 forms that
carry an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) and IPv4
literals in decimal, octal or hex, which the resolver turns into 127.0.0.1.
Resolving them needs no network: they are all numeric.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from ipaddress import ip_address
from pathlib import Path

import pytest

from receipts import outbound

SRC = Path(__file__).resolve().parent.parent / "src" / "receipts"

# Refused whatever the setting says.
NEVER = [
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64
    "http://[64:ff9b::169.254.169.254]/",
    "http://[2002:a9fe:a9fe::]/",  # 6to4
    "http://[2002:a9fe:a9fe:1::1]/",
    "http://[2001:0:4136:e378:8000:63bf:5601:5601]/",  # Teredo, client 169.254.169.254
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo, client 192.0.2.45
    "http://[2001:0:a9fe:a9fe:8000:63bf:f7f7:f7f7]/",  # Teredo, server 169.254.169.254
    "http://[64:ff9b:1:a9fe:a9:fe00::]/",  # local NAT64, /48
    "http://[64:ff9b:1::a9fe:a9fe]/",  # local NAT64, /96
    "http://[::127.0.0.1]/",  # IPv4-compatible: deprecated, never routed
    "http://[::a9fe:a9fe]/",
    "http://[::ffff:0:7f00:1]/",  # IPv4-translated
    "http://[fd00:ec2::254]/",  # the metadata service over IPv6
    "http://[fe80::1]/",
    "http://[fec0::1]/",
    "http://[ff02::1]/",
    "http://[::]/",
    "http://0.0.0.0/",
    "http://0/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://240.0.0.1/",
    "http://192.0.2.1/",
    "http://198.51.100.7/",
    "http://203.0.113.9/",
    "http://198.18.0.1/",
    "http://192.0.0.8/",
    "http://[2001:db8::1]/",
    "http://[3fff::1]/",
    "http://[100::1]/",
    "http://[2001:2::1]/",
    "http://[4000::1]/",
]
# Refused unless RECEIPTS_ALLOW_PRIVATE_ADDRESSES is on.
PRIVATE = [
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://127.1/",
    "http://2130706433/",  # 127.0.0.1 in decimal
    "http://0x7f.1/",
    "http://0x7f000001/",
    "http://017700000001/",  # octal
    "http://0177.0.0.1/",
    "https://10.0.0.5/hook",
    "http://172.16.3.4/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:10.1.2.3]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[64:ff9b::127.0.0.1]/",
    "http://[64:ff9b::a00:1]/",
    "http://[2002:7f00:1::]/",
    "http://[2002:c0a8:101::1]/",
    "http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/",  # Teredo, client 10.0.0.1
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo, client 127.0.0.1
    "http://[2001:0:a00:1:8000:63bf:f7f7:f7f7]/",  # Teredo, server 10.0.0.1
]
PUBLIC = [
    "https://8.8.8.8/hook",
    "http://93.184.215.14:8080/x?y=1",
    "http://134744072/",  # 8.8.8.8 in decimal
    "http://[2606:4700:4700::1111]/",
    "http://[::ffff:8.8.8.8]/",
    "http://[64:ff9b::808:808]/",  # NAT64 of 8.8.8.8
    "http://[2002:808:808::1]/",  # 6to4 of 8.8.8.8
    "http://[2001:0:4136:e378:8000:63bf:f7f7:f7f7]/",  # Teredo, client 8.8.8.8
]


@pytest.fixture
def private_off(settings):
    settings.ALLOW_PRIVATE_ADDRESSES = False
    return settings


@pytest.fixture
def private_on(settings):
    settings.ALLOW_PRIVATE_ADDRESSES = True
    return settings


@pytest.mark.parametrize("url", NEVER + PRIVATE)
def test_internal_addresses_are_refused_in_every_form(url: str, private_off) -> None:
    with pytest.raises(outbound.Refused, match="not a public address"):
        outbound.check_url(url)


@pytest.mark.parametrize("url", NEVER)
def test_link_local_reserved_and_metadata_stay_refused_with_the_setting(
    url: str, private_on
) -> None:
    with pytest.raises(outbound.Refused, match="not a public address"):
        outbound.check_url(url)


@pytest.mark.parametrize("url", PRIVATE)
def test_the_setting_allows_loopback_and_private_networks(url: str, private_on) -> None:
    assert outbound.check_url(url).addresses


@pytest.mark.parametrize("url", PUBLIC)
def test_public_addresses_are_allowed(url: str, private_off) -> None:
    destination = outbound.check_url(url)
    assert destination.addresses
    assert destination.scheme in ("http", "https")


def test_a_refusal_says_what_the_address_carries(private_off) -> None:
    with pytest.raises(outbound.Refused) as nat64:
        outbound.check_url("http://[64:ff9b::a9fe:a9fe]/")
    assert "NAT64 for 169.254.169.254, a link-local address" in str(nat64.value)
    with pytest.raises(outbound.Refused) as decimal:
        outbound.check_url("http://2130706433/")
    assert "2130706433 resolves to 127.0.0.1, which is a loopback address" in str(decimal.value)
    assert "RECEIPTS_ALLOW_PRIVATE_ADDRESSES=1" in str(decimal.value)
    with pytest.raises(outbound.Refused) as metadata:
        outbound.check_url("http://169.254.169.254/")
    assert "RECEIPTS_ALLOW_PRIVATE_ADDRESSES" not in str(metadata.value)


@pytest.mark.parametrize(
    ("address", "carried"),
    [
        ("::ffff:169.254.169.254", ["169.254.169.254"]),
        ("::10.0.0.1", ["10.0.0.1"]),
        ("64:ff9b::a9fe:a9fe", ["169.254.169.254"]),
        ("2002:a9fe:a9fe::", ["169.254.169.254"]),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", ["65.54.227.120", "192.0.2.45"]),
        ("2001:db8::1", []),
        ("::1", []),
    ],
)
def test_embedded_ipv4_addresses_are_found(address: str, carried: list[str]) -> None:
    found = [str(v4) for v4, _form in outbound.embedded_ipv4(ip_address(address))]  # type: ignore[arg-type]
    assert found == carried


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/hook",
        "http://user:pass@8.8.8.8/hook",
        "http:///hook",
        "http://8.8.8.8:x/",
    ],
)
def test_urls_that_are_not_plain_http_are_refused(url: str) -> None:
    with pytest.raises(outbound.Refused):
        outbound.check_url(url)


def test_no_other_module_sends_requests_of_its_own() -> None:
    """Every request to another host goes through receipts.outbound."""
    sending = re.compile(
        r"\b(urlopen|HTTPS?Connection|(?<!connections\.)create_connection|getaddrinfo)\s*\("
        r"|^\s*(import|from)\s+(requests|httpx|urllib3|aiohttp|urllib\.request)\b",
        re.MULTILINE,
    )
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if path.name != "outbound.py" and sending.search(path.read_text())
    ]
    assert offenders == []


@pytest.mark.parametrize(
    ("environment", "allowed"),
    [
        ({}, False),
        ({"RECEIPTS_ALLOW_PRIVATE_ADDRESSES": "1"}, True),
        ({"RECEIPTS_WATCH_ALLOW_PRIVATE_WEBHOOKS": "1"}, True),
        (
            {"RECEIPTS_ALLOW_PRIVATE_ADDRESSES": "0", "RECEIPTS_WATCH_ALLOW_PRIVATE_WEBHOOKS": "1"},
            False,
        ),
        ({"RECEIPTS_DEBUG": "1"}, True),
    ],
)
def test_the_setting_and_its_older_name(
    environment: dict[str, str], allowed: bool, tmp_path
) -> None:
    names = (
        "RECEIPTS_ALLOW_PRIVATE_ADDRESSES",
        "RECEIPTS_WATCH_ALLOW_PRIVATE_WEBHOOKS",
        "RECEIPTS_DEBUG",
    )
    env = {k: v for k, v in os.environ.items() if k not in names}
    env.update(environment, RECEIPTS_DATA_DIR=str(tmp_path))
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from receipts.config import settings; print(settings.ALLOW_PRIVATE_ADDRESSES)",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == str(allowed)


def test_every_address_a_name_resolves_to_is_checked(private_off, monkeypatch) -> None:
    """One internal address among public ones is enough to refuse the name."""

    def resolver(host, port, *args, **kwargs):
        assert host == "mixed.test"
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", port)),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("64:ff9b::a9fe:a9fe", port, 0, 0)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    with pytest.raises(outbound.Refused) as refused:
        outbound.check_url("https://mixed.test/hook")
    assert "mixed.test resolves to 64:ff9b::a9fe:a9fe, which is NAT64 for 169.254.169.254" in str(
        refused.value
    )
