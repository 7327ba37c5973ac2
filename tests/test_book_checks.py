"""The book's own checks must be able to fail: plant each problem and see it caught."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


no_remote = _load(ROOT / "tests" / "browser" / "check_no_remote.py", "check_no_remote")
pages = _load(ROOT / "tests" / "browser" / "check_pages.py", "check_pages")
docstrings = _load(ROOT / "book" / "_ext" / "shape_docstrings.py", "shape_docstrings")


def _site(tmp_path: Path, html: str, css: str = "") -> Path:
    (tmp_path / "index.html").write_text("<html><body>index</body></html>")
    (tmp_path / "page.html").write_text(html)
    (tmp_path / "style.css").write_text(css)
    return tmp_path


def test_no_remote_accepts_local_resources_and_outbound_links(tmp_path):
    root = _site(
        tmp_path,
        '<script src="_static/a.js"></script><link rel="stylesheet" href="s.css">'
        '<a href="https://github.com/minirnn/minirnn">repo</a>',
        "body { background: url(img/x.png); }",
    )
    assert no_remote.remote_loads(root) == {}
    assert no_remote.main(["x", str(root)]) == 0


def test_no_remote_catches_scripts_styles_fonts_and_css_urls(tmp_path):
    root = _site(
        tmp_path,
        '<script src="https://cdn.example.org/mathjax.js"></script>'
        '<link rel="stylesheet" href="//cdn.example.org/x.css">'
        '<link rel="preload" as="font" href="https://fonts.example.org/f.woff2">'
        "<style>@import 'https://fonts.example.org/css';</style>",
        "@font-face { src: url('https://fonts.example.org/f.woff2'); }",
    )
    found = no_remote.remote_loads(root)
    assert len(found["page.html"]) == 4
    assert found["style.css"] == ["https://fonts.example.org/f.woff2"]
    assert no_remote.main(["x", str(root)]) == 1


def test_toc_pages_lists_root_and_every_chapter_in_order():
    listed = pages.toc_pages(ROOT / "_toc.yml")
    assert listed[0] == "book/intro"
    assert "book/notation" in listed and "notebooks/01_why_recurrence" in listed
    assert len(listed) == len(set(listed))


def test_missing_browser_is_skipped_unless_required(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(pages.shutil, "which", lambda name: None)
    monkeypatch.delenv("MINIRNN_REQUIRE_BROWSER", raising=False)
    assert pages.main(["x", str(tmp_path)]) == 0
    assert "SKIPPED" in capsys.readouterr().out
    monkeypatch.setenv("MINIRNN_REQUIRE_BROWSER", "1")
    assert pages.main(["x", str(tmp_path)]) == 1


def test_docstring_lists_become_valid_rst():
    lines = [
        "Run a layer.",
        "Inputs:",
        "- x: (N, T, D) inputs",
        "- lengths: optional (N,) integers, with a",
        "      continuation indented too far.",
        "Returns (h, cache).",
    ]
    assert docstrings.normalise(lines) == [
        "Run a layer.",
        "",
        "**Inputs:**",
        "",
        "- x: (N, T, D) inputs",
        "- lengths: optional (N,) integers, with a",
        "  continuation indented too far.",
        "",
        "Returns (h, cache).",
    ]


def test_docstring_markup_characters_are_escaped():
    out = docstrings.normalise(["Like torch's clip_grad_norm_ with **kwargs: |x - y| / 2."])
    assert out == [r"Like torch's clip_grad_norm\_ with \*\*kwargs: \|x - y\| / 2."]
    assert docstrings.normalise(["- a_b: keeps inner underscores"]) == [
        "- a_b: keeps inner underscores"
    ]
