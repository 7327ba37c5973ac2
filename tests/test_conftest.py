"""The shared fixtures of tests/conftest.py do what they say."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent


def test_every_test_runs_with_one_torch_thread():
    assert torch.get_num_threads() == 1


def test_the_thread_count_is_restored_after_the_tests(tmp_path):
    shutil.copy(ROOT / "tests" / "conftest.py", tmp_path)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_a.py").write_text(
        "import torch\n\ndef test_one():\n    assert torch.get_num_threads() == 1\n")
    script = ("import pytest, torch\n"
              "torch.set_num_threads(2)\n"
              "code = pytest.main(['-q', '-p', 'no:cacheprovider', 'test_a.py'])\n"
              "print('threads after:', torch.get_num_threads())\n"
              "raise SystemExit(code)\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "threads after: 2" in result.stdout
