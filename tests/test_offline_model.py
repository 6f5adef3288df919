"""The offline demo model (SmolLM2-135M from a PyPI wheel, run by cyllama) writes a real reply."""

import subprocess
import sys

from tests.conftest import ROOT, messages_of, new_chat, send


def test_offline_model_writes_a_short_reply(client, consultant, app, subprocess_env, llm):
    chat = new_chat(client)
    send(client, chat, "Say hello in five words.")
    env = {**subprocess_env, "CHATAPP_LLM_PROVIDER": "offline", "CHATAPP_OFFLINE_MAX_TOKENS": "16"}
    worker = subprocess.run([sys.executable, "-m", "worker", "--burst", "llm"], cwd=ROOT, env=env,
                            timeout=120)
    assert worker.returncode == 0
    reply = messages_of(app, chat)[1]
    assert reply.status == "done"
    assert reply.content.strip()
    assert 0 < reply.tokens_out <= 16 and reply.tokens_in > 10
    assert llm.requests == []  # nothing went to the OpenAI-compatible server


def test_the_offline_model_is_labelled_as_a_demo(app_config, make_user):
    from chatapp import create_app
    from tests.conftest import login

    offline = create_app({**app_config, "TESTING": True, "LLM_PROVIDER": "offline"})
    client = offline.test_client()
    make_user("cara@example.com")
    login(client, "cara@example.com")
    chat = new_chat(client)
    assert "Offline demo model (SmolLM2-135M, toy quality)" in client.get(chat).get_data(as_text=True)
