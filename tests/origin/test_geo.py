"""Geo-blocking against a MaxMind database written in the test (mmdb-writer) and read by the real origin.

Loopback addresses stand for countries: the test's client binds its socket to
127.0.0.2 (France) or 127.0.0.3 (Germany); 127.0.0.9 is the trusted proxy.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet
from origin_support import PROFILE, make_programmes, origin_settings, schedule_run, start_origin, write_live_playlists

from vvtv.clock import US
from vvtv.config import ChannelSettings, load_settings
from vvtv.errors import ConfigError
from vvtv.origin.geo import ClientAddress, CountryDatabase
from vvtv.processing.package import SEGMENT_PATTERN
from vvtv.runtime import Runtime

FRANCE, GERMANY, PROXY, UNKNOWN = "127.0.0.2", "127.0.0.3", "127.0.0.9", "127.0.0.4"


def write_mmdb(path: Path) -> Path:
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-Country", languages=["en"],
                        description="VVTV test countries")  # fmt: skip
    writer.insert_network(IPSet([f"{FRANCE}/32"]), {"country": {"iso_code": "FR", "names": {"en": "France"}}})
    writer.insert_network(IPSet([f"{GERMANY}/32"]), {"country": {"iso_code": "DE", "names": {"en": "Germany"}}})
    writer.insert_network(IPSet(["2001:db8::/32"]), {"registered_country": {"iso_code": "FR"}})
    writer.to_db_file(str(path))
    return path


def client_from(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=10)


def test_allowed_country_plays_blocked_gets_451(tmp_path: Path) -> None:
    database = write_mmdb(tmp_path / "countries.mmdb")
    channels = [
        ChannelSettings(name="main", profile="tiny", geo={"mode": "allow", "countries": ["fr"]}),
        ChannelSettings(name="second", profile="tiny", geo={"mode": "block", "countries": ["FR"]}),
    ]
    settings = origin_settings(
        tmp_path / "var", channels=channels,
        origin={"port": 0, "geoip_database": str(database), "trusted_proxies": [f"{PROXY}/32"]},
    )  # fmt: skip
    rt = Runtime.open(settings)
    alpha, bravo = make_programmes(rt, ["Alpha", "Bravo"], seconds=4)
    t = rt.clock.now_us()
    write_live_playlists(settings, "main", schedule_run(rt, "main", [alpha], start_us=t - 4 * US), default=True)
    write_live_playlists(settings, "second", schedule_run(rt, "second", [bravo], start_us=t - 4 * US), default=False)
    rendition = PROFILE.renditions[0].name
    main_segment = f"/{alpha.path}/{rendition}/{SEGMENT_PATTERN % 0}"
    second_segment = f"/{bravo.path}/{rendition}/{SEGMENT_PATTERN % 0}"
    main_paths = ["/", "/live.m3u8", "/channels/main/live.m3u8", f"/channels/main/{rendition}.m3u8", main_segment]
    second_paths = ["/channels/second/", f"/channels/second/{rendition}.m3u8", second_segment]
    origin = start_origin(settings)
    try:
        with client_from(FRANCE) as france, client_from(GERMANY) as germany, client_from(UNKNOWN) as unknown:
            for path in main_paths:
                response = france.get(origin.url + path)
                assert response.status_code == 200, path
                assert response.headers["cache-control"].startswith("private"), path
                assert germany.get(origin.url + path).status_code == 451, path
                # Not in the database: not on the allow-list.
                assert unknown.get(origin.url + path).status_code == 451, path
            for path in second_paths:
                assert france.get(origin.url + path).status_code == 451, path
                assert germany.get(origin.url + path).status_code == 200, path
                assert unknown.get(origin.url + path).status_code == 200, path
            segment = france.get(origin.url + main_segment)
            assert segment.content[0] == 0x47 and segment.headers["content-type"] == "video/mp2t"

            # X-Forwarded-For from a peer that is not a trusted proxy is ignored, either way.
            assert germany.get(origin.url + main_segment, headers={"X-Forwarded-For": FRANCE}).status_code == 451
            assert france.get(origin.url + main_segment, headers={"X-Forwarded-For": GERMANY}).status_code == 200
            # From the trusted proxy it names the viewer.
            with client_from(PROXY) as proxy:
                forwarded = {"X-Forwarded-For": f"{GERMANY}, {FRANCE}"}  # the rightmost hop the proxy saw
                assert proxy.get(origin.url + main_segment, headers=forwarded).status_code == 200
                assert proxy.get(origin.url + main_segment, headers={"X-Forwarded-For": GERMANY}).status_code == 451
    finally:
        code = origin.stop()
        rt.db.dispose()
    assert code == 0


def test_client_address_rules(tmp_path: Path) -> None:
    client = ClientAddress.from_settings(load_settings(origin={"trusted_proxies": ["10.0.0.0/8"]}).origin)
    assert str(client.resolve("192.0.2.1", "198.51.100.7")) == "192.0.2.1"  # untrusted peer: XFF ignored
    assert str(client.resolve("10.1.2.3", "198.51.100.7, 10.9.9.9")) == "198.51.100.7"  # proxies skipped
    assert str(client.resolve("10.1.2.3", "not-an-address")) == "10.1.2.3"
    assert str(client.resolve("::ffff:192.0.2.1", None)) == "192.0.2.1"
    countries = CountryDatabase(write_mmdb(tmp_path / "c.mmdb"))
    assert countries.country(client.resolve("2001:db8::1", None)) == "FR"  # registered country as fallback
    assert countries.country(client.resolve("192.0.2.1", None)) is None


def test_geo_rules_without_a_database_refuse_to_start(tmp_path: Path) -> None:
    geo_channel = [ChannelSettings(name="main", geo={"mode": "block", "countries": ["FR"]})]
    with pytest.raises(ConfigError, match="origin.geoip_database"):
        load_settings(data_dir=tmp_path, channels=geo_channel)
    with pytest.raises(ConfigError, match="two letters"):
        load_settings(data_dir=tmp_path, channels=[{"name": "main", "geo": {"mode": "allow", "countries": ["FRA"]}}])
    missing = load_settings(data_dir=tmp_path, channels=geo_channel, origin={"geoip_database": str(tmp_path / "no")})
    with pytest.raises(ConfigError, match="cannot read"):
        CountryDatabase(missing.origin.geoip_database)
    garbage = tmp_path / "garbage.mmdb"
    garbage.write_bytes(b"not a database" * 10)
    with pytest.raises(ConfigError, match="cannot read"):
        CountryDatabase(garbage)
