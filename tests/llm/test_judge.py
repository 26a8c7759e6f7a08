"""Acceptance 3: the LLM judge against the Ollama stand-in, its breaker and the deterministic fallback."""

from vvtv.clock import FakeClock
from vvtv.config import LLMSettings
from vvtv.llm.breaker import BreakerState
from vvtv.llm.fallback import DeterministicJudge, LexicalSimilarity
from vvtv.llm.judge import Judge
from vvtv.llm.records import VideoFacts
from ollama_standin import ollama  # noqa: F401 - the stand-in server fixture

BRIEF = "Creative Commons music, nature, science and art videos that suit a calm, curious 24/7 channel."
FACTS = VideoFacts(
    title="Ocean waves at dawn",
    description="Calm nature footage of the sea at sunrise, with ambient music.",
    tags=["nature", "ocean"],
    duration_s=62,
    licence="CC BY 4.0",
    page_url="http://127.0.0.1/watch/1",
    height=720,
)


def make_judge(url: str, clock: FakeClock, changes: list) -> Judge:
    settings = LLMSettings(
        base_url=url, timeout_seconds=0.3, breaker_failures=4, breaker_window_seconds=600, breaker_cooldown_seconds=60
    )
    return Judge(
        settings, clock=clock, fallback=DeterministicJudge(LexicalSimilarity()),
        on_breaker_change=lambda state, why: changes.append(state),
    )  # fmt: skip


def test_good_answers_become_scores(ollama) -> None:
    judge = make_judge(ollama.url, FakeClock(), [])
    ollama.good_answer = {"score": 7, "reasons": ["a calm nature film"], "tags": [" Nature ", "Sea"]}
    result = judge.judge(FACTS, BRIEF)
    assert result.judge == "llm"
    assert result.score == 0.7
    assert result.reasons == ["a calm nature film"]
    assert result.tags == ["nature", "sea"]
    assert result.why_this_judge == "llama3.1:8b answered"
    prompt = ollama.chat_requests[0]["messages"][1]["content"]
    assert BRIEF in prompt and "Ocean waves at dawn" in prompt and "CC BY 4.0" in prompt


def test_failures_open_the_breaker_then_the_fallback_decides_until_one_probe(ollama) -> None:
    clock, changes = FakeClock(), []
    judge = make_judge(ollama.url, clock, changes)
    ollama.behaviours = ["slow", "error500", "malformed", "off_schema"]
    failures = [judge.judge(FACTS, BRIEF) for _ in range(4)]
    reasons = [j.why_this_judge for j in failures]
    assert "timed out after 0.3 s" in reasons[0]
    assert "HTTP 500" in reasons[1]
    assert "not JSON" in reasons[2]
    assert "does not match the schema: score" in reasons[3]
    assert all(j.judge == "rules+lexical" for j in failures)
    assert changes == [BreakerState.OPEN]

    calls_when_opened = len(ollama.chat_requests)
    for _ in range(5):
        clock.advance(10)
        decided = judge.judge(FACTS, BRIEF)
        assert decided.judge == "rules+lexical"
        assert "circuit breaker open" in decided.why_this_judge
    assert len(ollama.chat_requests) == calls_when_opened  # nothing reached the server while open

    clock.advance(10)  # 60 s since opening: the cool-down is over
    probe = judge.judge(FACTS, BRIEF)
    assert len(ollama.chat_requests) == calls_when_opened + 1
    assert probe.judge == "llm"
    assert "probe" in probe.why_this_judge
    assert changes == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED]
    assert judge.judge(FACTS, BRIEF).judge == "llm"


def test_a_failed_probe_opens_the_breaker_again(ollama) -> None:
    clock, changes = FakeClock(), []
    judge = make_judge(ollama.url, clock, changes)
    ollama.behaviours = ["error500"] * 4 + ["out_of_range"]
    for _ in range(4):
        judge.judge(FACTS, BRIEF)
    clock.advance(60)
    probe = judge.judge(FACTS, BRIEF)
    assert probe.judge == "rules+lexical"
    assert "less than or equal to 10" in probe.why_this_judge
    assert changes == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.OPEN]
    before = len(ollama.chat_requests)
    assert judge.judge(FACTS, BRIEF).judge == "rules+lexical"
    assert len(ollama.chat_requests) == before


def test_no_llm_configured_means_the_deterministic_judge(ollama) -> None:
    judge = Judge(LLMSettings(base_url=""), clock=FakeClock(), fallback=DeterministicJudge(LexicalSimilarity()))
    result = judge.judge(FACTS, BRIEF)
    assert result.judge == "rules+lexical"
    assert result.why_this_judge == "no LLM configured (llm.base_url is empty)"
    assert ollama.chat_requests == [] and ollama.tags_requests == 0
