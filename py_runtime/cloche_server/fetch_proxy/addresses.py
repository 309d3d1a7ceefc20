"""Which addresses the proxy connects to: public ones only, unless the operator lists the exact
origin (an intranet API, a test server), which is theirs to decide. IPv4 inside IPv6 (mapped,
NAT64) is judged by the IPv4 address it carries."""

from __future__ import annotations

import ipaddress
import socket

import anyio

NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_public(address: str) -> bool:
    """True for a global unicast address; False for private, loopback, link-local, unique-local,
    site-local, shared (CGNAT), multicast, unspecified, reserved or documentation ones, and for
    anything that is not an IP address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped
        if embedded is None and ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
        if embedded is not None:
            return is_public(str(embedded))
        if ip.is_site_local:
            return False
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def first_non_public(addresses: list[str]) -> str | None:
    """The first of `addresses` that is not public, if any."""
    return next((address for address in addresses if not is_public(address)), None)


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` (an ASCII name or an IP literal) resolves to, in the order the system
    prefers; OSError if there is none."""
    found = await anyio.getaddrinfo(host.encode("ascii"), port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not addresses:
        raise socket.gaierror(f"{host} has no address")
    return addresses
