"""VMAF: how close an encoded rendition looks to its source.

Scores come from libvmaf (the vmaf_v0.6.1 model) in the imageio-ffmpeg build,
run inside the encode itself (see package.checks_args) on every n-th frame.
The pooled mean over the scored frames is the rendition's score.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from vvtv.errors import ConfigError, ToolError


def filter_path(path: Path) -> str:
    """A path quoted for a filtergraph option; quotes keep ':' ',' ';' and '[' literal."""
    text = str(path)
    if "'" in text or "\\" in text:
        raise ConfigError(f"{text}: a path used inside an ffmpeg filter may not contain ' or \\")
    return f"'{text}'"


def vmaf_filter(log_path: Path) -> str:
    """libvmaf taking [distorted][reference], writing its JSON log to `log_path`."""
    threads = min(os.cpu_count() or 1, 4)
    return f"libvmaf=n_threads={threads}:shortest=1:log_fmt=json:log_path={filter_path(log_path)}"


def read_vmaf(log_path: Path) -> float:
    """The pooled mean VMAF of a libvmaf JSON log."""
    try:
        data = json.loads(log_path.read_text())
        return float(data["pooled_metrics"]["vmaf"]["mean"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ToolError(f"no VMAF score in {log_path.name}: {exc}") from exc
