"""Char-LM training with DistributedDataParallel: two processes under torchrun (gloo, CPU)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from minirnn.torch.checkpoint import load_checkpoint
from minirnn.torch.models import CharLM

TORCHRUN = Path(sys.executable).with_name("torchrun")


@pytest.mark.skipif(not TORCHRUN.exists() and not shutil.which("torchrun"),
                    reason="torchrun is not installed")
def test_two_processes_end_with_equal_parameters(tmp_path):
    text = tmp_path / "small.txt"
    text.write_text("a stitch in time saves nine. " * 80, encoding="utf-8")
    out = tmp_path / "run"
    env = dict(os.environ, GLOO_SOCKET_IFNAME="lo", OMP_NUM_THREADS="1")
    torchrun = str(TORCHRUN) if TORCHRUN.exists() else shutil.which("torchrun")
    result = subprocess.run(
        [torchrun, "--standalone", "--nproc_per_node=2", "-m", "minirnn", "charlm", "train",
         "--text", str(text), "--steps", "15", "--hidden-size", "32", "--embed-size", "8",
         "--batch-size", "4", "--seq-len", "16", "--out", str(out), "--no-progress"],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "parameters equal on every rank: True" in result.stdout
    rank0 = load_checkpoint(out / "ranks" / "rank0.pt")
    rank1 = load_checkpoint(out / "ranks" / "rank1.pt")
    assert rank0.keys() == rank1.keys() and len(rank0) > 0
    for name in rank0:
        assert torch.equal(rank0[name], rank1[name]), name
    # they trained: the saved run is at step 15 and its weights are rank 0's
    ckpt = load_checkpoint(out / "checkpoint.pt")
    assert ckpt["trainer"]["step"] == 15
    assert torch.equal(ckpt["trainer"]["model"]["head.weight"], rank0["head.weight"])
    config = ckpt["config"]
    torch.manual_seed(config["seed"])
    initial = CharLM(config["vocab_size"], config["embed_size"], config["hidden_size"],
                     cell=config["cell"], backend=config["backend"]).state_dict()
    assert not torch.equal(initial["head.weight"], rank0["head.weight"])
