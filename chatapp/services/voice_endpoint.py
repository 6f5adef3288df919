"""Calls to an OpenAI-compatible audio server (transcriptions and speech), shared by the
transcription and speech services: one place for the URL, the key, the timeout and the errors."""

from __future__ import annotations

import httpx


class VoiceFailed(Exception):
    """Transcription or speech could not be made; the message says why, for a log or a person."""


def post(base_url: str, path: str, api_key: str | None, timeout: float, **request) -> httpx.Response:
    """POST to `base_url` + `path` (httpx keyword arguments in `request`); the response when it
    succeeded, else VoiceFailed naming the status or the network error."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.post(base_url.rstrip("/") + path, headers=headers, timeout=timeout,
                              **request)
    except httpx.HTTPError as error:
        raise VoiceFailed(f"The voice server could not be reached: {error}") from error
    if response.status_code >= 400:
        raise VoiceFailed(f"The voice server answered {response.status_code}: "
                          f"{response.text[:200]}")
    return response
