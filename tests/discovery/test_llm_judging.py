"""Acceptance 3 inside a discovery: the Curator asks the LLM (the Ollama stand-in), its breaker
opens after a failure, the deterministic judge takes over without calling the server, and
every plan records which judge decided and why."""

from __future__ import annotations

import asyncio
from pathlib import Path

from demosite import DemoSite, curator_settings, demo_site  # noqa: F401 - demo_site is a fixture
from ollama_standin import OllamaStandIn, ollama  # noqa: F401 - the stand-in server fixture
from sqlalchemy import select

from vvtv.discovery.curator import Curator
from vvtv.runtime import Runtime
from vvtv.storage.models import Event, Plan, PlanStatus


def test_plans_record_the_llm_then_the_fallback_once_the_breaker_opens(
    demo_site: DemoSite, ollama: OllamaStandIn, tmp_path: Path
) -> None:
    ollama.behaviours = ["good", "error500"]
    llm = {"base_url": ollama.url, "breaker_failures": 1, "breaker_cooldown_seconds": 3600}
    rt = Runtime.open(curator_settings(tmp_path / "var", demo_site.url, llm=llm))
    curator = Curator(rt)
    try:
        asyncio.run(curator.discover("creative commons music", max_plans=5))
    finally:
        curator.close()
    with rt.db.session() as session:
        judged = {p.page_url.rsplit("/", 1)[1]: p for p in session.scalars(select(Plan)) if p.judge}
        breaker = [e.message for e in session.scalars(select(Event).where(Event.kind == "llm-breaker"))]
    assert len(ollama.chat_requests) == 2  # nothing reached the server once the breaker was open
    assert judged["ocean-waves"].judge == "llm" and judged["ocean-waves"].score == 0.8
    assert judged["ocean-waves"].playback["judgement"]["why_this_judge"] == "llama3.1:8b answered"
    assert "calm nature footage" in judged["ocean-waves"].reason
    assert judged["piano-etude"].judge == "rules+embeddings"
    assert "LLM call failed" in judged["piano-etude"].playback["judgement"]["why_this_judge"]
    for slug in ("city-lights", "forest-birds", "paint-flow"):
        assert judged[slug].judge == "rules+embeddings"
        assert "LLM circuit breaker open" in judged[slug].playback["judgement"]["why_this_judge"]
    assert all(p.status is PlanStatus.APPROVED for p in judged.values())
    assert len(breaker) == 1 and breaker[0].startswith("LLM circuit breaker open: 1 failures within")
    rt.db.dispose()
