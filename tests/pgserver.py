"""A throw-away PostgreSQL cluster for the tests: Debian's initdb and postgres on 127.0.0.1, a free port.

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user that
Debian's package creates, and lives in a folder of its own under the system temp dir (pytest's
own temp folders are private to root). The server is one process started here and stopped by
its PID (SIGINT: PostgreSQL's fast shutdown).
"""

from __future__ import annotations

import itertools
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from livesystem import free_port
from vvtv.processes import die_with_parent

SERVICE_USER = "postgres"


def postgres_bin() -> Path:
    """The newest installed server's bin folder (/usr/lib/postgresql/<major>/bin on Debian)."""
    found = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    if not found:
        raise RuntimeError("no PostgreSQL server under /usr/lib/postgresql: apt-get install postgresql "
                           "(make test does)")
    return max(found, key=lambda p: int(re.sub(r"\D", "", p.parent.name) or 0))


@dataclass(kw_only=True)
class PostgresCluster:
    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    _names: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_owner(self) -> dict[str, object]:
        if os.geteuid() != 0:
            return {}
        return {"user": SERVICE_USER, "group": pwd.getpwnam(SERVICE_USER).pw_gid}

    def start(self) -> None:
        """Start the server: on a new cluster, or again on the data of one halted (halt())."""
        data = self.folder / "data"
        binary = postgres_bin()
        if not data.exists():
            subprocess.run([str(binary / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                            "--no-sync"], check=True, capture_output=True, **self._as_owner())  # fmt: skip
        log = (self.folder / "postgres.log").open("ab")  # appended to on a restart
        self.process = subprocess.Popen(
            [str(binary / "postgres"), "-D", str(data), "-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
             "-c", f"unix_socket_directories={self.folder}", "-c", "fsync=off", "-c", "max_connections=200"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent,
            **self._as_owner(),
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                psycopg.connect(self.admin_url, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"PostgreSQL did not start:\n{(self.folder / 'postgres.log').read_text()}")
                time.sleep(0.1)

    def new_database(self) -> str:
        """A fresh, empty database; returns its SQLAlchemy URL (psycopg 3)."""
        name = f"vvtv_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def halt(self) -> None:
        """Stop the server and keep its data: start() runs it again, as a database outage ends."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def freeze(self) -> list[int]:
        """SIGSTOP the server and its backends: connected or not, a client waits with no answer, as on a
        hung machine. Returns the PIDs for thaw()."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)  # first, so that it starts no backend meanwhile
        backends = [pid for pid in _pids() if _parent(pid) == self.process.pid]
        for pid in backends:
            os.kill(pid, signal.SIGSTOP)
        return [self.process.pid, *backends]

    @staticmethod
    def thaw(pids: list[int]) -> None:
        for pid in reversed(pids):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        self.halt()
        shutil.rmtree(self.folder, ignore_errors=True)


def _pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def _parent(pid: int) -> int | None:
    try:
        return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None  # gone meanwhile


def start_cluster() -> PostgresCluster:
    folder = Path(tempfile.mkdtemp(prefix="vvtv-pg-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam(SERVICE_USER)
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    cluster = PostgresCluster(folder=folder)
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster
