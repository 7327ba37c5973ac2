"""Fail if any built page would load a script, style, font or image from the network.

Usage: python tests/browser/check_no_remote.py _build/html

Links a reader clicks (<a href="https://...">) are fine; what a page loads by itself is not:
<script src>, <link rel=stylesheet|preload|modulepreload|icon>, <img src>, <iframe src>, and
url(...) or @import in CSS files and <style> blocks.
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

REMOTE = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])\s*((?:https?:)?//[^'")\s]+)""", re.I)
LOADING_RELS = {"stylesheet", "preload", "modulepreload", "icon", "shortcut", "prefetch"}


class _Loads(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.remote: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in ("script", "img", "iframe", "audio", "video", "source") and REMOTE.match(
            a.get("src", "")
        ):
            self.remote.append(f"<{tag} src={a['src']}>")
        if tag == "link" and set(a.get("rel", "").lower().split()) & LOADING_RELS:
            if REMOTE.match(a.get("href", "")):
                self.remote.append(f"<link rel={a['rel']} href={a['href']}>")
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.remote += [f"<style> url {u}" for u in CSS_URL.findall(data)]


def remote_loads(root: Path) -> dict[str, list[str]]:
    """Map each built file under root to the remote resources it loads."""
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.html")):
        parser = _Loads()
        parser.feed(path.read_text(encoding="utf-8", errors="replace"))
        if parser.remote:
            found[str(path.relative_to(root))] = parser.remote
    for path in sorted(root.rglob("*.css")):
        urls = CSS_URL.findall(path.read_text(encoding="utf-8", errors="replace"))
        if urls:
            found[str(path.relative_to(root))] = urls
    return found


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else "_build/html")
    if not (root / "index.html").exists():
        print(f"check_no_remote: {root}/index.html not found; build the book first")
        return 2
    found = remote_loads(root)
    pages = len(list(root.rglob("*.html")))
    if found:
        for name, urls in found.items():
            for url in urls:
                print(f"{name}: loads {url}")
        print(f"check_no_remote: FAILED, {len(found)} file(s) load remote resources")
        return 1
    print(f"check_no_remote: {pages} pages and their CSS load nothing from the network")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
