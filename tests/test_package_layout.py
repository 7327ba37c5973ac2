"""The package's shape: one module per chapter, chapter modules import only the library, and
the library never imports chapter code."""

import ast
import re
from pathlib import Path

import minirnn

PACKAGE = Path(minirnn.__file__).resolve().parent
CHAPTERS = PACKAGE / "chapters"


def imported_modules(path: Path, root: Path = PACKAGE.parent) -> set[str]:
    """Every module a Python file imports: absolute names, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def chapter_import_violations(chapters: Path, root: Path = PACKAGE.parent) -> list[str]:
    """'module imports chapter code' for each chapter module importing another chapter's."""
    found = []
    for path in sorted(chapters.glob("*.py")):
        if path.name == "__init__.py":
            continue
        others = sorted(n for n in imported_modules(path, root)
                        if n == "minirnn.chapters" or n.startswith("minirnn.chapters."))
        if others:
            found.append(f"{path.name} imports chapter code: {others}")
    return found


def test_one_module_per_chapter_each_naming_its_chapter():
    modules = sorted(p for p in CHAPTERS.glob("*.py") if p.name != "__init__.py")
    names = [p.stem for p in modules]
    assert all(re.fullmatch(r"ch\d\d_[a-z0-9_]+|appendix_[a-z0-9_]+", n) for n in names), names
    numbers = [n[:4] for n in names if n.startswith("ch")]
    assert len(numbers) == len(set(numbers)), f"two modules for one chapter: {names}"
    assert len(numbers) >= 15, names
    for path in modules:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        number = path.stem[2:4].lstrip("0") if path.stem.startswith("ch") else None
        expected = f"Chapter {number}" if number else "Appendix"
        assert doc.startswith(expected) or f"{expected}:" in doc.split("\n")[0], (
            f"{path.name}: its docstring must open by naming {expected!r}, got {doc[:60]!r}")


def test_chapter_modules_never_import_each_other():
    assert chapter_import_violations(CHAPTERS) == []


def test_the_import_check_finds_a_planted_chapter_to_chapter_import(tmp_path):
    chapters = tmp_path / "minirnn" / "chapters"
    chapters.mkdir(parents=True)
    (chapters / "ch01_a.py").write_text('"""Chapter 1."""\nimport numpy\n')
    (chapters / "ch02_b.py").write_text('"""Chapter 2."""\nfrom minirnn.chapters import ch01_a\n')
    (chapters / "ch03_c.py").write_text('"""Chapter 3."""\nfrom .ch01_a import thing\n')
    (chapters / "ch04_d.py").write_text('"""Chapter 4."""\nfrom minirnn import chapters\n')
    found = chapter_import_violations(chapters, tmp_path)
    assert [line.split()[0] for line in found] == ["ch02_b.py", "ch03_c.py", "ch04_d.py"]


def test_the_library_never_imports_chapter_code():
    for path in PACKAGE.rglob("*.py"):
        if CHAPTERS in path.parents:
            continue
        bad = sorted(n for n in imported_modules(path) if n.startswith("minirnn.chapters"))
        assert not bad, f"{path.relative_to(PACKAGE)} imports chapter code: {bad}"


def test_the_old_analysis_package_is_gone():
    assert not (PACKAGE / "analysis").exists()
    assert not (PACKAGE / "toy.py").exists()
