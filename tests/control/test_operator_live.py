"""The operator's controls on the real `vvtv up`, through the real `vvtvctl`, locally and remotely.

An emergency injection shows in `queue show` right after the entry on air, with the
reason, and then in the live playlists; `--clear` removes the injected entries that have
not started; `streaming restart` restarts the broadcaster through the supervisor while the
stream goes on. The same commands with `--url` go through the origin's control API, which
refuses a missing or wrong token (401) and answers the same JSON as `--json` locally,
while the guide, /healthz and /metrics stay open.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
from hlscheck import LiveChecker
from livesystem import LiveSystem
from sqlalchemy import select

from vvtv.storage.db import Database
from vvtv.storage.models import Asset, AssetKind, AssetStatus, Event, Heartbeat

VVTVCTL = str(Path(sys.executable).parent / "vvtvctl")
TOKEN = "test-token-0123456789abcdef"
PLAYLIST = "/channels/main/90p.m3u8"
Done = subprocess.CompletedProcess


def vvtvctl(system: LiveSystem, *args: str, token: str | None = TOKEN, check: bool = True) -> Done:
    env = system.env()
    env.pop("VVTV_CONTROL__TOKEN", None)
    if token is not None:
        env["VVTV_CONTROL__TOKEN"] = token
    done = subprocess.run([VVTVCTL, *args], env=env, capture_output=True, text=True, timeout=120)
    if check:
        assert done.returncode == 0, f"vvtvctl {args}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def as_json(done: subprocess.CompletedProcess) -> dict:
    return json.loads(done.stdout)


def injected(queue: dict) -> list[dict]:
    return [e for e in queue["main"]["entries"] if e["kind"] == "injected"]


def wait_for_segments_of(system: LiveSystem, asset_path: str, seconds: float, checker: LiveChecker) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response = system.get(PLAYLIST)
        if response is not None and response.status_code == 200:
            checker.feed(response.text)
            if f"/{asset_path}/" in response.text:
                return
        time.sleep(0.5)
    raise AssertionError(f"no segment of {asset_path} in {PLAYLIST} within {seconds} s")


def test_inject_clear_restart_locally_and_remotely(tmp_path: Path) -> None:
    system = LiveSystem(data_dir=tmp_path / "var", env_overrides={"VVTV_CONTROL__TOKEN": TOKEN})
    checker = LiveChecker(base="", check_files=False)
    system.start()
    database = Database(f"sqlite:///{system.data_dir.resolve() / 'vvtv.db'}")
    try:
        checker.feed(system.wait_for(PLAYLIST, 120).text)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # the demo makes its programmes while the slate airs
            with database.session() as session:
                ready = select(Asset).where(Asset.kind == AssetKind.PROGRAMME, Asset.status == AssetStatus.READY)
                paths = {a.id: a.path for a in session.scalars(ready)}
            if len(paths) >= 2:
                break
            time.sleep(0.5)
        assert len(paths) >= 2, "the demo made no programmes"

        # Inject two programmes: right after the entry on air, with the reason, in `queue show`.
        report = as_json(vvtvctl(system, "--json", "streaming", "emergency", "--inject", "2", "--reason", "breaking"))
        entries = report["injected"]["entries"]
        assert len(entries) == 2 and not report["injected"]["slate"]
        queue = as_json(vvtvctl(system, "queue", "show", "--json"))
        upcoming = queue["main"]["entries"]
        position = next(i for i, e in enumerate(upcoming) if e["ordinal"] == entries[0]["ordinal"])
        # Right after the entry on air (unless that one ended between the two commands, and left the queue).
        assert position == 0 or upcoming[position - 1]["ordinal"] == report["injected"]["after_ordinal"]
        assert [e["ordinal"] for e in injected(queue)] == [e["ordinal"] for e in entries]
        assert all(e["reason"] == "operator: breaking" for e in injected(queue))

        # Clear them before they start: gone from the queue, and the programmer fills the timeline again.
        cleared = as_json(vvtvctl(system, "--json", "streaming", "emergency", "--clear"))["cleared"]
        assert cleared["removed_injected"] >= 1
        queue = as_json(vvtvctl(system, "--json", "queue", "show"))
        now_ordinal = report["injected"]["after_ordinal"]
        assert not [e for e in injected(queue) if e["ordinal"] > now_ordinal + 1]

        # Remotely: a chosen programme, which then airs.
        remote = ("--url", system.url, "--json")
        chosen = sorted(paths)[0]
        done = vvtvctl(system, *remote, "streaming", "emergency", "--asset", str(chosen), "--reason", "remote news")
        assert [e["asset_id"] for e in as_json(done)["injected"]["entries"]] == [chosen]
        wait_for_segments_of(system, paths[chosen], 60, checker)
        with database.session() as session:
            operator = select(Event).where(Event.kind.in_(["emergency-inject", "emergency-clear"])).order_by(Event.id)
            kinds = [e.kind for e in session.scalars(operator)]
        assert kinds == ["emergency-inject", "emergency-clear", "emergency-inject"]

        # Same JSON remotely as locally (the entries; the buffer minutes move with the clock).
        local, far = (as_json(vvtvctl(system, *prefix, "queue", "show")) for prefix in (("--json",), remote))
        assert far.keys() == local.keys() and far["main"].keys() == local["main"].keys()
        # An entry may end between the two calls: compare the ones both list.
        local_entries = {e["ordinal"]: e for e in local["main"]["entries"]}
        common = [e for e in far["main"]["entries"] if e["ordinal"] in local_entries]
        assert len(common) >= 2 and all(e == local_entries[e["ordinal"]] for e in common)

        # Refused without the token or with a wrong one; the read-only endpoints stay open.
        for token in (None, "wrong-token-0123456789abcdef"):
            done = vvtvctl(system, *remote, "status", token=token, check=False)
            assert done.returncode == 2, done.stderr
        assert "401" in done.stderr and "bearer token" in done.stderr
        assert httpx.post(system.url + "/api/control/status", timeout=10).status_code == 401
        bad = httpx.post(system.url + "/api/control/status", headers={"Authorization": "Bearer nope"}, timeout=10)
        assert bad.status_code == 401 and bad.headers["www-authenticate"].startswith("Bearer")
        for open_path in ("/api/channels/main/guide", "/healthz", "/metrics"):
            assert system.get(open_path).status_code in (200, 503), open_path  # 503: health says stale, not refused
        bad_input = vvtvctl(system, *remote, "streaming", "emergency", "--inject", "2", check=False)
        assert bad_input.returncode == 2 and "--reason is required" in bad_input.stderr

        # Restart the live output through the supervisor: a new broadcaster, and the stream goes on.
        with database.session() as session:
            before = session.get(Heartbeat, "broadcaster").pid
        restarted = as_json(vvtvctl(system, *remote, "streaming", "restart"))
        assert restarted["not_running"] == ["restream"]
        assert restarted["restarted"]["broadcaster"] != before
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with database.session() as session:
                if session.get(Heartbeat, "broadcaster").pid == restarted["restarted"]["broadcaster"]:
                    break
            time.sleep(0.5)
        else:
            raise AssertionError("the restarted broadcaster never heartbeat")
        newest = checker.last.media_sequence + len(checker.last.uris)
        deadline = time.monotonic() + 30
        while checker.last.media_sequence + len(checker.last.uris) <= newest + 1 and time.monotonic() < deadline:
            response = system.get(PLAYLIST)
            if response is not None and response.status_code == 200:
                checker.feed(response.text)
            time.sleep(0.5)
        assert checker.last.media_sequence + len(checker.last.uris) > newest + 1, "the stream stopped moving"
    finally:
        database.dispose()
        system.stop()


def test_without_a_token_the_control_api_is_off_and_says_so(tmp_path: Path) -> None:
    system = LiveSystem(data_dir=tmp_path / "var", env_overrides={
        "VVTV_SUPERVISOR__ROLES": json.dumps(["origin"])})  # fmt: skip
    system.start()
    try:
        deadline = time.monotonic() + 60
        response = None
        while time.monotonic() < deadline:
            try:
                response = httpx.post(system.url + "/api/control/status", timeout=5)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert response is not None and response.status_code == 403
        assert "control API is off" in response.json()["error"]
        done = vvtvctl(system, "--url", system.url, "status", check=False)
        assert done.returncode == 2 and "control API is off" in done.stderr
        done = vvtvctl(system, "--url", system.url, "status", token=None, check=False)
        assert done.returncode == 2 and "VVTV_CONTROL__TOKEN" in done.stderr
    finally:
        system.stop()
