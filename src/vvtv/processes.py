"""Child processes that never outlive their parent."""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1
# Looked up once, here: a preexec_fn runs between fork and exec, where loading a library
# in a threaded parent can deadlock on a lock another thread held at the fork.
_prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl


def die_with_parent() -> None:
    """A subprocess preexec_fn: the kernel SIGKILLs the child when its parent dies.

    So a supervisor or worker killed with SIGKILL leaves no orphan role, encoder
    or browser running on behind it.
    """
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def start_role(
    role: str, overrides: list[str], *, env: dict[str, str], pass_fds: tuple[int, ...] = ()
) -> subprocess.Popen:
    """`vvtv run ROLE` with the same `--set` overrides, as a child that dies with this process."""
    sets = [arg for pair in overrides for arg in ("--set", pair)]
    return subprocess.Popen(
        [sys.executable, "-m", "vvtv.cli", *sets, "run", role],
        stdin=subprocess.DEVNULL,
        env=env,
        pass_fds=pass_fds,
        preexec_fn=die_with_parent,
    )
