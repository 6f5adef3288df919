"""Building the prompt of a reply: the system prompt and the recent history within a budget."""

from __future__ import annotations

from chatapp.services import produced_files
from chatapp.services.context import prompt_section
from chatapp.services.prompt_files import IMAGE_TOKENS

SYSTEM_PROMPT = (
    "You are chatapp, an assistant for IT and cloud consultants, used live during client meetings. "
    "Answer concisely and practically: lead with the answer, then the reasoning. Use Markdown "
    "(short headings, bullet lists, tables for comparisons, code blocks for code). Say when you "
    "are unsure or when an estimate depends on assumptions, and list those assumptions. "
    + produced_files.INSTRUCTION
)

def with_context(client_name: str | None, context: dict | None) -> str:
    """The system prompt, with the session's context card when it has one."""
    section = prompt_section(client_name, context)
    return f"{SYSTEM_PROMPT}\n\n{section}" if section else SYSTEM_PROMPT


ROLE_OF_SENDER = {"user": "user", "assistant": "assistant", "admin": "assistant", "system": "system"}


def estimate_tokens(messages_or_text) -> int:
    """A fast token estimate (about four characters per token, plus per-message overhead; an
    image part costs what prompt_files counts for it)."""
    if isinstance(messages_or_text, str):
        return max(1, len(messages_or_text) // 4)
    return sum(4 + _content_tokens(m["content"]) for m in messages_or_text)


def _content_tokens(content: str | list[dict]) -> int:
    if isinstance(content, str):
        return len(content) // 4
    return sum(len(part["text"]) // 4 if part["type"] == "text" else IMAGE_TOKENS
               for part in content)


def build_messages(history: list[dict], budget_tokens: int,
                   system_prompt: str = SYSTEM_PROMPT) -> list[dict]:
    """OpenAI-style messages: the system prompt, then the newest history that fits the budget.

    `history` is oldest first, as ``{"sender", "content"}`` dicts (content: text, or OpenAI-style
    parts with images); the newest message is always kept, and so is a message marked
    ``"files": True`` (it brings the files the reply reads, which have a budget of their own:
    prompt_files), its own text counted here.
    """
    kept: list[dict] = []
    used = estimate_tokens([{"content": system_prompt}])
    full = False
    for item in reversed(history):
        message = {"role": ROLE_OF_SENDER[item["sender"]], "content": item["content"]}
        cost = 4 + len(item.get("text", "")) // 4 if item.get("files") \
            else estimate_tokens([message])
        full = full or (bool(kept) and used + cost > budget_tokens)
        if full and not item.get("files"):
            continue
        kept.append(message)
        used += cost
    return [{"role": "system", "content": system_prompt}, *reversed(kept)]
