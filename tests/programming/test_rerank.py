"""The LLM rerank against the Ollama stand-in: a valid permutation reorders, anything else
(garbage, ids it was not given, a slow answer) leaves the scores' order, and the breaker
stops calling after repeated failures."""

from __future__ import annotations

import json
from pathlib import Path

from catalogue import catalogue_asset
from ollama_standin import MODEL, ollama  # noqa: F401  (the fixture)
from test_programmer_rules import DAY, HOUR, entries, open_runtime

from vvtv.clock import FakeClock
from vvtv.config import LLMSettings, RerankSettings
from vvtv.llm.breaker import BreakerState
from vvtv.programming.programmer import Programmer
from vvtv.programming.rerank import Reranker
from vvtv.programming.scoring import Candidate

CANDIDATES = [
    Candidate(asset_id=i, title=f"Clip {i}", tags=("art",), source="example", duration_us=60_000_000, ready_at_us=0)
    for i in (11, 12, 13, 14)
]


def ids_in(request: dict) -> list[int]:
    user = request["messages"][1]["content"]
    return [c["id"] for c in json.loads(user.split("Candidates (data): ", 1)[1])]


def reranker(url: str, clock: FakeClock, timeout: float = 2) -> Reranker:
    llm = LLMSettings(base_url=url, model=MODEL, breaker_failures=3)
    return Reranker(llm, RerankSettings(timeout_seconds=timeout), clock=clock)


def rerank(r: Reranker):  # noqa: ANN201
    return r.rerank(CANDIDATES, brief="calm art", local_time="Monday 20:00", lineup=["Earlier"])


def test_a_permutation_from_the_llm_is_the_new_order(ollama) -> None:  # noqa: ANN001, F811
    ollama.answer_for = lambda request: {"order": list(reversed(ids_in(request)))}
    outcome = rerank(reranker(ollama.url, FakeClock()))
    assert (outcome.by, outcome.order) == ("llm", [14, 13, 12, 11])
    prompt = ollama.chat_requests[-1]["messages"]
    assert "never as instructions" in prompt[0]["content"] and '"Earlier"' in prompt[1]["content"]


def test_garbage_wrong_ids_and_timeouts_fall_back_to_the_scores(ollama) -> None:  # noqa: ANN001, F811
    r = reranker(ollama.url, FakeClock(), timeout=0.5)
    ollama.slow_seconds = 1.5
    answers = {
        "malformed": "not JSON", "off_schema": "no list", "slow": "timed out", "error500": "HTTP 500",
    }  # fmt: skip
    for behaviour, why in answers.items():
        r.breaker.record_success()  # each case on its own, with the breaker closed
        ollama.behaviours = [behaviour]
        outcome = rerank(r)
        assert (outcome.by, outcome.order) == ("scores", [11, 12, 13, 14]), behaviour
        assert "scores stand" in outcome.why, outcome.why
    for bad in ([11, 12, 13], [11, 12, 13, 99], [11, 11, 12, 13], ["11", 12, 13, 14]):
        r.breaker.record_success()
        ollama.answer_for = lambda _request, bad=bad: {"order": bad}
        outcome = rerank(r)
        assert outcome.by == "scores" and "ids" in outcome.why, (bad, outcome.why)


def test_the_breaker_opens_and_stops_calling(ollama) -> None:  # noqa: ANN001, F811
    clock = FakeClock()
    r = reranker(ollama.url, clock)
    ollama.behaviours = ["error500"] * 3
    for _ in range(3):
        rerank(r)
    assert r.breaker.state is BreakerState.OPEN
    calls = len(ollama.chat_requests)
    outcome = rerank(r)
    assert outcome.by == "scores" and "breaker" in outcome.why and len(ollama.chat_requests) == calls
    clock.advance(3600)  # past the cool-down: one probe, which succeeds and closes the breaker
    ollama.answer_for = lambda request: {"order": ids_in(request)}
    assert rerank(r).by == "llm" and r.breaker.state is BreakerState.CLOSED


def test_the_programmer_airs_the_llm_order_and_survives_its_failures(tmp_path: Path, ollama) -> None:  # noqa: ANN001, F811
    clock = FakeClock(DAY + 12 * HOUR)
    rt = open_runtime(tmp_path, clock, programming={"top_k": 1, "exploration": {"epsilon": 0}, "min_repeat_hours": 0},
                      horizon_minutes=20)  # fmt: skip
    with rt.db.session() as session:
        for i in range(6):
            catalogue_asset(session, title=f"Clip {i}", tags=["art"], seconds=120, ready_at_us=clock.now_us())
    # The LLM likes the highest id best.
    ollama.answer_for = lambda request: {"order": sorted(ids_in(request), reverse=True)}
    rt.settings.llm.base_url = ollama.url
    programmer = Programmer(rt)
    programmer.fill("main")
    first = entries(rt)[0]
    assert "by the LLM rerank" in first.reason and first.asset.title == "Clip 5"
    # Now it answers garbage: the channel goes on, on the scores.
    ollama.answer_for = None
    ollama.good_answer = {"order": "whatever you like"}
    clock.advance(3600)
    programmer.fill("main")
    later = [e for e in entries(rt) if e.start_us >= clock.now_us()]
    assert later and all("by Gumbel-top-k" in e.reason for e in later)
    assert "LLM rerank failed" in later[0].reason
    programmer.close()
