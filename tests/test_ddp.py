"""Char-LM training with DistributedDataParallel: two processes under torchrun (gloo, CPU)."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from minirnn.cli import main
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


def worker_pids(parent: int) -> dict[int, int]:
    """{rank: pid} of the processes that torchrun (process ``parent``) started (Linux /proc)."""
    ranks = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            ppid = int(next(line for line in status.read_text().splitlines()
                            if line.startswith("PPid:")).split()[1])
            if ppid != parent:
                continue
            environ = (status.parent / "environ").read_bytes().split(b"\0")
        except (OSError, StopIteration, ValueError):  # the process ended meanwhile
            continue
        for item in environ:
            if item.startswith(b"RANK="):
                ranks[int(item[5:])] = int(status.parent.name)
    return ranks


@pytest.mark.skipif(not TORCHRUN.exists() and not shutil.which("torchrun"),
                    reason="torchrun is not installed")
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the ranks in /proc")
def test_a_signal_to_one_rank_stops_every_rank_at_the_same_step(tmp_path):
    """SIGTERM to rank 1 alone: the ranks agree (all-reduce) to stop after the same step, rank 0
    saves the run there, and nobody is left waiting. With a time budget, which the ranks read
    from one agreed clock: their learning rates, and so their parameters, stay equal."""
    text = tmp_path / "small.txt"
    text.write_text("a stitch in time saves nine. " * 80, encoding="utf-8")
    out = tmp_path / "run"
    env = dict(os.environ, GLOO_SOCKET_IFNAME="lo", OMP_NUM_THREADS="1")
    torchrun = str(TORCHRUN) if TORCHRUN.exists() else shutil.which("torchrun")
    child = subprocess.Popen(
        [torchrun, "--standalone", "--nproc_per_node=2", "-m", "minirnn", "charlm", "train",
         "--text", str(text), "--time-budget", "600", "--save-every", "10", "--hidden-size", "8",
         "--embed-size", "4", "--batch-size", "2", "--seq-len", "8", "--out", str(out),
         "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 90
        while not (out / "checkpoint.pt").exists():  # a periodic save: both ranks train
            assert child.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(worker_pids(child.pid)[1], signal.SIGTERM)
        stdout, stderr = child.communicate(timeout=90)
    finally:
        child.kill()
    assert "stopped by SIGTERM" in stdout, stderr[-3000:]
    assert "parameters equal on every rank: True" in stdout
    step = load_checkpoint(out / "checkpoint.pt")["trainer"]["step"]
    assert f"(total {step})" in stdout
    rank0 = load_checkpoint(out / "ranks" / "rank0.pt")
    rank1 = load_checkpoint(out / "ranks" / "rank1.pt")
    for name in rank0:
        assert torch.equal(rank0[name], rank1[name]), name
    assert sorted(p.name for p in out.iterdir()) == [".lock", "checkpoint.pt", "ranks"]

    # each rank's carried state was saved: the run resumes under torchrun, not in one process
    assert main(["charlm", "train", "--resume", str(out), "--text", str(text)]) == 2
    result = subprocess.run(
        [torchrun, "--standalone", "--nproc_per_node=2", "-m", "minirnn", "charlm", "train",
         "--resume", str(out), "--text", str(text), "--time-budget", "600", "--stop-at",
         str(step + 3), "--no-progress"],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "parameters equal on every rank: True" in result.stdout
    assert load_checkpoint(out / "checkpoint.pt")["trainer"]["step"] == step + 3
