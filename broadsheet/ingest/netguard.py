"""Which network addresses Broadsheet may contact.

Publishers choose the URLs we fetch, so a feed or a redirect can point at the operator's own
network: a database on 10.x, a router admin page, or the cloud metadata service at
169.254.169.254 that hands out credentials. Every address a hostname resolves to is checked here
before any connection is made, and the fetcher then connects to exactly the address that passed.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Protocol

from broadsheet.ingest.errors import ErrorKind, FetchError

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

# ipaddress calls 100.64/10 neither private nor global in every Python version we support.
_SHARED = ip_network("100.64.0.0/10")
# NAT64 gateways translate this prefix to the embedded IPv4 address, private ones included.
_NAT64 = ip_network("64:ff9b::/96")

# getaddrinfo has no timeout of its own; asking from a small pool lets the caller give up at its
# deadline while a stuck lookup finishes in the background.
_RESOLVER = ThreadPoolExecutor(max_workers=4, thread_name_prefix="broadsheet-dns")


class AddressRules(Protocol):
    allow_private_networks: bool
    allowed_networks: tuple[IPNetwork, ...]


def parse_networks(values: Iterable[str | IPNetwork]) -> tuple[IPNetwork, ...]:
    """Turn "10.1.0.0/16" or "127.0.0.1" strings into networks; a bad entry raises ValueError."""
    if isinstance(values, str):
        values = [values]
    networks = []
    for value in values:
        try:
            networks.append(ip_network(str(value).strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"not a network or address: {value!r} ({exc})") from None
    return tuple(networks)


def literal_address(host: str) -> IPAddress | None:
    """The address when ``host`` is an IP literal (brackets allowed), so it needs no DNS."""
    try:
        return ip_address(host.strip("[]"))
    except ValueError:
        return None


def blocked_reason(ip: IPAddress, rules: AddressRules) -> str | None:
    """Why ``ip`` must not be contacted, or None when it may be."""
    if rules.allow_private_networks:
        return None
    inner = _embedded_ipv4(ip)
    candidates = [ip] if inner is None else [inner, ip]
    if any(_inside(candidate, rules.allowed_networks) for candidate in candidates):
        return None
    for candidate in candidates:
        reason = _category(candidate)
        if reason:
            return reason
    return None


def resolve(host: str, port: int, timeout: float | None = None) -> list[IPAddress]:
    """All addresses for ``host``, in resolver order; literals are returned without DNS."""
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    future = _RESOLVER.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        infos = future.result(timeout)
    except FutureTimeout:
        future.cancel()
        raise FetchError(
            ErrorKind.TIMEOUT, f"no answer resolving {host} within {timeout} s"
        ) from None
    except (OSError, UnicodeError) as exc:
        raise FetchError(ErrorKind.DNS, f"cannot resolve {host}: {_reason(exc)}") from exc
    addresses = list(dict.fromkeys(ip_address(info[4][0]) for info in infos))
    if not addresses:
        raise FetchError(ErrorKind.DNS, f"cannot resolve {host}: no addresses")
    return addresses


def checked_addresses(
    host: str, port: int, rules: AddressRules, timeout: float | None = None
) -> list[IPAddress]:
    """Resolve ``host`` and refuse it if ANY address is off limits.

    One bad record is enough: a name that mixes a public and a private address would otherwise
    reach the private one whenever the public one fails to answer.
    """
    addresses = resolve(host, port, timeout)
    for ip in addresses:
        reason = blocked_reason(ip, rules)
        if reason:
            shown = str(ip) if literal_address(host) else f"{host} resolves to {ip}, which"
            raise FetchError(ErrorKind.BLOCKED_ADDRESS, f"{shown} is a {reason} address")
    return addresses


def _category(ip: IPAddress) -> str | None:
    checks = (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("shared (carrier-grade NAT)", ip in _SHARED),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("site-local", isinstance(ip, IPv6Address) and ip.is_site_local),
        ("non-public", not ip.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def _embedded_ipv4(ip: IPAddress) -> IPv4Address | None:
    """The IPv4 address an IPv6 form would reach (mapped, 6to4, Teredo client, NAT64)."""
    if isinstance(ip, IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _inside(ip: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    return any(ip.version == net.version and ip in net for net in networks)


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
