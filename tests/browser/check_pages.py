"""Open every page of the built book in headless Chromium and check what a reader would see.

Usage: python tests/browser/check_pages.py _build/html [_toc.yml] [--edition en|ko]

For each page listed in _toc.yml it asserts that:
- the page loads (HTTP 200) and makes no request outside this machine;
- the browser logs no JavaScript error, apart from the known theme noise named in KNOWN_NOISE;
- every math element has been typeset by MathJax (an <mjx-container> inside it) and no raw
  TeX delimiters are left in the visible text;
- every image has loaded (complete, naturalWidth > 0);
- the left navigation links to every page in _toc.yml;
- the page's language (<html lang>) is the edition's, and its link to the same page in the other
  edition loads and links back.

With ``--edition ko`` it checks the Korean edition, built into <root>/ko, and also that every
page but the API reference shows Korean text (the API's docstrings stay in English) and that the
left navigation is in Korean.

Chromium is Debian's (/usr/bin/chromium). Where it is missing the check is skipped with a
message, unless MINIRNN_REQUIRE_BROWSER=1, which makes a missing browser an error.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import sys
import threading
from pathlib import Path

import yaml

# Sphinx 7.4 writes one inline script twice on every page (fixed only in Sphinx 8.2, which
# Jupyter Book 1 cannot use): harmless, and the only console error we accept.
KNOWN_NOISE = ("Identifier 'THEBE_JS_URL' has already been declared",)

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def toc_pages(toc_file: Path) -> list[str]:
    """Page paths (without suffix) in the order of _toc.yml."""
    toc = yaml.safe_load(toc_file.read_text())
    pages = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections", []))
            for part in entry.get("parts", []):
                walk(part.get("chapters", []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    walk(toc.get("chapters", []))
    return [str(Path(p).with_suffix("")) for p in pages]


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep the test output readable
        pass


CHECK_PAGE_JS = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const maths = Array.from(document.querySelectorAll('.math'));
  const untypeset = maths.filter(m => !m.querySelector('mjx-container')).length;
  // Visible prose only: code blocks may legitimately show TeX delimiters.
  const main = (document.querySelector('main') || document.body).cloneNode(true);
  main.querySelectorAll('pre, code, .highlight, mjx-container').forEach(e => e.remove());
  const text = main.textContent;
  const rawTex = ['\\\\(', '\\\\[', '$$'].filter(d => text.includes(d));
  const imgs = Array.from(document.images);
  await Promise.all(imgs.map(i => i.complete ? null : new Promise(r => {
    i.addEventListener('load', r); i.addEventListener('error', r);
  })));
  const broken = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src);
  const nav = document.querySelector('nav.bd-docs-nav, #bd-docs-nav, .bd-sidebar-primary');
  const navLinks = nav ? Array.from(nav.querySelectorAll('a')).map(a => a.href) : [];
  const hangul = (text.match(/[\uac00-\ud7a3]/g) || []).length;
  const navText = nav ? nav.textContent : '';
  const navHangul = (navText.match(/[\uac00-\ud7a3]/g) || []).length;
  const edition = document.querySelector('.minirnn-edition a');
  return {maths: maths.length, untypeset, rawTex, images: imgs.length, broken, navLinks,
          typeset: document.querySelectorAll('mjx-container').length,
          lang: document.documentElement.lang, hangul, navHangul,
          editionHref: edition ? edition.href : null};
}
"""


# the API's docstrings are not translated; the bibliography lists works by their own titles
ENGLISH_ONLY = ("book/api", "book/bibliography")
EDITION_LINK_JS = "() => { const a = document.querySelector('.minirnn-edition a'); " \
                  "return a ? a.href : null; }"


def check(root: Path, toc_file: Path, edition: str = "en") -> list[str]:
    from playwright.sync_api import sync_playwright

    pages = toc_pages(toc_file)
    server, site = serve(root)
    base = f"{site}/ko" if edition == "ko" else site
    failures: list[str] = []
    totals = {"pages": 0, "math": 0, "images": 0}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=shutil.which("chromium"),
                                         args=CHROMIUM_ARGS)
            for page_path in pages:
                url = f"{base}/{page_path}.html"
                page = browser.new_page()
                errors: list[str] = []
                page.on("console", lambda m, e=errors: e.append(m.text) if m.type == "error"
                        else None)
                page.on("pageerror", lambda exc, e=errors: e.append(f"page error: {exc}"))
                page.on("response", lambda r, e=errors: e.append(f"HTTP {r.status} {r.url}")
                        if r.status >= 400 else None)

                def block(route, e=errors):
                    if route.request.url.startswith(site) or route.request.url.startswith(
                        "data:"
                    ):
                        route.continue_()
                    else:
                        e.append(f"remote request blocked: {route.request.url}")
                        route.abort()

                page.route("**/*", block)
                response = page.goto(url, wait_until="load")
                if response is None or response.status != 200:
                    failures.append(f"{page_path}: did not load ({response and response.status})")
                    page.close()
                    continue
                info = page.evaluate(CHECK_PAGE_JS)
                page.wait_for_timeout(100)  # let late console messages arrive
                real_errors = [e for e in errors if not any(n in e for n in KNOWN_NOISE)]
                for e in real_errors:
                    failures.append(f"{page_path}: {e}")
                if info["untypeset"]:
                    failures.append(f"{page_path}: {info['untypeset']} of {info['maths']} "
                                    "math elements not typeset")
                if info["rawTex"]:
                    failures.append(f"{page_path}: raw TeX delimiters {info['rawTex']} in text")
                for src in info["broken"]:
                    failures.append(f"{page_path}: image did not load: {src}")
                nav_paths = {link.split("#")[0].removeprefix(base + "/") for link in
                             info["navLinks"]}
                missing = [p for p in pages[1:] if f"{p}.html" not in nav_paths]
                if missing:
                    failures.append(f"{page_path}: left navigation lacks {missing}")
                failures += edition_failures(browser, page_path, url, info, edition)
                print(f"  {page_path}: {info['maths']} math ({info['typeset']} typeset), "
                      f"{info['images']} images, {len(real_errors)} console errors")
                totals["pages"] += 1
                totals["math"] += info["maths"]
                totals["images"] += info["images"]
                page.close()
            if edition == "ko":
                failures += search_failures(browser, base)
            browser.close()
    finally:
        server.shutdown()
    print(f"check_pages ({edition}): {totals['pages']} pages, {totals['math']} math "
          f"elements, {totals['images']} images checked")
    return failures


SEARCH_WORD = "기울기"  # "gradient", on most chapter pages


def search_failures(browser, base: str) -> list[str]:
    """Sphinx's search in the Korean edition finds chapter pages for a Korean word."""
    page = browser.new_page()
    page.goto(f"{base}/search.html?q={SEARCH_WORD}", wait_until="load")
    try:
        page.wait_for_selector("ul.search li", timeout=15000)
    except Exception:  # noqa: BLE001 - no result in time is the failure reported below
        pass
    found = page.evaluate("() => Array.from(document.querySelectorAll('ul.search li a'))"
                          ".map(a => a.getAttribute('href'))")
    page.close()
    chapters = [href for href in found if href and "notebooks/" in href]
    print(f"  search for {SEARCH_WORD}: {len(found)} results, {len(chapters)} chapters")
    if len(chapters) < 5:
        return [f"search: {SEARCH_WORD!r} found {len(chapters)} chapter pages (want 5 or more)"]
    return []


def edition_failures(browser, page_path: str, url: str, info: dict, edition: str) -> list[str]:
    """The page's language, its link to the other edition (which must link back), and, in the
    Korean edition, Korean text on the page and in the navigation."""
    failures = []
    if info["lang"] != edition:
        failures.append(f"{page_path}: <html lang={info['lang']!r}>, expected {edition!r}")
    if info["editionHref"] is None:
        failures.append(f"{page_path}: no link to the other edition")
    else:
        other = browser.new_page()
        response = other.goto(info["editionHref"], wait_until="load")
        if response is None or response.status != 200:
            failures.append(f"{page_path}: the other edition's page {info['editionHref']} did "
                            f"not load ({response and response.status})")
        elif other.evaluate(EDITION_LINK_JS) != url:
            failures.append(f"{page_path}: the other edition's page does not link back here")
        other.close()
    if edition == "ko":
        if page_path not in ENGLISH_ONLY and info["hangul"] < 20:
            failures.append(f"{page_path}: only {info['hangul']} Korean characters on the page")
        if info["navHangul"] < 20:
            failures.append(f"{page_path}: the left navigation is not in Korean")
    return failures


def main(argv: list[str]) -> int:
    edition = "en"
    if "--edition" in argv:
        k = argv.index("--edition")
        edition = argv[k + 1]
        argv = argv[:k] + argv[k + 2:]
    if edition not in ("en", "ko"):
        print(f"check_pages: --edition: expected en or ko, got {edition!r}")
        return 2
    root = Path(argv[1] if len(argv) > 1 else "_build/html")
    toc_file = Path(argv[2] if len(argv) > 2 else "_toc.yml")
    required = os.environ.get("MINIRNN_REQUIRE_BROWSER") == "1"
    if shutil.which("chromium") is None:
        message = ("check_pages: Chromium not found (install Debian's `chromium` package); "
                   "the real-browser check was SKIPPED")
        if required:
            print(message.replace("was SKIPPED", "is required (MINIRNN_REQUIRE_BROWSER=1)"))
            return 1
        print(message)
        return 0
    if not (root / "index.html").exists() or not (root / "ko" / "index.html").exists():
        print(f"check_pages: {root}/index.html or {root}/ko/index.html not found; build the "
              f"book first (make book builds both editions)")
        return 2
    failures = check(root, toc_file, edition)
    if failures:
        print("\n".join(failures))
        print(f"check_pages: FAILED ({len(failures)} problems)")
        return 1
    print("check_pages: every page passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
