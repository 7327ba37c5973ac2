"""Links between the English and the Korean edition of each page.

The English book is built into _build/html and the Korean one into _build/html/ko (see
tools/korean_book.py), with the same page names. Every page gets, above its content, a link to
the same page in the other edition: from notebooks/07_bptt.html (depth 1) to
../ko/notebooks/07_bptt.html, and back from ko/notebooks/07_bptt.html to
../../notebooks/07_bptt.html. The edition a build makes is the config value ``minirnn_edition``
("en" by default, "ko" for the Korean build).
"""

from __future__ import annotations

from sphinx.application import Sphinx

LABELS = {"en": "한국어판", "ko": "English edition"}


def other_edition_link(pagename: str, target_uri: str, edition: str) -> str:
    """The relative URL of `pagename` (built as `target_uri`) in the other edition."""
    if edition not in LABELS:
        raise ValueError(f"minirnn_edition: expected 'en' or 'ko', got {edition!r}")
    up = "../" * pagename.count("/")
    return f"{up}ko/{target_uri}" if edition == "en" else f"{up}../{target_uri}"


def add_link(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if doctree is None or "body" not in context:  # search, genindex: no content to put it over
        return
    edition = app.config.minirnn_edition
    href = other_edition_link(pagename, app.builder.get_target_uri(pagename), edition)
    lang = "ko" if edition == "en" else "en"
    link = (f'<p class="minirnn-edition"><a class="reference external" hreflang="{lang}" '
            f'lang="{lang}" href="{href}">{LABELS[edition]}</a></p>\n')
    context["body"] = link + context["body"]


def setup(app: Sphinx) -> dict:
    app.add_config_value("minirnn_edition", "en", "html")
    app.connect("html-page-context", add_link)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
