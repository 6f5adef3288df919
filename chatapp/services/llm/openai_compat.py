"""OpenAI-compatible chat completions (OpenAI, Ollama, vLLM, LiteLLM, llama.cpp server)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx

from chatapp.services.llm.base import ProviderError, Usage
from chatapp.services.prompt import estimate_tokens

_clients: dict[tuple, httpx.Client] = {}


def shared_client(connect_timeout: float, read_timeout: float, max_connections: int) -> httpx.Client:
    """The process's HTTP client for these settings. Replies share its connection pool, so a new
    reply reuses an open connection to the model instead of paying for a new one (and, over
    HTTPS, for a TLS handshake and a certificate store load)."""
    key = (connect_timeout, read_timeout, max_connections)
    if key not in _clients:
        _clients[key] = httpx.Client(
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            limits=httpx.Limits(max_connections=max_connections,
                                max_keepalive_connections=max_connections))
    return _clients[key]


class OpenAICompatProvider:
    """Streams `POST {base_url}/chat/completions` with `stream: true`."""

    name = "openai"

    def __init__(self, base_url: str, model: str, api_key: str | None = None,
                 max_tokens: int = 1024, connect_timeout: float = 10.0,
                 read_timeout: float = 60.0, max_connections: int = 50):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.max_tokens = max_tokens
        self.client = shared_client(connect_timeout, read_timeout, max_connections)

    def stream(self, messages: list[dict]) -> Iterator[str | Usage]:
        """Yield the reply's text chunks, then its Usage (reported by the server or estimated)."""
        headers = {"Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        body = {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "max_tokens": self.max_tokens,
            "stream_options": {"include_usage": True},
        }
        usage = None
        pieces = 0
        finished = False
        try:
            with self.client.stream("POST", self.url, json=body, headers=headers) as response:
                _raise_for_status(response)
                for payload in _sse_data(response.iter_lines()):
                    if payload == "[DONE]":
                        finished = True
                        break
                    chunk = _parse(payload)
                    if chunk.get("error"):
                        raise ProviderError(_error_text(chunk["error"]), retryable=True)
                    if chunk.get("usage"):
                        usage = Usage(chunk["usage"].get("prompt_tokens", 0),
                                      chunk["usage"].get("completion_tokens", 0))
                    for choice in chunk.get("choices") or []:
                        finished = finished or bool(choice.get("finish_reason"))
                        text = (choice.get("delta") or {}).get("content")
                        if text:
                            pieces += 1
                            yield text
        except httpx.TimeoutException as exc:
            raise ProviderError("The language model took too long to answer.", True) from exc
        except httpx.TransportError as exc:
            raise ProviderError("The language model service could not be reached.", True) from exc
        if not finished:
            raise ProviderError("The language model stopped before finishing its reply.", True)
        yield usage or Usage(estimate_tokens(messages), pieces)


def _sse_data(lines: Iterator[str]) -> Iterator[str]:
    """The payloads of `data:` lines, joined per event as the SSE format says."""
    buffer: list[str] = []
    for line in lines:
        if line.startswith("data:"):
            buffer.append(line[5:].removeprefix(" "))
        elif line == "" and buffer:
            yield "\n".join(buffer)
            buffer = []
    if buffer:
        yield "\n".join(buffer)


def _parse(payload: str) -> dict:
    try:
        chunk = json.loads(payload)
    except ValueError as exc:
        raise ProviderError("The language model sent a reply chatapp could not read.") from exc
    if not isinstance(chunk, dict):
        raise ProviderError("The language model sent a reply chatapp could not read.")
    return chunk


def _raise_for_status(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    response.read()
    status = response.status_code
    if status in (401, 403):
        raise ProviderError("The language model service refused chatapp's credentials.")
    if status == 404:
        raise ProviderError("The configured model or endpoint was not found.")
    if status == 429:
        raise ProviderError("The language model service is busy (rate limited).", True)
    if status >= 500:
        raise ProviderError(f"The language model service failed (HTTP {status}).", True)
    raise ProviderError(f"The language model service rejected the request (HTTP {status}).")


def _error_text(error) -> str:
    message = error.get("message") if isinstance(error, dict) else str(error)
    return f"The language model reported an error: {message}"[:300]
