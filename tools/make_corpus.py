"""Build the default text corpus: NumPy's docstrings, gathered in a fixed order.

Run once with the pinned numpy (2.4.6); the output is committed, so the corpus is the same bytes
on every Python and platform whatever numpy is installed later. NumPy is BSD-licensed.

    python tools/make_corpus.py   # writes minirnn/data/numpy_docstrings.txt.gz
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import inspect
import io
from pathlib import Path

import numpy as np

# Modules in this order, names sorted within each: the order is part of the corpus.
MODULES = [
    "numpy",
    "numpy.linalg",
    "numpy.fft",
    "numpy.random",
    "numpy.polynomial",
    "numpy.char",
    "numpy.strings",
]
OUT = Path(__file__).resolve().parents[1] / "minirnn" / "torch" / "data" / "numpy_docstrings.txt.gz"


def gather() -> str:
    seen: set[int] = set()  # numpy re-exports objects under several names: keep each doc once
    parts = []
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in sorted(dir(module)):
            if name.startswith("_"):
                continue
            obj = getattr(module, name)
            doc = getattr(obj, "__doc__", None)
            if inspect.ismodule(obj) or not isinstance(doc, str) or id(obj) in seen:
                continue
            seen.add(id(obj))
            parts.append(f"{module_name}.{name}\n\n{inspect.cleandoc(doc)}\n")
    return "\n\n".join(parts)


def main() -> None:
    if np.__version__ != "2.4.6":
        raise SystemExit(f"the corpus is defined by numpy 2.4.6, found {np.__version__}")
    data = gather().encode("utf-8")
    buffer = io.BytesIO()
    # mtime=0 and no file name inside, so the .gz itself is reproducible too.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as f:
        f.write(data)
    OUT.write_bytes(buffer.getvalue())
    print(f"{OUT.name}: {len(data)} bytes of text, {len(buffer.getvalue())} compressed")
    print(f"sha256 of the text: {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
