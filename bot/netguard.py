"""The SSRF guard: decide whether an address may be fetched, after DNS resolution.

A feed URL or a link sent to /summarize is attacker-controlled. Without this guard it
could make the bot read the cloud metadata service, a router's admin page or a database
on the host. Every fetched URL and every redirect target goes through ``resolve``; the
connection is then made to the address that was checked (no second lookup, so DNS
rebinding cannot swap it).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedAddressError(Exception):
    """The URL points at an address the bot refuses to fetch."""


def refusal_reason(address: IPAddress) -> str | None:
    """Why an address is refused (``None`` if it is a public unicast address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return refusal_reason(address.ipv4_mapped)
    checks = (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("not globally routable", not address.is_global),
    )
    for name, hit in checks:
        if hit:
            return f"{name} address {address}"
    return None


@dataclass(frozen=True)
class Resolved:
    """The addresses a host name resolved to, all of them checked."""

    host: str
    addresses: tuple[IPAddress, ...]


def check_addresses(
    host: str, addresses: list[IPAddress], *, allow_private: bool
) -> Resolved:
    """Refuse the host if *any* of its addresses is refused (the client may pick any)."""
    if not addresses:
        raise BlockedAddressError(f"{host} did not resolve to any address")
    if not allow_private:
        for address in addresses:
            reason = refusal_reason(address)
            if reason:
                raise BlockedAddressError(f"refusing to fetch {host}: it is a {reason}")
    return Resolved(host, tuple(addresses))


async def resolve(host: str, port: int, *, allow_private: bool) -> Resolved:
    """Resolve a host name (or literal address) and check every address it maps to."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        return check_addresses(host, [literal], allow_private=allow_private)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise BlockedAddressError(f"cannot resolve {host}: {exc}") from exc
    addresses: list[IPAddress] = []
    for info in infos:
        raw = str(info[4][0]).split("%", 1)[0]
        address = ipaddress.ip_address(raw)
        if address not in addresses:
            addresses.append(address)
    return check_addresses(host, addresses, allow_private=allow_private)
