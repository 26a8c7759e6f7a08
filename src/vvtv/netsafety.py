"""Which URLs VVTV may fetch: http and https to public addresses, or to hosts the operator allowed.

A URL from the web (a search result, a media link) could point at the machine
itself or at the private network behind it. Every fetch is checked here first,
and refused before any connection is made. The host is resolved and every
address it resolves to must be public, so a public name that points at
127.0.0.1 is refused too.

This check gives the early, clear reason; the egress proxy (egress.py) applies
the same rules to every connection the browser and yt-dlp really make.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from vvtv.errors import InputError

ALLOWED_SCHEMES = ("http", "https")
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], "list[Address]"]  # blocking: a host's addresses, or InputError


def host_allowed(host: str, port: int | None, allowed_hosts: Iterable[str]) -> bool:
    """True when `host` (any port) or `host:port` is in the operator's allow-list."""
    host = host.lower()
    for entry in allowed_hosts:
        entry = entry.strip().lower()
        name, sep, entry_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if sep:
            if name == host and entry_port == str(port):
                return True
        elif entry.strip("[]") == host:
            return True
    return False


def resolve(host: str) -> list[Address]:
    """The addresses of `host` (an IP literal is its own address), from the system's resolver."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise InputError(f"cannot resolve host {host!r}: {exc}") from None
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


async def resolve_within(host: str, seconds: float, resolver: Resolver = resolve) -> list[Address]:
    """`resolver(host)` on a worker thread, so that a slow DNS server never stalls an event loop."""
    try:
        addresses = await asyncio.wait_for(asyncio.to_thread(resolver, host), seconds)
    except (TimeoutError, asyncio.TimeoutError):
        raise InputError(f"cannot resolve host {host!r} within {seconds:g} s") from None
    if not addresses:
        raise InputError(f"cannot resolve host {host!r}: no address")
    return addresses


def address_refusal(host: str, address: Address, setting: str) -> str | None:
    """Why `host` at `address` must not be reached (loopback, private, ...), or None when it is public."""
    reason = _not_public_reason(address)
    if reason:
        return f"host {host} is a {reason} address ({address}); add it to {setting} to allow it"
    return None


def _not_public_reason(address: Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    for kind, flag in (
        # Most specific first: is_private is also true for link-local and unspecified ranges.
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
    ):
        if flag:
            return kind
    return None if address.is_global else "non-public"


def check_public_url(
    url: str, allowed_hosts: Iterable[str] = (), *, setting: str = "discovery.allowed_hosts", resolver: Resolver = resolve
) -> None:
    """Raise InputError unless `url` is http(s) to a public address or to an allowed host.

    `setting` names the allow-list in the error, so the operator knows which one to edit.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InputError(f"{url!r}: not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise InputError(f"{url!r}: scheme {scheme or '(none)'!r} is not allowed (http and https only)")
    host = (parts.hostname or "").lower()
    if not host:
        raise InputError(f"{url!r}: no host")
    if host_allowed(host, port, allowed_hosts):
        return
    for address in resolver(host):
        why = address_refusal(host, address, setting)
        if why:
            raise InputError(f"{url!r}: {why}")
