"""Markdown from the model becomes safe HTML."""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from chatapp.services.render import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, render_markdown

# The XSS corpus (also run in Chromium by tests/e2e/test_xss_browser.py): each payload would call
# window.__xss() or alert() if it ran.
CORPUS = json.loads((Path(__file__).parent / "xss_corpus.json").read_text())
SAFE_SCHEMES = ("http", "https", "mailto")


class Elements(HTMLParser):
    """Collects the elements and attributes a browser would build from the HTML."""

    def __init__(self, html: str):
        super().__init__()
        self.found: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def test_the_corpus_covers_the_well_known_vectors():
    names = " ".join(entry["name"] for entry in CORPUS)
    assert len(CORPUS) >= 40
    for vector in ("script", "onerror", "svg", "body", "details", "video", "javascript", "vbscript",
                   "data", "entity", "autolink", "reference", "title", "code fence", "srcdoc",
                   "object", "embed", "formaction", "meta refresh", "base href", "style",
                   "mathml", "mXSS"):
        assert vector in names, vector


@pytest.mark.parametrize("payload", [entry["payload"] for entry in CORPUS],
                         ids=[entry["name"] for entry in CORPUS])
def test_no_script_handler_or_dangerous_url_survives(payload):
    for tag, attributes in Elements(str(render_markdown(payload))).found:
        assert tag in ALLOWED_TAGS, tag
        allowed = ALLOWED_ATTRIBUTES.get(tag, set()) | ({"target", "rel"} if tag == "a" else set())
        assert set(attributes) <= allowed, attributes
        for url in (attributes.get("href"), attributes.get("src")):
            if url is None:
                continue
            # browsers ignore control characters and spaces inside a scheme
            scheme = re.match(r"([a-z][a-z0-9+.-]*):", re.sub(r"[\x00-\x20]", "", url).lower())
            assert scheme is None or scheme.group(1) in SAFE_SCHEMES, url


def test_markdown_features_render():
    html = str(render_markdown(
        "## Risks\n\n- **Data loss**\n- *Downtime*\n\n| Item | Cost |\n|---|---|\n| VM | 10 |\n\n"
        "```python\nprint('hi')\n```\n\n[docs](https://example.com)"))
    assert "<h2>Risks</h2>" in html
    assert "<li><strong>Data loss</strong></li>" in html and "<em>Downtime</em>" in html
    assert "<table>" in html and "<td>VM</td>" in html
    assert '<code class="language-python">' in html
    assert 'href="https://example.com"' in html and 'target="_blank"' in html
    assert 'rel="noopener noreferrer nofollow"' in html
