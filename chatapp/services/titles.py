"""Session titles: until the model names a session from its first message (in a background job),
the first line of that message names it, and keeps naming it when the model cannot."""

from __future__ import annotations

import re

INSTRUCTION = ("Name this conversation for a list of chats. Answer with a short descriptive title "
               "of 3 to 7 words in the language of the message: no quotes, no final period, "
               "nothing else.")
MAX_MESSAGE_CHARS = 2000  # of the first message, sent to the model
MAX_TOKENS = 24
MAX_TITLE_CHARS = 80
_LABEL = re.compile(r"^(title|titre|titel|name)\s*:\s*", re.IGNORECASE)


def fallback(content: str, limit: int = 60) -> str:
    """The first words of the message (collapsed whitespace), cut at `limit` characters."""
    words = " ".join(content.split())
    return words if len(words) <= limit else words[: limit - 1].rstrip() + "…"


def prompt(first_message: str) -> list[dict]:
    """The chat messages asking the model for a title."""
    return [{"role": "system", "content": INSTRUCTION},
            {"role": "user", "content": first_message[:MAX_MESSAGE_CHARS]}]


def cleaned(answer: str) -> str | None:
    """The model's answer as a title: its first line without Markdown, quotes, a "Title:" label
    or a final period; None when nothing usable is left."""
    line = next((line for line in answer.splitlines() if line.strip()), "")
    line = _LABEL.sub("", line.strip().lstrip("#").strip(" *_`"))
    line = line.strip(" \"'“”‘’«»*_`").rstrip(".").strip()
    line = " ".join(line.split())
    if len(line) < 2:
        return None
    return fallback(line, MAX_TITLE_CHARS)
