"""Results of the course's longer experiments, shipped inside the package.

The scripts in the repository's ``experiments/`` folder regenerate them; chapters load them from
here through ``importlib.resources``, so a downloaded notebook runs wherever ``minirnn`` is
installed, with no repository beside it.

    minirnn/results/<experiment>/<file>     e.g. results_path("lstm_adding", "results.json")
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any


def results_path(*parts: str) -> Path:
    """The path of a shipped result file, e.g. ``results_path("long_range", "summary.json")``.

    Raises FileNotFoundError naming the file and what the experiment folder holds when it is
    missing (a result that was never generated, or a typo).
    """
    root = Path(str(files(__name__)))
    path = root.joinpath(*parts)
    if not path.exists():
        folder = root / parts[0] if parts else root
        held = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        raise FileNotFoundError(f"no shipped result {'/'.join(parts)!r}; "
                                f"{folder.name}/ holds {held or 'nothing'}")
    return path


def load_json(*parts: str) -> Any:
    """A shipped JSON result, parsed: ``load_json("architectures", "results.json")``."""
    return json.loads(results_path(*parts).read_text(encoding="utf-8"))
