"""The README is what the programs do: every `vvtv`/`vvtvctl` command line in its code blocks is run
against a test channel (a data dir made here, the tiny profile), and must exit 0 with sane output.

- `[--opt ARG]` is run both ways: without the optional parts, and with all of them.
- A line starting with `$ ` is a transcript: the lines below it are what it must print (an
  `error:` among them means it must fail with exit code 2).
- Placeholders in capitals (PATH_OR_URL), example values (`--asset 12`, a token `...`) and
  the addresses in the README (the origin on 127.0.0.1:8080 or channel.example:8080, the demo
  site on 127.0.0.1:8091) stand for this test channel's, see PLACEHOLDERS, EXAMPLES and
  ADDRESSES; `~` is a home folder made here. A new one must be added there, so that the line
  is really run.
- Commands that run until stopped are listed in LONG_RUNNING with the reason: each is started
  and checked to come up; `vvtv up` then stays up as the test channel for the lines after it
  (`streaming restart` needs it), the others are stopped at once; all by their PID.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from conftest import make_programme
from demosite import FAST_DISCOVERY
from livesystem import TINY_PROFILE, free_port
from processing.factory_media import pal_25

from vvtv.config import load_settings
from vvtv.programming.programmer import Programmer
from vvtv.runtime import Runtime
from vvtv.storage.db import Database
from vvtv.storage.models import Heartbeat

README = Path(__file__).resolve().parents[1] / "README.md"
BIN = Path(sys.executable).parent
OPTIONAL = re.compile(r"\[([^\[\]]+)\]")
PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$|^[A-Z]{4,}$")


@dataclass(kw_only=True)
class DocCommand:
    number: int  # the README line
    text: str  # the line as written
    env: dict[str, str]  # VAR=value words before the program
    program: str  # vvtv or vvtvctl
    args: list[str]
    expected: list[str] | None = None  # a transcript's output

    def __str__(self) -> str:
        return f"README.md:{self.number}: {self.text.strip()}"


def _variants(line: str) -> list[str]:
    """The line without its [optional] parts, and with all of them."""
    if not OPTIONAL.search(line):
        return [line]
    return [OPTIONAL.sub("", line), OPTIONAL.sub(r"\1", line)]


def _parse(number: int, line: str) -> DocCommand | None:
    words = shlex.split(line.removeprefix("$ "), comments=True)
    env = {}
    while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    program = re.fullmatch(r"(?:\S*/bin/)?(vvtv|vvtvctl)", words[0]) if words else None
    if program is None:
        return None
    return DocCommand(number=number, text=line, env=env, program=program.group(1), args=words[1:])


def readme_commands(text: str) -> list[DocCommand]:
    """Every vvtv/vvtvctl line in the README's code blocks (in order), each variant on its own."""
    commands: list[DocCommand] = []
    in_block, transcript = False, None
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            in_block, transcript = not in_block, None
            continue
        if not in_block:
            continue
        found = [c for variant in _variants(line) if (c := _parse(number, variant))]
        if found:
            commands += found
            transcript = found[0] if line.startswith("$ ") else None
            if transcript:
                transcript.expected = []
        elif transcript is not None and line.strip():
            transcript.expected.append(line.strip())
    return commands


def test_the_readme_lists_the_commands_it_shows() -> None:
    commands = readme_commands(README.read_text())
    lines = {c.text.split("#")[0].split()[0] for c in commands}
    assert {".venv/bin/vvtv", ".venv/bin/vvtvctl"} <= lines
    shown = {(c.program, *c.args[:2]) for c in commands}
    assert ("vvtvctl", "status") in shown and ("vvtv", "up") in shown
    transcript = next(c for c in commands if c.expected)
    assert transcript.env == {"VVTV_BROADCASTER__WINDOW_SEGMENTS": "1"} and transcript.expected[0].startswith("vvtv:")


@dataclass(kw_only=True)
class DocChannel:
    root: Path
    config: Path
    home: Path
    demo_site_url: str
    origin_url: str
    local_file: Path  # a video file of the operator's (PATH_OR_URL)
    ready_asset_id: int  # a ready programme (`--asset 12`)
    token: str  # the control API's token (VVTV_CONTROL__TOKEN=...)
    running: list[subprocess.Popen] = field(default_factory=list)  # `vvtv up`, stopped at the end

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VVTV_")}
        env.update({"VVTV_CONFIG": str(self.config), "HOME": str(self.home), "VVTV_CONTROL__TOKEN": self.token,
                    **(extra or {})})  # fmt: skip
        return env

    def database(self) -> Database:
        return Database(load_settings(data_dir=self.root / "var").database_url)


def _config(root: Path, demo_port: int, origin_port: int) -> Path:
    """The test channel's vvtv.toml: the tiny profile, its own ports, the Curator and Factory at test speed."""
    discovery = {**FAST_DISCOVERY, "page_budget": 3, "max_result_pages": 1, "watch_seconds": 1.0}
    renditions = ", ".join(
        "{ " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in r.items()) + " }" for r in TINY_PROFILE["renditions"]
    )
    path = root / "vvtv.toml"
    path.write_text(f"""
data_dir = {json.dumps(str(root / "var"))}

[[channels]]
name = "main"
profile = "tiny"

[profiles.tiny]
x264_preset = "ultrafast"
renditions = [{renditions}]

[broadcaster]
slate_seconds = 8

[origin]
port = {origin_port}

[demo]
programmes = 1
min_seconds = 4
max_seconds = 6

# The demo site of `vvtv up`: the Curator searches it by default, the Factory may fetch from it.
[demo_site]
port = {demo_port}

[discovery]
{chr(10).join(f"{k} = {json.dumps(v)}" for k, v in discovery.items())}

# Word overlap judges: the embedding model would load in each of the several curators started here,
# a few seconds of CPU each; the embedding judge has tests of its own.
[llm]
embeddings = false

[factory]
min_height = 64
min_seconds = 1
allowed_hosts = ["127.0.0.1"]
retry_backoff_seconds = 1
""")
    return path


@pytest.fixture
def channel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DocChannel]:
    origin_port, demo_port = free_port(), free_port()
    config = _config(tmp_path, demo_port, origin_port)
    monkeypatch.setenv("VVTV_CONFIG", str(config))
    for key in [k for k in os.environ if k.startswith("VVTV_") and k != "VVTV_CONFIG"]:
        monkeypatch.delenv(key)
    rt = Runtime.open(load_settings())
    make_programme(rt, 5, title="Doc test morning")
    ready = make_programme(rt, 5, title="Doc test evening")
    Programmer(rt).fill("main")
    rt.db.dispose()
    home = tmp_path / "home"
    (home / "Videos").mkdir(parents=True)
    pal_25(home / "Videos" / "walk.mp4")
    doc_channel = DocChannel(
        root=tmp_path, config=config, home=home, demo_site_url=f"http://127.0.0.1:{demo_port}",
        origin_url=f"http://127.0.0.1:{origin_port}", local_file=pal_25(tmp_path / "clip.mp4"),
        ready_asset_id=ready.id, token=secrets.token_hex(24),
    )  # fmt: skip
    try:
        yield doc_channel
    finally:
        for process in doc_channel.running:
            _stop(process)


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=3)
    except httpx.HTTPError:
        return None


def _wait(condition: Callable[[], object], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError(f"{what}: not within {seconds} s")


def _stop(process: subprocess.Popen) -> int:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    return process.returncode


# What the README's placeholders stand for in the test channel.
PLACEHOLDERS: dict[str, Callable[[DocChannel], str]] = {
    "PATH_OR_URL": lambda ch: str(ch.local_file),
    "NAME_OR_URL": lambda ch: ch.demo_site_url + "/",
    "NAME": lambda ch: "main",
    "CHANNEL": lambda ch: "main",
    "ROLE": lambda ch: "broadcaster",
}
# Example values in the README, as (option, value), and what they are in the test channel.
EXAMPLES: dict[tuple[str, str], Callable[[DocChannel], str]] = {
    ("--asset", "12"): lambda ch: str(ch.ready_asset_id),
}
# Example environment values (VAR=value before the command).
EXAMPLE_ENV: dict[str, Callable[[DocChannel], str]] = {
    "...": lambda ch: ch.token,
}
# The addresses in the README (`make up` listens on the first two), and this test channel's.
ADDRESSES: dict[str, Callable[[DocChannel], str]] = {
    "http://127.0.0.1:8080": lambda ch: ch.origin_url,
    "http://channel.example:8080": lambda ch: ch.origin_url,
    "http://127.0.0.1:8091": lambda ch: ch.demo_site_url,
}


def _resolve(command: DocCommand, ch: DocChannel) -> list[str]:
    args: list[str] = []
    for word in command.args:
        if args and (args[-1], word) in EXAMPLES:
            args.append(EXAMPLES[(args[-1], word)](ch))
            continue
        if PLACEHOLDER.match(word):
            assert word in PLACEHOLDERS, f"{command}: {word} is new: say in PLACEHOLDERS what it stands for"
            word = PLACEHOLDERS[word](ch)
        for address, ours in ADDRESSES.items():
            word = word.replace(address, ours(ch))
        if word.startswith("~/"):
            word = str(ch.home / word[2:])
        args.append(word)
    return args


def _environment(command: DocCommand, ch: DocChannel) -> dict[str, str]:
    return {key: EXAMPLE_ENV[value](ch) if value in EXAMPLE_ENV else value for key, value in command.env.items()}


def _heartbeat(ch: DocChannel, role: str, pid: int) -> bool:
    db = ch.database()
    try:
        with db.session() as session:
            beat = session.get(Heartbeat, role)
            return beat is not None and beat.pid == pid
    finally:
        db.dispose()


# The roles that write a heartbeat (the others are seen by what they serve).
HEARTBEATING = {"programmer", "broadcaster", "origin", "factory", "curator", "restream"}


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _up(process: subprocess.Popen, ch: DocChannel, extra: dict[str, str], args: list[str]) -> None:
    """The supervisor's roles come up: its origin serves, its demo site answers, and each other role
    heartbeats from a process this supervisor started (another `vvtv up` may run the same roles)."""
    roles = args[args.index("--roles") + 1].split(",") if "--roles" in args else load_settings().supervisor.roles
    origin = f"http://127.0.0.1:{extra['VVTV_ORIGIN__PORT']}" if "VVTV_ORIGIN__PORT" in extra else ch.origin_url
    demo = f"http://127.0.0.1:{extra['VVTV_DEMO_SITE__PORT']}" if "VVTV_DEMO_SITE__PORT" in extra else ch.demo_site_url
    if "origin" in roles:
        _wait(lambda: (r := _get(f"{origin}/live.m3u8")) is not None and r.status_code == 200, 120,
              "vvtv up: the origin serving /live.m3u8")  # fmt: skip
    if "demo-site" in roles:
        _wait(lambda: (r := _get(demo + "/")) is not None and r.status_code == 200, 300, "vvtv up: the demo site")
    expected: set[str] = set(roles) & HEARTBEATING
    seen: set[str] = set()

    def heartbeating() -> bool:
        db = ch.database()
        try:
            with db.session() as session:
                beats = [(b.role, b.pid) for b in session.scalars(select(Heartbeat))]
        finally:
            db.dispose()
        seen.update(role for role, pid in beats if role in expected and _parent(pid) == process.pid)
        return expected <= seen

    _wait(heartbeating, 180, f"vvtv up {' '.join(args[1:])}: its roles heartbeating ({sorted(expected)})")


def _run_role(process: subprocess.Popen, ch: DocChannel, extra: dict[str, str], args: list[str]) -> None:
    _wait(lambda: _heartbeat(ch, args[1], process.pid), 90, f"vvtv run {args[1]}: its heartbeat")


def _demo_site(process: subprocess.Popen, ch: DocChannel, extra: dict[str, str], args: list[str]) -> None:
    url = process.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), url
    _wait(lambda: (r := _get(url)) is not None and r.status_code == 200, 30, f"the demo site answering at {url}")


# Commands that run until stopped, with the reason, and how the test sees each come up.
# Keyed by (program, subcommand); the check gets the process, the channel, its extra environment and its arguments.
LONG_RUNNING: dict[tuple[str, str], tuple[str, Callable[..., None]]] = {
    ("vvtv", "up"): ("the supervisor runs until stopped; the first plain one stays up as the test channel", _up),
    ("vvtv", "run"): ("a role runs until stopped", _run_role),
    ("vvtv", "demo-site"): ("the demo site serves until stopped", _demo_site),
}


def _run_long(command: DocCommand, args: list[str], ch: DocChannel) -> None:
    reason, check = LONG_RUNNING[(command.program, args[0])]
    stays = args == ["up"] and not ch.running  # the first plain `vvtv up` is the channel; others come and go
    # The others get ports of their own: the channel's origin and demo site are those of `vvtv up`.
    extra = _environment(command, ch) | ({} if stays else {"VVTV_ORIGIN__PORT": str(free_port()),
                                                          "VVTV_DEMO_SITE__PORT": str(free_port())})  # fmt: skip
    log = ch.root / f"readme-{command.number}.log"
    with open(log, "wb") as err:
        process = subprocess.Popen([str(BIN / command.program), *args], env=ch.env(extra), cwd=ch.root, text=True,
                                   stdout=subprocess.DEVNULL if stays else subprocess.PIPE, stderr=err,
                                   stdin=subprocess.DEVNULL)  # fmt: skip
    if stays:
        ch.running.append(process)
    try:
        check(process, ch, extra, args)
    except AssertionError as exc:
        _stop(process)
        raise AssertionError(f"{command} ({reason}): {exc}\n{log.read_text()[-3000:]}") from None
    if stays:
        return
    code = _stop(process)
    # Stopped by the signal it was sent, or finishing cleanly on it: both are a normal stop.
    assert code in (0, -signal.SIGTERM), f"{command}: exit {code} after SIGTERM\n{log.read_text()[-3000:]}"


def _run(command: DocCommand, args: list[str], ch: DocChannel) -> None:
    done = subprocess.run([str(BIN / command.program), *args], env=ch.env(_environment(command, ch)), cwd=ch.root,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    where = (f"{command}\n  ran: {command.program} {shlex.join(args)}\n  stdout: {done.stdout[-2000:]}\n"
             f"  stderr: {done.stderr[-2000:]}")  # fmt: skip
    assert "Traceback" not in done.stderr, where
    if command.expected is not None:
        expected_code = 2 if any(": error:" in line for line in command.expected) else 0
        assert done.returncode == expected_code, where
        printed = [line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]
        assert printed == command.expected, where
        return
    assert done.returncode == 0, where
    assert done.stdout.strip(), f"{where}\n  (printed nothing)"
    if "--json" in args:
        json.loads(done.stdout)


def test_every_readme_command_runs_against_a_test_channel(channel: DocChannel) -> None:
    commands = readme_commands(README.read_text())
    assert len(commands) >= 10
    failures = []
    for command in commands:
        args = _resolve(command, channel)
        try:
            if args and (command.program, args[0]) in LONG_RUNNING:
                _run_long(command, args, channel)
            else:
                _run(command, args, channel)
        except AssertionError as exc:
            failures.append(str(exc))
    for process in channel.running:
        code = _stop(process)
        if code not in (0, -signal.SIGTERM):
            failures.append(f"vvtv up: exit {code} after SIGTERM")
    assert not failures, f"{len(failures)} README command(s) failed:\n\n" + "\n\n".join(failures)
