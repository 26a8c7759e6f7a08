"""Geo-blocking: the viewer's country from a MaxMind-format database, and the channel's rule.

The client address is the socket's peer. Only when that peer is a configured
trusted proxy (origin.trusted_proxies: the reverse proxy or CDN in front of the
origin) is X-Forwarded-For believed, read from the right: the first address
that is not itself a trusted proxy is the client. Anyone else can write any
X-Forwarded-For they like, so it is ignored. An address the database does not
know has no country: an allow-list refuses it, a block-list lets it through.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

import maxminddb

from vvtv.config import ChannelSettings, OriginSettings
from vvtv.errors import ConfigError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, kw_only=True)
class ClientAddress:
    """Finds the viewer's address from the peer and, behind a trusted proxy, X-Forwarded-For."""

    trusted: tuple[Network, ...]

    @classmethod
    def from_settings(cls, origin: OriginSettings) -> "ClientAddress":
        return cls(trusted=tuple(ipaddress.ip_network(item, strict=False) for item in origin.trusted_proxies))

    def is_trusted(self, address: Address) -> bool:
        return any(address in network for network in self.trusted)

    def resolve(self, peer: str | None, forwarded_for: str | None) -> Address | None:
        address = _parse(peer)
        if address is None or not forwarded_for or not self.is_trusted(address):
            return address
        for hop in reversed(forwarded_for.split(",")):
            hop_address = _parse(hop.strip())
            if hop_address is None:  # a garbled hop: what lies beyond it cannot be trusted either
                return address
            address = hop_address
            if not self.is_trusted(address):
                return address
        return address


def _parse(text: str | None) -> Address | None:
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # An IPv4 client on a dual-stack socket shows up as ::ffff:a.b.c.d.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


class CountryDatabase:
    """A MaxMind-format (.mmdb) country or city database, opened once and read by many threads."""

    def __init__(self, path: Path) -> None:
        try:
            self._reader = maxminddb.open_database(str(path))
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
            raise ConfigError(f"origin.geoip_database: cannot read {path}: {exc}") from exc
        self.path = path

    def country(self, address: Address | None) -> str | None:
        """The ISO 3166-1 alpha-2 code of the country, or None when the database does not know the address."""
        if address is None:
            return None
        try:
            record = self._reader.get(address)
        except (ValueError, maxminddb.InvalidDatabaseError):
            return None
        if not isinstance(record, dict):
            return None
        # Where the address is used; a database without it may still know where it is registered.
        for key in ("country", "registered_country"):
            place = record.get(key)
            if isinstance(place, dict) and isinstance(place.get("iso_code"), str):
                return place["iso_code"].upper()
        return None

    def close(self) -> None:
        self._reader.close()


def has_geo_rule(channel: ChannelSettings) -> bool:
    return channel.geo.mode != "off"


def allowed(channel: ChannelSettings, country: str | None) -> bool:
    rule = channel.geo
    if rule.mode == "off":
        return True
    if rule.mode == "allow":
        return country is not None and country in rule.countries
    return country not in rule.countries
