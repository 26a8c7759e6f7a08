"""What a judge is shown about a video, and what it answers."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, Field


@dataclass(kw_only=True)
class VideoFacts:
    """What the judge is shown about a video (all of it measured or read from the page)."""

    title: str
    description: str = ""
    tags: list[str] = field(default_factory=list)
    duration_s: float | None = None
    licence: str | None = None
    page_url: str = ""
    height: int | None = None


class Judgement(BaseModel):
    judge: str  # "llm", or the deterministic judge's name, e.g. "rules+embeddings"
    score: float = Field(ge=0, le=1)
    reasons: list[str]
    tags: list[str] = Field(default_factory=list)
    why_this_judge: str
