"""A small client for Ollama's HTTP API: `/api/tags` (which models are there) and `/api/chat`.

Chat is non-streaming and asks for structured output by passing a JSON schema
as `format`. Every way a call can go wrong (timeout, connection refused, HTTP
error, a body that is not the expected JSON) raises LLMError, which the
judge counts as one failure for its circuit breaker.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from vvtv.config import LLMSettings
from vvtv.errors import ToolError

MAX_ANSWER_BYTES = 4_000_000  # a verdict is a few hundred bytes; a server sending more is broken


class LLMError(ToolError):
    """The LLM could not give a usable answer."""


@dataclass(kw_only=True)
class ChatMessage:
    role: str  # "system", "user" or "assistant"
    content: str


class OllamaClient:
    def __init__(self, *, base_url: str, model: str, timeout_seconds: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout_seconds = timeout_seconds
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_seconds)
        self._model_checked = False

    @classmethod
    def from_settings(cls, settings: LLMSettings, *, timeout_seconds: float) -> "OllamaClient | None":
        """The client for llm.base_url, or None when no LLM is configured."""
        if not settings.base_url:
            return None
        return cls(base_url=settings.base_url, model=settings.model, timeout_seconds=timeout_seconds)

    def close(self) -> None:
        self._http.close()

    def models(self) -> list[str]:
        """Names of the models the server has pulled."""
        body = self._request("GET", "/api/tags")
        models = body.get("models")
        if not isinstance(models, list):
            raise LLMError(f"{self.base_url}/api/tags: no 'models' list in the answer")
        return [str(m.get("name", "")) for m in models if isinstance(m, dict)]

    def ensure_model(self) -> None:
        """Fail clearly when the configured model is not pulled (checked once per client)."""
        if self._model_checked:
            return
        names = self.models()
        wanted = {self.model, self.model if ":" in self.model else f"{self.model}:latest"}
        if not wanted & set(names):
            raise LLMError(f"model {self.model!r} is not on the Ollama server at {self.base_url} "
                           f"(it has {names}; run `ollama pull {self.model}`)")  # fmt: skip
        self._model_checked = True

    def chat_json(self, messages: list[ChatMessage], schema: dict[str, Any]) -> Any:
        """The assistant's answer, parsed as JSON; the server is asked to follow `schema`."""
        self.ensure_model()
        body = self._request(
            "POST",
            "/api/chat",
            json={
                "model": self.model,
                "messages": [asdict(m) for m in messages],
                "stream": False,
                "format": schema,
                "options": {"temperature": 0},
            },
        )
        message = body.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str):
            raise LLMError(f"{self.base_url}/api/chat: no message content in the answer")
        try:
            return json.loads(content)
        except ValueError:
            raise LLMError(f"the model's answer is not JSON: {content[:120]!r}") from None

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        timed_out = LLMError(f"{self.base_url}{path}: timed out after {self.timeout_seconds:g} s")
        # httpx's timeout is per read: a server that trickles bytes is stopped by this deadline for the whole answer.
        deadline = time.monotonic() + self.timeout_seconds
        content = bytearray()
        try:
            with self._http.stream(method, path, **kwargs) as response:
                for chunk in response.iter_bytes():
                    content += chunk
                    if len(content) > MAX_ANSWER_BYTES:
                        raise LLMError(f"{self.base_url}{path}: the answer is larger than {MAX_ANSWER_BYTES} bytes")
                    if time.monotonic() > deadline:
                        raise timed_out
        except httpx.TimeoutException:
            raise timed_out from None
        except httpx.HTTPError as exc:
            raise LLMError(f"{self.base_url}{path}: {type(exc).__name__}: {exc}") from None
        text = content.decode("utf-8", "replace")
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if response.status_code >= 400:
            detail = body.get("error") if isinstance(body, dict) else text[:200]
            raise LLMError(f"{self.base_url}{path}: HTTP {response.status_code}: {detail}")
        if not isinstance(body, dict):
            raise LLMError(f"{self.base_url}{path}: the answer is not a JSON object: {text[:120]!r}")
        return body
