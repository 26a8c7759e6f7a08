"""The browser session on real Chromium: the request guard, refused downloads, recovery
from a browser that is killed, hangs or grows too big (detected, killed by its PID, started
again), and its confinement: sandboxed, as its own account, DevTools over a pipe."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest
from sitekit import NOT_FOUND, Reply, SiteServer, page

from vvtv.config import load_settings
from vvtv.discovery.browser import BrowserCrashed, BrowserOptions, BrowserSession, PageFailed, browser_account
from vvtv.storage.db import Database

CHROMIUM = load_settings().discovery.chromium_executable()  # found on PATH, as the Curator finds it

PAGE = """<html><body><h1>hello</h1><img src="{url}/private/a.png"><img src="{url}/ok.png">
<img src="http://10.9.9.9/pixel.png"></body></html>"""


def site() -> SiteServer:
    def routes(path: str) -> Reply:
        if path == "/":
            return page(PAGE.format(url=""))
        if path == "/file.zip":
            return Reply(content_type="application/zip", body=b"PK" + bytes(4000))
        if path.endswith(".png"):
            return Reply(content_type="image/png", body=b"")
        return NOT_FOUND

    return SiteServer(routes=routes)


def policy(url: str) -> str | None:
    if "/private/" in url:
        return "disallowed by robots.txt"
    if "10.9.9.9" in url:
        return "private address"
    return None


def session(**options: object) -> BrowserSession:
    options = {"allowed_hosts": ["127.0.0.1"], **options}  # the test sites, through the egress proxy
    return BrowserSession(BrowserOptions(executable=CHROMIUM, timeout_seconds=4, **options), policy)


def test_the_guard_refuses_requests_the_policy_forbids() -> None:
    async def visit(server: SiteServer) -> list[str]:
        async with session() as browser:
            tab = await browser.new_page()
            await tab.goto(server.url + "/")
            # The images load after the document: wait (bounded) for the page to have asked for all three.
            for _ in range(100):
                if len(tab.refused) >= 2 and "/ok.png" in server.requests:
                    break
                await asyncio.sleep(0.05)
            await tab.close()
            return tab.refused

    with site() as server:
        refused = asyncio.run(visit(server))
        requested = list(server.requests)
    assert sorted(refused) == sorted([f"{server.url}/private/a.png: disallowed by robots.txt",
                                      "http://10.9.9.9/pixel.png: private address"])  # fmt: skip
    assert "/ok.png" in requested and "/private/a.png" not in requested


def test_a_document_that_is_not_a_web_page_is_refused() -> None:
    async def visit(url: str) -> str:
        async with session() as browser:
            tab = await browser.new_page()
            try:
                with pytest.raises(PageFailed) as failed:
                    await tab.goto(url)
            finally:
                await tab.close()
            return str(failed.value)

    with site() as server:
        assert asyncio.run(visit(f"{server.url}/file.zip")).endswith(
            "/file.zip is not a web page (application/zip, 4002 bytes); stopped at its headers, not downloaded")


def test_a_killed_browser_is_detected_and_restarted_with_a_new_pid() -> None:
    async def scenario(url: str) -> tuple[str, int, int, str]:
        async with session() as browser:
            tab = await browser.new_page()
            await tab.goto(url + "/")
            first = browser.pid
            os.kill(first, signal.SIGKILL)
            await asyncio.sleep(0.2)
            with pytest.raises(BrowserCrashed) as crashed:
                await tab.main.evaluate("1 + 1")
            await tab.close()  # harmless: it went with the old browser
            again = await browser.new_page()  # ensure_running restarts first
            await again.goto(url + "/")
            heading = await again.main.evaluate("document.querySelector('h1').textContent")
            await again.close()
            return str(crashed.value), first, browser.pid, heading

    with site() as server:
        message, first, second, heading = asyncio.run(scenario(server.url))
    assert message.startswith("the browser died while running a script in")
    assert second != first and heading == "hello"


def test_a_hung_browser_is_killed_by_its_pid_and_restarted() -> None:
    async def scenario() -> tuple[bool, int, int, list[str]]:
        async with session() as browser:
            first = browser.pid
            os.kill(first, signal.SIGSTOP)  # frozen: alive, but answering nothing
            try:
                healthy = await browser.healthy()
                await browser.ensure_running()
            finally:
                try:
                    os.kill(first, signal.SIGCONT)
                except ProcessLookupError:
                    pass
            return healthy, first, browser.pid, browser.restarts

    healthy, first, second, restarts = asyncio.run(scenario())
    assert not healthy
    assert second != first and restarts == ["the browser died or stopped answering"]
    with pytest.raises(ProcessLookupError):
        os.kill(first, 0)  # the frozen one is gone


def test_contexts_are_closed_and_memory_is_measured() -> None:
    async def scenario() -> tuple[int, int, int]:
        async with session(restart_after_pages=3) as browser:
            for _ in range(4):
                tab = await browser.new_page()
                await tab.goto("data:text/html,<p>hi</p>")
                await tab.close()
            return browser.open_pages, browser.memory_bytes(), len(browser.restarts)

    open_contexts, memory, restarts = asyncio.run(scenario())
    assert open_contexts == 0
    assert 20_000_000 < memory < 3_000_000_000
    assert restarts == 1  # a fresh browser after its share of pages


def _group(pid: int) -> list[int]:
    """The browser and its helpers: every process of its process group."""
    members = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pid:
                    members.append(int(entry.name))
            except ProcessLookupError:
                pass
    return members


def _status(pid: int, field: str) -> str:
    return next(line.split(":", 1)[1].split()[0] for line in open(f"/proc/{pid}/status") if line.startswith(field + ":"))


def _listening_sockets(pid: int) -> list[str]:
    """TCP sockets the process listens on, read in its own network namespace."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("tcp", "tcp6"):
        for line in open(f"/proc/{pid}/net/{table}").read().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.append(fields[1])
    return found


def test_the_browser_runs_sandboxed_as_its_own_account_over_a_pipe() -> None:
    """Renderers in namespaces of their own under seccomp, all as the browser's account, no DevTools port."""

    async def scenario() -> tuple[int, list[int], str]:
        async with session() as browser:
            tab = await browser.new_page()
            await tab.goto("data:text/html,<p>hi</p>")
            cmdline = open(f"/proc/{browser.pid}/cmdline").read().split("\0")
            processes = _group(browser.pid)
            uids = {_status(p, "Uid") for p in processes}
            renderers = [p for p in processes if "--type=renderer" in open(f"/proc/{p}/cmdline").read()]
            namespaces = {p: (os.readlink(f"/proc/{p}/ns/user"), os.readlink(f"/proc/{p}/ns/pid")) for p in processes}
            listening = {p: _listening_sockets(p) for p in processes}
            profile = next(a.split("=", 1)[1] for a in cmdline if a.startswith("--user-data-dir="))
            assert renderers, processes
            for renderer in renderers:
                assert namespaces[renderer][0] != namespaces[browser.pid][0]  # its own user namespace
                assert namespaces[renderer][1] != namespaces[browser.pid][1]  # and PID namespace
                assert _status(renderer, "Seccomp") == "2"  # under a seccomp-BPF filter
            assert "--no-sandbox" not in cmdline and "--remote-debugging-pipe" in cmdline
            assert not any(a.startswith("--remote-debugging-port") for a in cmdline)
            assert not os.path.exists(os.path.join(profile, "DevToolsActivePort"))
            assert not any(listening.values()), listening
            await tab.close()
            return os.stat(profile).st_uid, sorted(uids), str(len(renderers))

    profile_owner, uids, _ = asyncio.run(scenario())
    account = browser_account("")
    assert account is not None and account.pw_name == "vvtv-browser"  # `make test` made it; the tests run as root
    assert uids == [str(account.pw_uid)] and profile_owner == account.pw_uid


def test_the_browser_account_cannot_read_the_database(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Even in a folder anyone may enter, the database and its WAL are the owner's only."""
    folder = tmp_path_factory.mktemp("open")
    for part in (folder, *folder.parents):
        if str(part).startswith("/tmp/"):
            part.chmod(0o755)  # pytest's own folders are private: open them so only the file modes decide
    db = Database(f"sqlite:///{folder / 'vvtv.db'}")
    db.migrate()
    account = browser_account("")
    assert account is not None
    for name in ("vvtv.db", "vvtv.db-wal"):
        as_browser = subprocess.run(
            ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--init-groups",
             "cat", str(folder / name)], capture_output=True, text=True)  # fmt: skip
        assert as_browser.returncode != 0 and "Permission denied" in as_browser.stderr, name
    db.engine.dispose()


def test_a_browser_over_its_memory_limit_is_replaced() -> None:
    async def scenario() -> tuple[int, int, list[str]]:
        async with session(max_memory_bytes=10_000_000) as browser:  # any real browser uses more
            first = browser.pid
            tab = await browser.new_page()  # replaced before this page
            await tab.goto("data:text/html,<p>hi</p>")
            await tab.close()
            return first, browser.pid, browser.restarts

    first, second, restarts = asyncio.run(scenario())
    assert second != first and len(restarts) == 1
    assert restarts[0].startswith("the browser used ") and restarts[0].endswith("over its limit of 10.0 MB")
    with pytest.raises(ProcessLookupError):
        os.kill(first, 0)


CURATOR_STAND_IN = """
import asyncio, sys
from vvtv.discovery.browser import BrowserOptions, BrowserSession
async def main():
    async with BrowserSession(BrowserOptions(executable=sys.argv[1]), lambda url: None) as browser:
        print(browser.pid, flush=True)
        await asyncio.sleep(60)
asyncio.run(main())
"""


def test_the_browser_dies_with_the_curator() -> None:
    """A Curator killed with SIGKILL cleans nothing up: the browser must still go with it."""
    curator = subprocess.Popen([sys.executable, "-c", CURATOR_STAND_IN, CHROMIUM], stdout=subprocess.PIPE, text=True)
    try:
        browser_pid = int(curator.stdout.readline())
        assert os.path.exists(f"/proc/{browser_pid}")
    finally:
        curator.kill()
        curator.wait()
    deadline = time.monotonic() + 15
    while _alive(browser_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(browser_pid)


def _alive(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
