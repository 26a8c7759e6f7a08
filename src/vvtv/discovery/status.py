"""What only the Curator knows about itself, as it writes it into its heartbeat for /metrics and status.

Kept apart from curator.py so that readers (the origin) need not import the browser.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(kw_only=True)
class CuratorStatus:
    browser_memory_bytes: int | None = None  # PSS of Chromium and its children, while a browser runs
    llm_requests: int = 0  # since the Curator started
    llm_failures: int = 0
    breaker: str = "closed"  # the LLM circuit breaker's state
    paused: bool = False  # waiting for the machine's load to fall (healing/load.py)

    def as_heartbeat(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_heartbeat(cls, data: dict[str, Any]) -> CuratorStatus:
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})
