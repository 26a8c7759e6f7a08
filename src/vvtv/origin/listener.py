"""The origin's listening socket, made where it is cheapest to make it early.

`vvtv up` binds it before it starts anything else and hands it to every origin
process it runs (ORIGIN_FD_ENV names the inherited descriptor): from that moment
a viewer's connection waits in the backlog until an origin accepts it, instead of
being refused, and an origin that crashes and restarts keeps the same socket.
This module imports nothing heavy, so binding costs no start-up time.
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
from dataclasses import dataclass

from vvtv.errors import ConfigError
from vvtv.processes import start_role

ORIGIN_FD_ENV = "VVTV_ORIGIN_FD"
# A pipe the origin writes one byte to once it serves, so `vvtv up` starts the other roles after it.
ORIGIN_READY_FD_ENV = "VVTV_ORIGIN_READY_FD"


def listen(host: str, port: int) -> socket.socket:
    """A listening socket that rebinds at once after a restart (SO_REUSEADDR skips TIME_WAIT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"origin: cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


def handover(sock: socket.socket, ready_fd: int | None) -> tuple[dict[str, str], tuple[int, ...]]:
    """The environment and descriptors that give an origin process this socket (and the ready pipe)."""
    env, fds = {ORIGIN_FD_ENV: str(sock.fileno())}, (sock.fileno(),)
    if ready_fd is not None:
        env[ORIGIN_READY_FD_ENV] = str(ready_fd)
        fds += (ready_fd,)
    return env, fds


@dataclass(frozen=True, kw_only=True)
class EarlyOrigin:
    """An origin started by `vvtv up` before anything else, for the supervisor to adopt."""

    socket: socket.socket
    process: subprocess.Popen
    ready_fd: int  # the pipe's end it announces on (see wait_ready)


def start_early(host: str, port: int, overrides: list[str], *, env: dict[str, str]) -> EarlyOrigin:
    """Listen, then start `vvtv run origin` on the socket at once: it imports while the supervisor does."""
    sock = listen(host, port)
    ready, ready_for_origin = os.pipe()
    extra, fds = handover(sock, ready_for_origin)
    try:
        process = start_role("origin", overrides, env={**env, **extra}, pass_fds=fds)
    finally:
        os.close(ready_for_origin)
    return EarlyOrigin(socket=sock, process=process, ready_fd=ready)


def inherited_or_new(host: str, port: int) -> socket.socket:
    """The socket the supervisor handed down, or a new one when the origin runs on its own."""
    fd = os.environ.get(ORIGIN_FD_ENV)
    if fd is None:
        return listen(host, port)
    return socket.socket(fileno=int(fd))


def announce_ready() -> None:
    """Tell the supervisor that started this origin that it serves (once; nothing when run alone)."""
    fd = os.environ.pop(ORIGIN_READY_FD_ENV, None)
    if fd is not None:
        try:
            os.write(int(fd), b".")
        finally:
            os.close(int(fd))


def wait_ready(fd: int, seconds: float) -> bool:
    """Wait until the origin announces it serves (or dies, which closes the pipe); closes `fd`."""
    try:
        readable, _, _ = select.select([fd], [], [], seconds)
        return bool(readable) and os.read(fd, 1) == b"."
    finally:
        os.close(fd)
