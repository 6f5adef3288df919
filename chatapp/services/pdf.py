"""An exported chat session (services/export.py's document) as a PDF, with fpdf2.

Text is set in DejaVu Sans (static/fonts/, freely licensed), which covers Latin, Greek, Cyrillic
and many symbols, with Droid Sans Fallback (Apache-2.0) for Chinese and Japanese. Characters
neither has (Korean syllables, most emoji) are left out, never an error; Arabic and Hebrew
letters are there but set left to right, unshaped. Replies are
Markdown, rendered through the same sanitizer as the web page (headings, lists, tables, code in
DejaVu Sans Mono); the user's own messages are plain text.
"""

from __future__ import annotations

import logging
from pathlib import Path

from markupsafe import escape

from chatapp.services import export
from chatapp.services.render import render_markdown

FONTS = Path(__file__).resolve().parent.parent.parent / "static" / "fonts"
FACE = "dejavu"
MONO = "dejavu-mono"
CJK = "droid-fallback"  # Chinese and Japanese characters, which DejaVu lacks
FACE_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf",
              "BI": "DejaVuSans-BoldOblique.ttf"}  # style -> file
MUTED = (91, 100, 117)

log = logging.getLogger(__name__)


def render(doc: dict) -> bytes:
    """The document as a PDF file's bytes."""
    # fpdf2 (with fontTools and Pillow) takes up to a second to import: only PDF exports pay
    # for it, not the start of every web and worker process.
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title(doc["session"]["name"])
    pdf.set_creator("chatapp")
    pdf.set_auto_page_break(True, margin=15)
    for style, name in FACE_FILES.items():
        pdf.add_font(FACE, style, str(FONTS / name))
    pdf.add_font(MONO, "", str(FONTS / "DejaVuSansMono.ttf"))
    pdf.add_font(CJK, "", str(FONTS / "DroidSansFallbackFull.ttf"))
    pdf.set_fallback_fonts([CJK], exact_match=False)
    pdf.add_page()
    _header(pdf, doc)
    for message in doc["messages"]:
        _message(pdf, message)
    if not doc["messages"]:
        _line(pdf, "No messages.", size=10, style="I")
    return bytes(pdf.output())


def _header(pdf, doc: dict) -> None:
    session = doc["session"]
    _line(pdf, session["name"], size=18, style="B")
    _line(pdf, f"{export.title_of(doc)} exported from chatapp on {export.when(doc['exported_at'])}."
               f" Chat started {export.when(session['created_at'])}.", size=9, color=MUTED)
    if session["context_card"]:
        pdf.ln(2)
        for field in session["context_card"]:
            pdf.set_font(FACE, "B", 10)
            pdf.write(5, f"{field['label']}: ")
            pdf.set_font(FACE, "", 10)
            pdf.write(5, field["value"])
            pdf.ln(6)
    pdf.ln(2)
    pdf.set_draw_color(*MUTED)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(4)


def _message(pdf, message: dict) -> None:
    from fpdf.errors import FPDFException
    from fpdf.fonts import FontFace, TextStyle

    _line(pdf, f"{message['author']} · {export.when(message['created_at'])}", size=10,
          style="B", color=MUTED)
    note = export.status_note(message)
    if note:
        _line(pdf, note, size=9, style="I", color=MUTED)
    if message["sender"] == "assistant":
        html = str(render_markdown(message["content"]))
    else:
        html = "<p>" + str(escape(message["content"])).replace("\n", "<br>") + "</p>"
    pdf.set_font(FACE, "", 11)
    try:
        pdf.write_html(html, font_family=FACE, tag_styles={
            "code": FontFace(family=MONO), "pre": TextStyle(t_margin=4, font_family=MONO)})
    except (FPDFException, ValueError, KeyError, IndexError, TypeError):
        # A construct the HTML renderer cannot lay out: the text itself still goes in.
        log.warning("PDF export: message %s set as plain text", message.get("seq"), exc_info=True)
        pdf.set_font(FACE, "", 11)
        pdf.multi_cell(0, 6, message["content"], new_x="LMARGIN", new_y="NEXT")
    files = export.files_note(message)
    if files:
        _line(pdf, files, size=9, style="I", color=MUTED)
    pdf.ln(4)


def _line(pdf, text: str, *, size: int, style: str = "", color=(0, 0, 0)) -> None:
    pdf.set_font(FACE, style, size)
    pdf.set_text_color(*color)
    pdf.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
