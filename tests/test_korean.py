"""The Korean edition's catalogs and the GitHub workflows.

- Every chapter and front page has a Korean catalog in which every message is translated, none
  is fuzzy, and each translation keeps the message's roles, math, code and link URLs.
- The catalogs hold exactly the messages of today's English book (a fresh gettext extraction):
  an English paragraph that changed fails here until its translation is updated.
- The glossary's Korean terms are the ones the translations use.
- The workflows are valid GitHub workflows and run only the README's commands.
The Korean build itself (-W -n) and its real-browser check run in `make test` (build-check,
browser)."""

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("korean_book", ROOT / "tools" / "korean_book.py")
korean_book = importlib.util.module_from_spec(spec)
spec.loader.exec_module(korean_book)

CATALOGS = ROOT / "locales" / "ko" / "LC_MESSAGES"
PO_FILES = sorted(CATALOGS.rglob("*.po"))
BOOK_PAGES = sorted({p.relative_to(ROOT).with_suffix("").as_posix()
                     for p in [*(ROOT / "notebooks").glob("*.ipynb"),
                               *(ROOT / "book").glob("*.md")]}
                    - set(korean_book.NOT_TRANSLATED))


def test_every_page_has_a_catalog():
    have = {p.relative_to(CATALOGS).with_suffix("").as_posix() for p in PO_FILES}
    assert have == set(BOOK_PAGES)


@pytest.mark.parametrize("path", PO_FILES, ids=lambda p: p.stem)
def test_every_message_is_translated_and_keeps_its_markup(path):
    assert korean_book.po_problems(path) == []


def test_the_catalog_check_can_fail(tmp_path):
    """An untranslated message, a fuzzy one and a lost role are each reported."""
    import polib

    po = polib.POFile()
    po.append(polib.POEntry(msgid="See {eq}`eq-a` and $x_t$.", msgstr="$x_t$를 보십시오."))
    po.append(polib.POEntry(msgid="A heading", msgstr=""))
    po.append(polib.POEntry(msgid="Fuzzy", msgstr="퍼지", flags=["fuzzy"]))
    po.append(polib.POEntry(msgid="1. Why recurrence", msgstr="1. 왜 순환인가"))
    po.save(str(tmp_path / "x.po"))
    problems = korean_book.po_problems(tmp_path / "x.po")
    assert len(problems) == 4 and "{eq}`eq-a`" in problems[0] and "numbered" in problems[3]


def test_the_catalogs_hold_exactly_today_s_messages(tmp_path, monkeypatch):
    """A fresh extraction of the English book against the catalogs (about a minute)."""
    pot = tmp_path / "gettext"
    monkeypatch.setattr(korean_book, "POT", pot)
    monkeypatch.setattr(korean_book, "BUILD", tmp_path)
    korean_book.sphinx_build("gettext", "gettext", pot, strict=False)
    for name in korean_book.NOT_TRANSLATED:
        (pot / f"{name}.pot").unlink(missing_ok=True)
    assert korean_book.catalog_problems() == []
    # a changed English paragraph is caught
    some = sorted(pot.rglob("*.pot"))[0]
    some.write_text(some.read_text(encoding="utf-8").replace(
        'msgid ""\nmsgstr ""', 'msgid "A paragraph the page has now"\nmsgstr ""\n\n'
        'msgid ""\nmsgstr ""', 1), encoding="utf-8")
    assert any("new English text" in p for p in korean_book.catalog_problems())


def korean_terms(term: str) -> set[str]:
    """The glossary's Korean term and its alternative in parentheses ("메모리 (기억)"); for a
    noun made from a verb ("펼치기"), its stem too, so "펼치면" counts."""
    words = {w.strip() for w in re.split(r"[()]", term) if w.strip()}
    return words | {w[:-1] for w in words if w.endswith("기") and " " not in w}


# English words used in their everyday sense, not as the glossary's term
IDIOMS = {("14_gru", "One-to-one")}  # "do not translate one-to-one into time"


def glossary_misses(paths: list[Path]) -> list[str]:
    """Messages that name a glossary term in their prose and whose translation lacks it."""
    import polib

    terms = {english: korean_terms(korean)
             for english, korean in korean_book.glossary_terms().items()}
    misses = []
    for path in paths:
        if path.stem == "glossary":
            continue
        for entry in polib.pofile(str(path)):
            prose = entry.msgid  # the words a reader sees, without code, math and roles
            for piece in korean_book.kept_pieces(entry.msgid):
                prose = prose.replace(piece, " ")
            for english, korean in terms.items():
                if (path.stem, english) in IDIOMS or entry.msgstr == entry.msgid:
                    continue
                if re.search(rf"\b{re.escape(english)}\b", prose, re.IGNORECASE) and \
                        not any(k in entry.msgstr for k in korean):
                    misses.append(f"{path.stem}:{entry.linenum}: {english!r} -> {korean}")
    return misses


def test_translations_use_the_glossary_s_terms(tmp_path):
    """Where an English message names a glossary term, its translation holds the Korean term;
    a planted translation that says 경사 instead of 기울기 is caught."""
    import polib

    assert glossary_misses(PO_FILES) == []
    po = polib.POFile()
    po.append(polib.POEntry(msgid="The vanishing gradient of $W_h$.",
                            msgstr="$W_h$의 경사 소멸입니다."))
    po.save(str(tmp_path / "planted.po"))
    (miss,) = glossary_misses([tmp_path / "planted.po"])
    assert "'Vanishing gradient'" in miss


WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def test_the_workflows_are_valid_github_workflows():
    checker = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    done = subprocess.run([checker, "--builtin-schema", "vendor.github-workflows",
                           *map(str, WORKFLOWS)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert {w.name for w in WORKFLOWS} == {"book.yml", "ci.yml"}


def test_the_workflows_run_only_the_readme_s_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    allowed = {"make book", "sudo bash .ci/run"}
    for workflow in WORKFLOWS:
        steps = [step for job in yaml.safe_load(workflow.read_text())["jobs"].values()
                 for step in job["steps"]]
        runs = {step["run"].strip() for step in steps if "run" in step}
        assert runs and runs <= allowed, (workflow.name, runs)
        uses = {step["uses"].split("@")[0] for step in steps if "uses" in step}
        assert uses <= {"actions/checkout", "actions/setup-python",
                        "actions/upload-pages-artifact", "actions/deploy-pages"}
    assert "make book" in readme and ".ci/run" in readme


def test_the_edition_links_go_both_ways():
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    from editions import other_edition_link

    there = other_edition_link("notebooks/07_bptt", "notebooks/07_bptt.html", "en")
    back = other_edition_link("notebooks/07_bptt", "notebooks/07_bptt.html", "ko")
    assert there == "../ko/notebooks/07_bptt.html" and back == "../../notebooks/07_bptt.html"
    with pytest.raises(ValueError, match="minirnn_edition"):
        other_edition_link("intro", "intro.html", "de")
