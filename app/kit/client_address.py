"""The address a request came from, believing X-Forwarded-For only from trusted proxies.

Each proxy appends the address of its own peer to X-Forwarded-For, so the header is read from the
right: entries written by proxies we trust are skipped, and the first one that is not a trusted
proxy is the client as the outermost trusted proxy saw it. Whatever lies further left was written
by the client and proves nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

Network = IPv4Network | IPv6Network


def _parse(value: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(value.strip())
    except ValueError:
        return None


def _trusted(addr: IPv4Address | IPv6Address | None, networks: Sequence[Network]) -> bool:
    return addr is not None and any(addr in net for net in networks)


def client_address(peer: str | None, forwarded_for: Iterable[str],
                   networks: Sequence[Network]) -> str:
    """The client's address: the direct peer, unless the peer is a trusted proxy.

    `forwarded_for` holds the X-Forwarded-For header values in the order they arrived."""
    peer = peer or "unknown"
    if not networks or not _trusted(_parse(peer), networks):
        return peer
    hops = [h.strip() for value in forwarded_for for h in value.split(",") if h.strip()]
    for hop in reversed(hops):
        addr = _parse(hop)
        if addr is None:
            return peer  # a trusted proxy would not have written this: believe nothing
        if not _trusted(addr, networks):
            return str(addr)
    # Every hop a trusted proxy (a health check from inside): the leftmost is the origin.
    return str(_parse(hops[0])) if hops else peer
