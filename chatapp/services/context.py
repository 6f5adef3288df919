"""A session's context card: who the client is and what the meeting is about, given to the model
with every reply of the session (the next reply uses a change at once).

Stored in the session's `client_name` column and its `context` JSON: ``meeting_type`` and
``project`` (text), ``services`` and ``clouds`` (choices from the lists below), and ``custom``
(the consultant's own fields, name to value). Scripts may add other keys through the API; the
prompt shows them too.
"""

from __future__ import annotations

from dataclasses import dataclass

SERVICES = ("Cloud migration", "Architecture review", "Security", "Cost optimization",
            "DevOps and platform", "Data and AI", "Managed services")
CLOUDS = ("AWS", "Azure", "Google Cloud", "Oracle Cloud", "IBM Cloud", "On-premises")
LABELS = {"meeting_type": "Meeting type", "project": "Project", "services": "Services",
          "clouds": "Cloud providers", "admin_note": "Note from the administrator"}
CARD_KEYS = ("meeting_type", "project", "services", "clouds", "custom")  # what the form edits
MAX_TEXT = 200
MAX_PROJECT = 2000
MAX_CUSTOM = 20


class InvalidContext(ValueError):
    """The form's values cannot be saved; the message says which and why."""


@dataclass(frozen=True)
class Card:
    """The card's values, as the form gives them and the page shows them."""

    client_name: str | None
    context: dict


def from_form(form) -> Card:
    """Read and check the card's form (`custom`: one ``Name: value`` per line)."""
    client = _text(form.get("client_name"), "Client", MAX_TEXT)
    context = {
        "meeting_type": _text(form.get("meeting_type"), "Meeting type", MAX_TEXT),
        "project": _text(form.get("project"), "Project", MAX_PROJECT),
        "services": _choices(form.getlist("services"), SERVICES, "service"),
        "clouds": _choices(form.getlist("clouds"), CLOUDS, "cloud provider"),
        "custom": _custom(form.get("custom", "")),
    }
    return Card(client, {key: value for key, value in context.items() if value})


def as_typed(form) -> dict:
    """The card's form values as they were typed (shown again with an error)."""
    return {"meeting_type": form.get("meeting_type"), "project": form.get("project"),
            "services": form.getlist("services"), "clouds": form.getlist("clouds"),
            "custom_text": form.get("custom")}


def merged(stored: dict | None, card: Card) -> dict:
    """The session's context once the card is saved: the card's fields replaced, keys that
    scripts added through the API kept."""
    others = {k: v for k, v in (stored or {}).items() if k not in CARD_KEYS}
    return {**others, **card.context}


def custom_as_text(context: dict) -> str:
    """The custom fields as the form's textarea shows them."""
    return "\n".join(f"{name}: {value}" for name, value in (context.get("custom") or {}).items())


def card_lines(client_name: str | None, context: dict | None) -> list[tuple[str, str]]:
    """The card as (label, value) pairs, in order, empty fields left out (prompt and exports)."""
    lines = [("Client", client_name)] if client_name else []
    for key, value in (context or {}).items():
        if key == "custom" and isinstance(value, dict):
            lines += [(str(name), str(text)) for name, text in value.items()]
        elif value not in (None, "", [], {}):
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            lines.append((LABELS.get(key, key.replace("_", " ").capitalize()), shown))
    return lines


def prompt_section(client_name: str | None, context: dict | None) -> str | None:
    """The context as a paragraph of the system prompt, or None when the card is empty."""
    lines = card_lines(client_name, context)
    if not lines:
        return None
    return ("Context of this meeting, given by the consultant (use it; do not repeat it back):\n"
            + "\n".join(f"- {label}: {value}" for label, value in lines))


def _text(raw: str | None, label: str, limit: int) -> str | None:
    value = (raw or "").strip()
    if len(value) > limit:
        raise InvalidContext(f"{label} is limited to {limit:,} characters.")
    return value or None


def _choices(values: list[str], allowed: tuple[str, ...], what: str) -> list[str]:
    unknown = [value for value in values if value not in allowed]
    if unknown:
        raise InvalidContext(f"Unknown {what}: {unknown[0][:50]}.")
    return [value for value in allowed if value in values]  # in the list's order, once each


def _custom(raw: str) -> dict[str, str]:
    fields = {}
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip() or not value.strip():
            raise InvalidContext(f"Custom field line {number}: write it as “Name: value”.")
        if len(name.strip()) > 60 or len(value.strip()) > MAX_TEXT:
            raise InvalidContext(f"Custom field line {number} is too long (name up to 60, "
                                 f"value up to {MAX_TEXT} characters).")
        fields[name.strip()] = value.strip()
    if len(fields) > MAX_CUSTOM:
        raise InvalidContext(f"Up to {MAX_CUSTOM} custom fields.")
    return fields
