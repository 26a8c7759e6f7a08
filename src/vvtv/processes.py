"""Child processes that never outlive their parent."""

from __future__ import annotations

import ctypes
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """A subprocess preexec_fn: the kernel SIGKILLs the child when its parent dies.

    So a supervisor or worker killed with SIGKILL leaves no orphan role, encoder
    or browser running on behind it.
    """
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
