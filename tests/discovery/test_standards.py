"""The channel's standards a watched video must meet before any judge is asked (Curator._standards),
and a rejection that stands even when the database refuses what the page said."""

from __future__ import annotations

from pathlib import Path

import pytest
from demosite import curator_settings
from sqlalchemy import select

from vvtv.config import load_settings
from vvtv.discovery.curator import Curator, Visit
from vvtv.llm.fallback import DeterministicJudge, LexicalSimilarity
from vvtv.llm.judge import Judge
from vvtv.discovery.metadata import PageMetadata
from vvtv.discovery.playback import PlaybackReport
from vvtv.runtime import Runtime
from vvtv.storage.models import Plan, PlanStatus

META = PageMetadata(title="Harbour", licence="CC BY 4.0", duration_s=600)
PLAYED = PlaybackReport(played=True, started_by="click", width=1280, height=720, duration_s=600, watched_s=2.0,
                        advanced_s=2.0, total_frames=30, media_url="https://x/master.m3u8", media_kind="hls")  # fmt: skip


@pytest.fixture(scope="module")
def curator(tmp_path_factory: pytest.TempPathFactory) -> Curator:
    rt = Runtime.open(curator_settings(tmp_path_factory.mktemp("standards"), "http://127.0.0.1:9/"))
    # No judge is asked here: word overlap spares loading the embedding model.
    judge = Judge(rt.settings.llm, clock=rt.clock, fallback=DeterministicJudge(LexicalSimilarity()))
    yield Curator(rt, judge=judge)
    judge.close()
    rt.db.dispose()


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({}, None),
        ({"live": "its HLS playlist has no EXT-X-ENDLIST"}, "a live stream (its HLS playlist has no EXT-X-ENDLIST): "
         "only recordings of a known length can be broadcast"),
        ({"live": "the player's duration is Infinity", "duration_s": None}, "a live stream (the player's duration is "
         "Infinity): only recordings of a known length can be broadcast"),
        ({"duration_s": None}, "unknown length: the player reports no finite duration, so it cannot be broadcast"),
        ({"duration_s": 3.0}, "too short: 3 s (the minimum is 5 s)"),
    ],
)  # fmt: skip
def test_live_and_unknown_length_media_are_rejected(curator: Curator, changes: dict, reason: str | None) -> None:
    assert curator._standards(PLAYED.model_copy(update=changes), META) == reason


def test_a_rejection_the_database_refuses_is_kept_without_what_the_page_said(postgres, tmp_path: Path) -> None:  # noqa: ANN001
    # PostgreSQL refuses a NUL character in text: a page's title must not leave its link unsettled (tried forever).
    rt = Runtime.open(load_settings(data_dir=tmp_path / "var", storage={"url": postgres.new_database()}))
    judge = Judge(rt.settings.llm, clock=rt.clock, fallback=DeterministicJudge(LexicalSimilarity()))
    try:
        visit = Visit(found_on="https://x/search", refused_requests=[], metadata=PageMetadata(title="nul\x00title"),
                      tried=["clicked the video"])  # fmt: skip
        outcome = Curator(rt, judge=judge)._reject("https://x/watch/1", visit, "no video found on the page")
        with rt.db.session() as session:
            plan = session.scalars(select(Plan)).one()
            assert (plan.status, plan.title, plan.playback["tried"]) == (PlanStatus.REJECTED, "", ["clicked the video"])
    finally:
        judge.close()
        rt.db.dispose()
    assert outcome.reason == "no video found on the page (what the page said could not be stored)"
