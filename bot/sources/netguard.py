"""The SSRF guard: decide whether an address may be fetched, after DNS resolution.

A feed URL or a link sent to /summarize is attacker-controlled. Without this guard it
could make the bot read the cloud metadata service, a router's admin page or a database
on the host. Every fetched URL and every redirect target goes through ``resolve``; the
connection is then made to the address that was checked (no second lookup, so DNS
rebinding cannot swap it).

Two ways to let private addresses through, both explicit: ``allow_private`` (everything,
for a bot that only reads a trusted LAN) and ``allowed_networks`` (named exceptions, e.g.
the one machine that runs an RSS bridge, while the metadata service stays refused).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from ..config import IPNetwork

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Python's tables call a few special-purpose IPv4 blocks global; they are not.
_EXTRA_REFUSED = (("special-purpose", ipaddress.ip_network("192.0.0.0/24")),)
# IPv6 prefixes that carry an IPv4 address: judge the IPv4 address they lead to.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class BlockedAddressError(Exception):
    """The URL points at an address the bot refuses to fetch."""


class ResolutionError(BlockedAddressError):
    """The host name could not be resolved (a network failure rather than a refusal)."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def refusal_reason(address: IPAddress) -> str | None:
    """Why an address is refused (``None`` if it is a public unicast address)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return refusal_reason(embedded)
    checks = (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("not globally routable", not address.is_global),
        *((name, address in network) for name, network in _EXTRA_REFUSED),
    )
    for name, hit in checks:
        if hit:
            return f"{name} address {address}"
    return None


def _is_allowed(address: IPAddress, networks: Sequence[IPNetwork]) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == net.version and address in net for net in networks)


@dataclass(frozen=True)
class Resolved:
    """The addresses a host name resolved to, all of them checked."""

    host: str
    addresses: tuple[IPAddress, ...]


def check_addresses(
    host: str,
    addresses: list[IPAddress],
    *,
    allow_private: bool,
    allowed_networks: Sequence[IPNetwork] = (),
) -> Resolved:
    """Refuse the host if *any* of its addresses is refused (the client may pick any)."""
    if not addresses:
        raise ResolutionError(f"{host} did not resolve to any address")
    if not allow_private:
        for address in addresses:
            reason = refusal_reason(address)
            if reason and not _is_allowed(address, allowed_networks):
                raise BlockedAddressError(f"refusing to fetch {host}: it is a {reason}")
    return Resolved(host, tuple(addresses))


def _lookup_failure(exc: socket.gaierror | UnicodeError) -> str:
    """Why a host name did not resolve, in words (not "[Errno -2] ...")."""
    if isinstance(exc, UnicodeError):
        return "not a valid host name"
    if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", None)):
        return "no such host (or no network to look it up)"
    if exc.errno == socket.EAI_AGAIN:
        return "the name service did not answer (no network?)"
    return str(exc.strerror or exc)


async def resolve(
    host: str,
    port: int,
    *,
    allow_private: bool,
    allowed_networks: Sequence[IPNetwork] = (),
) -> Resolved:
    """Resolve a host name (or literal address) and check every address it maps to."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        return check_addresses(
            host, [literal], allow_private=allow_private, allowed_networks=allowed_networks
        )
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ResolutionError(f"cannot resolve {host}: {_lookup_failure(exc)}") from exc
    addresses: list[IPAddress] = []
    for info in infos:
        raw = str(info[4][0]).split("%", 1)[0]
        address = ipaddress.ip_address(raw)
        if address not in addresses:
            addresses.append(address)
    return check_addresses(
        host, addresses, allow_private=allow_private, allowed_networks=allowed_networks
    )
