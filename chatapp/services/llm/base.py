"""What every provider shares: the chunk/usage protocol and its error type."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Usage:
    """Tokens read and written by one reply."""

    tokens_in: int
    tokens_out: int


class ProviderError(Exception):
    """A provider failure with a message fit for the user; retryable when trying again may help."""

    def __init__(self, message: str, retryable: bool = False):
        super().__init__(message)
        self.message = message
        self.retryable = retryable


class Provider(Protocol):
    """A language model that streams a reply to OpenAI-style chat messages."""

    name: str

    def stream(self, messages: list[dict]) -> Iterator[str | Usage]:
        """Yield text chunks as they are produced, then one Usage."""
        ...
