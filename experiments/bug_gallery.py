"""The bug gallery's numbers (book/bug_gallery.md): each planted bug's symptom, planted and fixed.

    python experiments/bug_gallery.py    # writes minirnn/results/bug_gallery/symptoms.json

Seconds on one core; tests/test_bug_gallery.py recomputes the file and checks the page's table.
"""

import json
from pathlib import Path

from minirnn.assignments import bug_gallery

OUT = Path(__file__).resolve().parents[1] / "minirnn" / "results" / "bug_gallery" / "symptoms.json"

if __name__ == "__main__":
    results = bug_gallery.measure(seed=0)
    OUT.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(bug_gallery.table(results))
