"""Sphinx extension: render the package's CS231n-style docstrings as clean reStructuredText.

The package's docstrings list arguments as plain-text bullets, e.g.

    Inputs:
    - lengths: optional (N,) integers for a padded batch: sequence n has
      lengths[n] real steps ...

which read well in a terminal (`help(...)`) but are not valid reStructuredText when a
continuation line is indented differently from the bullet's text, when a list follows a
paragraph with no blank line, or when the text holds characters that RST treats as markup
(`**kwargs`, `|x - y|`, `clip_grad_norm_`). This hook rewrites them before autodoc parses them:
markup characters escaped, a blank line before each list, continuation lines aligned under the
bullet's text, and `Name:` headings bold.
"""

from __future__ import annotations

import re

BULLET = re.compile(r"^(\s*)([-*]) (.*)$")
HEADING = re.compile(r"^(\s*)([A-Z][A-Za-z ()]*):\s*$")
# Backslash, asterisk and bar anywhere, and an underscore that ends a word (a link target).
MARKUP = re.compile(r"([\\*|]|(?<=\w)_(?!\w))")


def escape(line: str) -> str:
    """Escape RST inline markup, keeping a leading list bullet."""
    bullet = BULLET.match(line)
    if bullet:
        indent, mark, text = bullet.groups()
        return indent + mark + " " + MARKUP.sub(r"\\\1", text)
    return MARKUP.sub(r"\\\1", line)


def normalise(lines: list[str]) -> list[str]:
    out: list[str] = []
    bullet_indent: int | None = None  # column where the current bullet's text starts
    for line in map(escape, lines):
        stripped = line.strip()
        bullet = BULLET.match(line)
        heading = HEADING.match(line)
        if bullet:
            if bullet_indent is None and out and out[-1].strip():
                out.append("")  # a list must follow a blank line
            bullet_indent = len(bullet.group(1)) + 2
            out.append(line)
        elif bullet_indent is not None and stripped and line[:1].isspace() and not heading:
            out.append(" " * bullet_indent + stripped)  # continuation of the bullet
        else:
            if not stripped or heading:
                bullet_indent = None
            if heading:
                if out and out[-1].strip():
                    out.append("")
                out.append(f"{heading.group(1)}**{heading.group(2)}:**")
                out.append("")
                continue
            if bullet_indent is not None and stripped:
                out.append("")  # a paragraph after a list needs a blank line
                bullet_indent = None
            out.append(line)
    return out


def _process(app, what, name, obj, options, lines: list[str]) -> None:
    lines[:] = normalise(lines)


def setup(app):
    app.connect("autodoc-process-docstring", _process)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
