import pytest

from vvtv.llm.ollama import ChatMessage, LLMError, OllamaClient
from ollama_standin import ollama  # noqa: F401 - the stand-in server fixture

SCHEMA = {"type": "object", "properties": {"score": {"type": "integer"}}, "required": ["score"]}


def client(url: str, timeout: float = 2.0, model: str = "llama3.1:8b") -> OllamaClient:
    return OllamaClient(base_url=url, model=model, timeout_seconds=timeout)


def test_chat_sends_a_non_streaming_request_with_the_schema_and_parses_the_answer(ollama) -> None:
    answer = client(ollama.url).chat_json([ChatMessage(role="user", content="hello")], SCHEMA)
    assert answer == ollama.good_answer
    sent = ollama.chat_requests[0]
    assert sent["stream"] is False
    assert sent["format"] == SCHEMA
    assert sent["model"] == "llama3.1:8b"
    assert sent["messages"] == [{"role": "user", "content": "hello"}]


def test_models_lists_what_the_server_has(ollama) -> None:
    ollama.models = ["llama3.1:8b", "qwen2.5:7b"]
    assert client(ollama.url).models() == ["llama3.1:8b", "qwen2.5:7b"]


def test_a_model_that_is_not_pulled_is_a_clear_error(ollama) -> None:
    with pytest.raises(LLMError, match=r"model 'mistral' is not on the Ollama server.*ollama pull mistral"):
        client(ollama.url, model="mistral").chat_json([ChatMessage(role="user", content="x")], SCHEMA)
    assert ollama.chat_requests == []  # refused before chatting


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        ("error500", r"HTTP 500: llama runner process has terminated"),
        ("malformed", r"answer is not JSON"),
        ("slow", r"timed out after 0.3 s"),
        ("trickle", r"timed out after 0.3 s"),
    ],
)
def test_failures_raise_llm_error(ollama, behaviour: str, message: str) -> None:
    ollama.behaviours = [behaviour]
    with pytest.raises(LLMError, match=message):
        client(ollama.url, timeout=0.3).chat_json([ChatMessage(role="user", content="x")], SCHEMA)


def test_connection_refused_is_an_llm_error(ollama) -> None:
    closed = client("http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(LLMError, match="ConnectError"):
        closed.models()
