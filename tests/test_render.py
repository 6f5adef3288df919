"""Markdown from the model becomes safe HTML."""

from html.parser import HTMLParser

import pytest

from chatapp.services.render import render_markdown

XSS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    '<a href="https://x.test" onclick="alert(1)">x</a>',
    "<iframe src='https://evil.test'></iframe>",
    "![x](https://x.test/a.png)",
    '<svg onload="alert(1)"></svg>',
    "[d](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
]


class Elements(HTMLParser):
    """Collects the elements and attributes a browser would build from the HTML."""

    def __init__(self, html: str):
        super().__init__()
        self.found: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


@pytest.mark.parametrize("payload", XSS)
def test_no_script_handler_or_dangerous_url_survives(payload):
    for tag, attributes in Elements(str(render_markdown(payload))).found:
        assert tag not in ("script", "iframe", "img", "svg", "object", "embed", "style")
        assert not [name for name in attributes if name.startswith("on")]
        for url in (attributes.get("href"), attributes.get("src")):
            assert url is None or url.startswith(("https://", "http://", "mailto:")), url


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
