"""htmx comes from the CDN with SRI hashes, or from the vendored copy; the page carries the live
transport setting."""

import base64
import hashlib

import pytest

from chatapp import PROJECT_ROOT, create_app
from chatapp.frontend import CDN_BASE, HTMX_FILES
from tests.conftest import new_chat


def test_vendored_copies_match_the_cdn_integrity_hashes():
    for path, integrity in HTMX_FILES.items():
        data = (PROJECT_ROOT / "static/js/vendor" / path.rsplit("/", 1)[-1]).read_bytes()
        digest = base64.b64encode(hashlib.sha384(data).digest()).decode()
        assert integrity == f"sha384-{digest}", path


def test_cdn_mode_uses_pinned_urls_with_integrity(app_config):
    app = create_app({**app_config, "TESTING": True, "HTMX_SOURCE": "cdn"})
    html = app.test_client().get("/login").get_data(as_text=True)
    for path, integrity in HTMX_FILES.items():
        assert f'src="{CDN_BASE}{path}" integrity="{integrity}" crossorigin="anonymous"' in html
    assert "htmx.org@4.0.1" in CDN_BASE


def test_vendored_mode_serves_local_files(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'src="/static/js/vendor/htmx.min.js"' in html and "cdn.jsdelivr" not in html
    assert client.get("/static/js/vendor/hx-upsert.min.js").status_code == 200


@pytest.mark.parametrize("transport", ["auto", "poll"])
def test_the_chat_page_carries_the_live_transport_setting(app, client, consultant, transport):
    app.config["LIVE_TRANSPORT"] = transport
    html = client.get(new_chat(client)).get_data(as_text=True)
    assert f'data-live-transport="{transport}"' in html
    assert 'data-live-websocket="/chats/' in html and "/ws?fmt=html" in html


def test_an_unknown_live_transport_stops_the_start(app_config):
    with pytest.raises(RuntimeError, match="CHATAPP_LIVE_TRANSPORT must be one of auto, sse"):
        create_app({**app_config, "TESTING": True, "LIVE_TRANSPORT": "carrier-pigeon"})
