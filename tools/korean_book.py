"""The Korean edition: extract the English messages, build the Korean HTML, check the catalogs.

    python tools/korean_book.py build [--strict]   # _build/html/ko (after `jupyter-book build .`)
    python tools/korean_book.py extract            # _build/gettext/*.pot, then update locales/ko
    python tools/korean_book.py check              # the .po files hold exactly today's messages

Jupyter Book 1 is Sphinx: `jupyter-book config sphinx .` writes the conf.py its build would use;
this script moves it out of the way (into _build/ko/conf), adds the Korean settings, and runs
sphinx-build with it. The translations are one .po file per document under
locales/ko/LC_MESSAGES/ (gettext_compact off), kept with sphinx-intl. The API reference's
docstrings are not translated (book/api is left out of the catalogs and shows in English).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
LOCALES = ROOT / "locales"
POT = BUILD / "gettext"
NOT_TRANSLATED = ("book/api",)  # docstrings: code documentation stays in English
BIN = Path(sys.executable).parent


def sphinx_conf(language: str) -> Path:
    """A conf.py for sphinx-build, from the book's _config.yml, in _build/<language>/conf."""
    folder = BUILD / language / "conf"
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(BIN / "jupyter-book"), "config", "sphinx", str(ROOT)], check=True,
                   capture_output=True)
    generated = ROOT / "conf.py"
    text = generated.read_text(encoding="utf-8")
    generated.unlink()
    text += f"""
# -- added by tools/korean_book.py --------------------------------------------------------------
import sys as _sys
_sys.path.insert(0, {str(ROOT / "book" / "_ext")!r})
bibtex_bibfiles = [{str(ROOT / "book" / "references.bib")!r}]
external_toc_path = {str(ROOT / "_toc.yml")!r}
locale_dirs = [{str(LOCALES)!r}]
gettext_compact = False
"""
    if language != "gettext":
        text += f"language = {language!r}\nminirnn_edition = {language!r}\n"
    (folder / "conf.py").write_text(text, encoding="utf-8")
    return folder


def sphinx_build(builder: str, language: str, out: Path, strict: bool) -> None:
    conf = sphinx_conf(language)
    # -E -a: every page afresh. The left navigation holds the other pages' titles, and Sphinx
    # does not rewrite an unchanged page when only another page's title changed.
    command = [str(BIN / "sphinx-build"), "-b", builder, "-c", str(conf), "-d",
               str(BUILD / language / "doctrees"), "-q", "-E", "-a"]
    if strict:
        command += ["-W", "-n", "--keep-going"]
    subprocess.run(command + [str(ROOT), str(out)], check=True)


def extract() -> None:
    shutil.rmtree(POT, ignore_errors=True)
    sphinx_build("gettext", "gettext", POT, strict=False)
    for name in NOT_TRANSLATED:
        (POT / f"{name}.pot").unlink(missing_ok=True)
    subprocess.run([str(BIN / "sphinx-intl"), "update", "-p", str(POT), "-l", "ko", "-d",
                    str(LOCALES)], check=True, capture_output=True)


def catalog_problems() -> list[str]:
    """Differences between the .pot files of a fresh extraction and the .po files' messages."""
    import polib

    problems = []
    pots = {p.relative_to(POT).with_suffix("").as_posix(): p for p in POT.rglob("*.pot")}
    folder = LOCALES / "ko" / "LC_MESSAGES"
    pos = {p.relative_to(folder).with_suffix("").as_posix(): p for p in folder.rglob("*.po")}
    for name in sorted(set(pots) | set(pos)):
        if name not in pos:
            problems.append(f"{name}: no Korean catalog")
            continue
        if name not in pots:
            problems.append(f"{name}: a catalog for a document that is gone")
            continue
        want = {e.msgid for e in polib.pofile(str(pots[name]))}
        have = {e.msgid for e in polib.pofile(str(pos[name])) if not e.obsolete}
        for msgid in sorted(want - have)[:3]:
            problems.append(f"{name}: new English text not in the catalog: {msgid[:60]!r}")
        for msgid in sorted(have - want)[:3]:
            problems.append(f"{name}: the catalog holds text the page no longer has: "
                            f"{msgid[:60]!r}")
    return problems


# what a translation must carry over unchanged from the English message
_ROLE = re.compile(r"\{[a-z:-]+\}`[^`]*`")
_MATH = re.compile(r"(?<!\\)\$\$?[^$]+\$\$?")
_CODE = re.compile(r"(?<![}`])``?[^`]+``?")
_URL = re.compile(r"\]\(([^)]+)\)")


def kept_pieces(msgid: str) -> list[str]:
    """The roles ({eq}`x`, {doc}`x`...), inline math, inline code and link URLs of a message.
    A role with its own link text ({doc}`Why recurrence <../notebooks/01_why_recurrence>`)
    keeps its target; its text is translated."""
    found = []
    for role in _ROLE.findall(msgid):
        found += [role.split("`")[0] + "`", role[role.index("<"):]] if "<" in role else [role]
    found += _MATH.findall(msgid) + _URL.findall(msgid)
    return found + _CODE.findall(_ROLE.sub("", msgid))


def po_problems(path: Path) -> list[str]:
    """Untranslated or fuzzy messages, and markup a translation lost, in one .po file."""
    import polib

    problems = []
    for entry in polib.pofile(str(path)):
        if entry.obsolete:
            continue
        where = f"{path.name}:{entry.linenum}"
        if not entry.msgstr:
            problems.append(f"{where}: untranslated: {entry.msgid[:60]!r}")
            continue
        if "fuzzy" in entry.flags:
            problems.append(f"{where}: fuzzy")
        problems += [f"{where}: {piece!r} is missing from the translation"
                     for piece in kept_pieces(entry.msgid) if piece not in entry.msgstr]
        if re.match(r"\d+\. ", entry.msgstr) and entry.msgstr != entry.msgid:
            # Sphinx parses a translation: "1. 왜 순환인가" would become a numbered list and be
            # dropped, leaving the English title
            problems.append(f"{where}: write {entry.msgstr[:4]!r} as 'N\\. ' (a numbered list)")
    return problems


def glossary_terms(glossary: Path = ROOT / "book" / "glossary.md") -> dict[str, str]:
    """English term -> Korean term, from the glossary's "English (ABBR) · 한국어" lines."""
    terms = {}
    for line in glossary.read_text(encoding="utf-8").splitlines():
        if " · " in line and not line.startswith(" "):
            english, korean = line.split(" · ", 1)
            terms[re.sub(r"\s*\(.*?\)", "", english).strip()] = korean.strip()
    return terms


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "build"
    if command == "build":
        sphinx_build("html", "ko", BUILD / "html" / "ko", strict="--strict" in argv)
    elif command == "extract":
        extract()
    elif command == "check":
        shutil.rmtree(POT, ignore_errors=True)
        sphinx_build("gettext", "gettext", POT, strict=False)
        for name in NOT_TRANSLATED:
            (POT / f"{name}.pot").unlink(missing_ok=True)
        problems = catalog_problems()
        print("\n".join(problems) or "the Korean catalogs hold exactly the book's messages")
        return 1 if problems else 0
    else:
        raise SystemExit(f"command: expected build, extract or check, got {command!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
