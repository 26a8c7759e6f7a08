"""The deterministic judge with the real all-MiniLM-L6-v2 model (the `embeddings` extra) and without it."""

from pathlib import Path

import pytest
from conftest import tiny_settings

from vvtv.discovery.curator import Curator
from vvtv.llm.fallback import DeterministicJudge, EmbeddingSimilarity, LexicalSimilarity, best_similarity
from vvtv.llm.records import VideoFacts
from vvtv.runtime import Runtime

BRIEF = "Creative Commons music, nature, science and art videos that suit a calm, curious 24/7 channel."
GOOD = VideoFacts(
    title="Ocean waves at dawn",
    description="Calm nature footage of the sea at sunrise, with soft ambient music.",
    tags=["nature", "ocean"],
    licence="CC BY 4.0",
)
OFF_BRIEF = VideoFacts(title="Quarterly earnings call", description="Revenue guidance for investors, Q3 2026.", tags=[])


@pytest.fixture(scope="module")
def embedding_judge() -> DeterministicJudge:
    similarity, note = best_similarity()
    assert isinstance(similarity, EmbeddingSimilarity), note  # make test installs the extra: it must load
    return DeterministicJudge(similarity, note)


def test_embeddings_separate_fitting_from_unfitting_videos(embedding_judge: DeterministicJudge) -> None:
    good = embedding_judge.judge(GOOD, BRIEF, why="test")
    bad = embedding_judge.judge(OFF_BRIEF, BRIEF, why="test")
    assert good.judge == "rules+embeddings"
    assert good.score >= 0.8 > 0.5 > bad.score
    assert "embedding cosine" in good.reasons[0]
    assert "open licence (CC BY 4.0)" in good.reasons
    assert "no open licence found" in bad.reasons


def test_the_same_facts_give_the_same_score(embedding_judge: DeterministicJudge) -> None:
    assert embedding_judge.judge(GOOD, BRIEF, why="a").score == embedding_judge.judge(GOOD, BRIEF, why="b").score


def test_word_overlap_when_embeddings_are_missing() -> None:
    judge = DeterministicJudge(LexicalSimilarity(), note="embeddings unavailable")
    good = judge.judge(GOOD, BRIEF, why="no LLM configured")
    bad = judge.judge(OFF_BRIEF, BRIEF, why="no LLM configured")
    assert good.judge == "rules+lexical"
    assert "music, nature" in good.reasons[0] or "calm" in good.reasons[0]
    assert good.score > 0.5 > bad.score
    assert good.why_this_judge == "no LLM configured; embeddings unavailable"
    assert {"nature", "calm", "music"} <= set(good.tags)


def test_embeddings_turned_off_the_curator_judges_by_word_overlap_and_says_so(tmp_path: Path) -> None:
    rt = Runtime.open(tiny_settings(tmp_path / "var", llm={"embeddings": False}))
    curator = Curator(rt)
    try:
        judgement = curator.judge.judge(GOOD, BRIEF)
    finally:
        curator.close()
        rt.db.dispose()
    assert judgement.judge == "rules+lexical"
    assert judgement.why_this_judge.endswith("embeddings turned off (llm.embeddings = false), word overlap used")
    assert judgement.score > 0.5
