"""A one-line progress bar for `vvtv process`: the Factory's step and how far it is.

On a terminal the line is redrawn in place; into a pipe or a log it writes one
line per step and per quarter, so a log stays short and readable.
"""

from __future__ import annotations

import sys
from typing import TextIO

WIDTH = 30


class ProgressBar:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self._shown: tuple[str, int] | None = None

    def __call__(self, step: str, fraction: float) -> None:
        percent = int(min(max(fraction, 0.0), 1.0) * 100)
        quarter = percent // 25
        if self.interactive:
            if self._shown == (step, percent):
                return
            filled = WIDTH * percent // 100
            self.stream.write(f"\r{step:<8} [{'#' * filled}{'.' * (WIDTH - filled)}] {percent:3d}%")
            self._shown = (step, percent)
        else:
            if self._shown == (step, quarter):
                return
            self.stream.write(f"{step:<8} {percent:3d}%\n")
            self._shown = (step, quarter)
        self.stream.flush()

    def close(self) -> None:
        if self.interactive and self._shown:
            self.stream.write("\n")
            self.stream.flush()
