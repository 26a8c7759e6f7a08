"""Text written by strangers (page titles, descriptions, tags), made safe to keep and to show.

A page can put anything in its title: terminal escapes that clear the screen
or retitle the window, bidirectional overrides that reorder what a reader
sees, megabytes of text. What VVTV keeps is cleaned and capped when it is read
(clean_text, clean_paragraphs); what it prints is escaped again on the way
out (printable), for rows stored before the cleaning or read from elsewhere.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

# C0 and C1 control characters, DEL, and the bidirectional marks and overrides that reorder text on screen.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# What printable escapes: the same, but line breaks and tabs are the output's own.
UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(value: str, limit: int) -> str:
    """One line for storing and showing: control characters gone, whitespace collapsed, at most `limit` characters."""
    return " ".join(CONTROL.sub(" ", value).split())[:limit].strip()


def clean_paragraphs(value: str, limit: int) -> str:
    """Like clean_text, keeping line breaks (at most one blank line in a row)."""
    lines = value.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    text = "\n".join(" ".join(CONTROL.sub(" ", line).split()) for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()[:limit].strip()


def printable(text: str) -> str:
    """`text` with every control character shown as an escape (\\x1b), so a terminal never acts on it."""
    return UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class _PrintableStream:
    """A text stream that escapes control characters on their way to the wrapped one."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(printable(text))

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


@contextmanager
def printable_stdout() -> Iterator[None]:
    """While it lasts, what is printed to stdout cannot carry terminal escapes."""
    original = sys.stdout
    sys.stdout = _PrintableStream(original)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout = original


class PrintableFormatter(logging.Formatter):
    """Log lines with control characters escaped: a logged title cannot act on the terminal either."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))
