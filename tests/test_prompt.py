"""The prompt: system prompt first, then the newest history that fits the token budget."""

from chatapp.services.prompt import SYSTEM_PROMPT, build_messages


def test_history_is_cut_from_the_oldest_end_to_fit_the_budget():
    history = [{"sender": "user" if i % 2 == 0 else "assistant", "content": f"message {i} " + "x" * 400}
               for i in range(20)]
    messages = build_messages(history, budget_tokens=600)
    assert messages[0] == {"role": "system", "content": SYSTEM_PROMPT}
    kept = [m["content"].split(" ")[1] for m in messages[1:]]
    # ~101 tokens of system prompt + 4 x ~106 per message fit in 600; a fifth would not
    assert kept == ["16", "17", "18", "19"]
    assert [m["role"] for m in messages[1:]] == ["user", "assistant", "user", "assistant"]


def test_the_newest_message_is_kept_even_when_it_alone_exceeds_the_budget():
    messages = build_messages([{"sender": "user", "content": "y" * 10000}], budget_tokens=100)
    assert len(messages) == 2 and messages[1]["content"] == "y" * 10000
