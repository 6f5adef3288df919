"""Quick actions: one-tap prompts above the composer (cost estimate, risks, follow-up email…).

Each is a label and a template; ``{client}`` in a template becomes the chat's client name (or
"the client"). The session's context card reaches the model with every reply anyway, so a template
only says what to do. Administrators edit the list on the settings page; these are the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatapp.models import User
from chatapp.services import settings

MAX_ACTIONS = 12
MAX_LABEL = 40
MAX_TEMPLATE = 1000


@dataclass(frozen=True)
class QuickAction:
    """A button's label and the prompt it sends."""

    label: str
    template: str

    def prompt(self, client_name: str | None) -> str:
        """The message this action sends in a chat with that client."""
        return self.template.replace("{client}", client_name or "the client")


DEFAULTS = (
    QuickAction("Cost estimate", "Give a rough cost estimate for what we discussed with {client}: "
                "the main cost items, a monthly range, and the assumptions behind it."),
    QuickAction("Best practices", "List the best practices that apply to {client}'s situation, "
                "most important first, each with one line on why."),
    QuickAction("Architecture review", "Review the architecture discussed so far: strengths, "
                "weaknesses, and the changes you would recommend, by priority."),
    QuickAction("Risks", "List the main risks for {client} with a mitigation for each, as a "
                "table: risk, likelihood, impact, mitigation."),
    QuickAction("Summarize", "Summarize the meeting so far in five bullet points, then list the "
                "decisions taken and the open questions."),
    QuickAction("Follow-up email", "Draft a short follow-up email to {client} after this meeting: "
                "thanks, a recap of what we agreed, next steps with owners, and a closing line."),
)


class InvalidActions(ValueError):
    """The list cannot be saved; the message says which line and why."""


def current() -> tuple[QuickAction, ...]:
    """The actions administrators chose, else the defaults."""
    saved = settings.stored("quick_actions", None)
    if saved is None:
        return DEFAULTS
    return tuple(QuickAction(item["label"], item["template"]) for item in saved)


def as_text(actions: tuple[QuickAction, ...]) -> str:
    """The list as the settings form shows it: one ``Label: template`` per line."""
    return "\n".join(f"{a.label}: {a.template}" for a in actions)


def parse(text: str) -> tuple[QuickAction, ...]:
    """Read the settings form's list; InvalidActions when a line cannot be used."""
    actions = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        label, colon, template = line.partition(":")
        label, template = label.strip(), template.strip()
        if not colon or not label or not template:
            raise InvalidActions(f"Quick action line {number}: write it as “Label: prompt”.")
        if len(label) > MAX_LABEL or len(template) > MAX_TEMPLATE:
            raise InvalidActions(f"Quick action line {number}: labels up to {MAX_LABEL} "
                                 f"characters, prompts up to {MAX_TEMPLATE}.")
        actions.append(QuickAction(label, template))
    if not 1 <= len(actions) <= MAX_ACTIONS:
        raise InvalidActions(f"Keep 1 to {MAX_ACTIONS} quick actions.")
    return tuple(actions)


def save(actions: tuple[QuickAction, ...], by: User) -> None:
    """Store the list for everyone (not committed: the caller commits its settings together)."""
    settings.store("quick_actions", [{"label": a.label, "template": a.template} for a in actions],
                   by)
