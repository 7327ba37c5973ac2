"""``charlm train`` never loses a run, and every bad input is one line with status 2 (issue 16).

Each test makes the bad input or sends the signal. The models are tiny (hidden size 8) and the
texts short, written by the tests; the signal tests start ``python -m minirnn`` and signal it at
a known point (after a line it prints, or after a periodic save appears).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import minirnn
from minirnn import cli
from minirnn.cli import main
from minirnn.torch.checkpoint import load_checkpoint, lock_folder, save_checkpoint
from minirnn.torch.train import Trainer

TINY = ["--hidden-size", "8", "--embed-size", "4", "--batch-size", "2", "--seq-len", "8",
        "--no-progress"]
ROOT = Path(minirnn.__file__).resolve().parents[1]


@pytest.fixture()
def text(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("the cat sat on the mat. the dog sat on the log. " * 10, encoding="utf-8")
    return path


def train(text, *args):
    return ["charlm", "train", "--text", str(text), *TINY, *args]


def fails(capsys, argv, notes=0) -> str:
    """The one line of a refused command (status 2, no traceback), after ``notes`` notes."""
    capsys.readouterr()  # what came before
    try:
        status = main(argv)
    except SystemExit as exit:  # argparse's errors
        status = exit.code
    captured = capsys.readouterr()
    assert status == 2, captured
    lines = captured.err.splitlines()
    assert len(lines) == notes + 1 and "Traceback" not in captured.err, captured.err
    assert all(line.startswith("minirnn: note: ") for line in lines[:-1])
    assert "trained" not in captured.out and "step" not in captured.out  # refused before training
    return captured.err


def ckpt(folder) -> dict:
    return load_checkpoint(Path(folder) / "checkpoint.pt")


def same_weights(a: dict, b: dict) -> bool:
    return a["trainer"]["model"].keys() == b["trainer"]["model"].keys() and all(
        torch.equal(v, b["trainer"]["model"][k]) for k, v in a["trainer"]["model"].items())


# -- runs lost before ----------------------------------------------------------------------------
def test_a_folder_holding_a_checkpoint_is_refused(text, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(train(text, "--steps", "3", "--out", str(run))) == 0
    before = (run / "checkpoint.pt").read_bytes()
    err = fails(capsys, train(text, "--steps", "1", "--hidden-size", "16", "--out", str(run)))
    assert "holds a checkpoint already" in err and "--resume" in err and "--force" in err
    assert (run / "checkpoint.pt").read_bytes() == before
    # a folder that is not a run but holds files of these names: left alone too
    other = tmp_path / "mine"
    other.mkdir()
    (other / "checkpoint.pt").write_bytes(b"my own file")
    (other / "vocab.json").write_text("[]")
    assert "holds a checkpoint" in fails(capsys, train(text, "--steps", "1", "--out", str(other)))
    assert (other / "checkpoint.pt").read_bytes() == b"my own file"
    assert (other / "vocab.json").read_text() == "[]"
    # --force replaces it; --out "" (the current folder, by accident) is refused
    assert main(train(text, "--steps", "2", "--out", str(run), "--force")) == 0
    assert ckpt(run)["trainer"]["step"] == 2
    assert "--out: expected a folder, got ''" in fails(capsys, train(text, "--out", ""))


def test_the_folder_is_checked_before_the_first_step(text, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(Trainer, "fit", lambda *a, **k: pytest.fail("training started"))
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    assert "expected a folder, got the file" in fails(capsys, train(text, "--out", str(a_file)))
    assert "cannot create the folder" in fails(capsys, train(text, "--out", str(a_file / "run")))
    if Path("/proc/self").exists():
        assert "cannot create the folder" in fails(capsys, train(text, "--out", "/proc/run"))
    assert a_file.read_text() == "x"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root may write into a read-only folder")
def test_a_read_only_folder_is_refused(text, tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        assert "cannot write in the folder" in fails(capsys, train(text, "--out", str(folder)))
    finally:
        folder.chmod(0o700)


def test_a_locked_folder_is_refused(text, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(train(text, "--steps", "2", "--out", str(run))) == 0
    before = (run / "checkpoint.pt").read_bytes()
    lock = lock_folder(run)  # as another training of this folder would hold it
    try:
        resume = train(text, "--steps", "4", "--resume", str(run))
        err = fails(capsys, resume)
        assert "is in use by another training" in err and f"process {os.getpid()}" in err
        assert "in use" in fails(capsys, train(text, "--out", str(run), "--force"))
    finally:
        lock.close()
    assert (run / "checkpoint.pt").read_bytes() == before
    assert main(resume) == 0  # released: the folder can be trained again


def python_m_minirnn(*args, **popen):
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "minirnn", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


def wait_for(condition, timeout=60.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def resumes_exactly(text, run, tmp_path, extra=()) -> None:
    """--resume of ``run`` to 10 steps past its save equals a straight run to that step."""
    stop = ckpt(run)["trainer"]["step"] + 10
    long = ["--steps", "100000", "--stop-at", str(stop), *extra]
    assert main(train(text, *long, "--resume", str(run))) == 0
    assert main(train(text, *long, "--out", str(tmp_path / "straight"))) == 0
    assert ckpt(run)["trainer"]["step"] == stop
    assert same_weights(ckpt(run), ckpt(tmp_path / "straight"))


def test_kill_9_resumes_from_the_last_periodic_save(text, tmp_path):
    run = tmp_path / "run"
    child = python_m_minirnn(*train(text, "--steps", "100000", "--save-every", "20",
                                    "--out", str(run)))
    try:
        wait_for(lambda: (run / "checkpoint.pt").exists() or child.poll() is not None)
    finally:
        child.kill()
        child.communicate()
    assert child.returncode == -signal.SIGKILL
    step = ckpt(run)["trainer"]["step"]
    assert step % 20 == 0 and step > 0
    (run / ".checkpoint.pt.abc123.tmp").write_bytes(b"x" * 1000)  # as a kill during a save
    resumes_exactly(text, run, tmp_path)
    assert not list(run.glob("*.tmp"))  # the leftover was removed at the start


def test_sigterm_saves_the_run_between_two_steps(text, tmp_path):
    run = tmp_path / "run"
    child = python_m_minirnn(*train(text, "--steps", "100000", "--save-every", "0",
                                    "--out", str(run)))
    try:
        for line in child.stdout:  # "step 100: loss ..." (printed every 100 steps)
            if line.startswith("step 100:"):
                child.send_signal(signal.SIGTERM)
                break
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 128 + signal.SIGTERM, err
    assert "stopped by SIGTERM" in out and "SIGTERM: stopping after this step" in err
    assert "Traceback" not in err
    state = ckpt(run)["trainer"]
    assert state["step"] >= 100 and state["data"]["position"] == state["step"]
    resumes_exactly(text, run, tmp_path)


def interrupt_at_step(monkeypatch, step, times=1):
    """Send SIGINT to this process in the middle of training step ``step`` (after its batch
    was drawn: where a KeyboardInterrupt used to leave the data position one ahead)."""
    original = Trainer._loss

    def loss(self):
        value = original(self)
        if self.step_count + 1 == step:
            for _ in range(times):
                os.kill(os.getpid(), signal.SIGINT)
        return value

    monkeypatch.setattr(Trainer, "_loss", loss)


def test_ctrl_c_stops_between_steps_and_resume_is_exact(text, tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    interrupt_at_step(monkeypatch, 7)
    assert main(train(text, "--steps", "40", "--out", str(run))) == 130
    monkeypatch.undo()
    captured = capsys.readouterr()
    assert "stopped by SIGINT" in captured.out and "Traceback" not in captured.err
    state = ckpt(run)["trainer"]
    assert state["step"] == 7 and state["data"]["position"] == 7
    assert main(train(text, "--steps", "40", "--resume", str(run))) == 0
    assert main(train(text, "--steps", "40", "--out", str(tmp_path / "straight"))) == 0
    assert same_weights(ckpt(run), ckpt(tmp_path / "straight"))


def test_ctrl_c_during_a_save(text, tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    original, saves = torch.save, []

    def save_with_ctrl_c(obj, f):
        saves.append(obj["trainer"]["step"])
        if len(saves) == 1:
            os.kill(os.getpid(), signal.SIGINT)  # the handler runs here, amid the first save
        original(obj, f)

    monkeypatch.setattr(torch, "save", save_with_ctrl_c)
    # one Ctrl-C during the save at step 5: the save ends whole, the run stops after step 6
    assert main(train(text, "--steps", "40", "--save-every", "5", "--out", str(run))) == 130
    assert saves == [5, 6] and ckpt(run)["trainer"]["step"] == 6
    assert "Traceback" not in capsys.readouterr().err

    # twice: quit at once; the save in progress is dropped, the last one stays whole
    def save_with_two_ctrl_c(obj, f):
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
        original(obj, f)

    monkeypatch.setattr(torch, "save", save_with_two_ctrl_c)
    assert main(train(text, "--steps", "40", "--save-every", "5", "--resume", str(run))) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err
    monkeypatch.undo()
    assert ckpt(run)["trainer"]["step"] == 6
    assert [p.name for p in run.iterdir() if p.name.endswith(".tmp")] == []


# -- wrong or silent before ------------------------------------------------------------------------
def test_resume_refuses_fixed_flags_and_applies_the_others(text, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(train(text, "--steps", "3", "--out", str(run), "--lr", "0.01")) == 0
    capsys.readouterr()
    resume = ["charlm", "train", "--text", str(text), "--resume", str(run), "--no-progress"]
    for flag, value in [("--hidden-size", "16"), ("--embed-size", "5"), ("--layers", "2"),
                        ("--cell", "gru"), ("--backend", "torch"), ("--batch-size", "3"),
                        ("--seq-len", "4"), ("--seed", "1")]:
        assert f"{flag} cannot change on --resume" in fails(capsys, [*resume, flag, value])
    # the run's own values are accepted; --lr, --dropout and --steps apply, with a note
    assert main([*resume, "--hidden-size", "8", "--lr", "0.002", "--dropout", "0.25",
                 "--steps", "5"]) == 0
    err = capsys.readouterr().err
    assert "--lr changes from 0.01 to 0.002 at step 3" in err and "--dropout changes" in err
    config = ckpt(run)["config"]
    assert (config["lr"], config["dropout"], config["steps"]) == (0.002, 0.25, 5)
    assert ckpt(run)["trainer"]["step"] == 5
    assert main([*resume]) == 0  # --steps defaults to the run's: nothing more to do
    assert ckpt(run)["trainer"]["step"] == 5


def test_time_budget_with_stop_at(text, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(train(text, "--time-budget", "600", "--stop-at", "3", "--out", str(run))) == 0
    assert ckpt(run)["trainer"]["step"] == 3
    for bad in ("inf", "nan", "-1", "0"):
        err = fails(capsys, train(text, "--time-budget", bad, "--out", str(tmp_path / "r")))
        assert f"argument --time-budget: expected a finite number > 0, got {bad}" in err


def test_a_diverging_run_stops_and_never_overwrites(text, tmp_path, capsys):
    run = tmp_path / "run"
    assert "argument --lr: expected a finite number > 0, got inf" in fails(
        capsys, train(text, "--lr", "inf", "--out", str(run)))
    err = fails(capsys, train(text, "--lr", "1e30", "--steps", "50", "--out", str(run)))
    assert "training diverged at step" in err and "nothing was saved" in err
    assert not (run / "checkpoint.pt").exists()
    assert main(train(text, "--steps", "4", "--out", str(run), "--force")) == 0
    good = (run / "checkpoint.pt").read_bytes()
    capsys.readouterr()
    err = fails(capsys, train(text, "--steps", "50", "--save-every", "1", "--lr", "1e30",
                              "--resume", str(run)), notes=2)  # --lr and --steps change
    assert "diverged" in err and "was left as it was" in err
    assert (run / "checkpoint.pt").read_bytes() == good
    # a checkpoint written with NaN by an older version: sample and eval refuse it in one line
    old = ckpt(run)
    old["trainer"]["model"]["head.weight"].fill_(float("nan"))
    save_checkpoint(run / "checkpoint.pt", old)
    assert "not finite" in fails(capsys, ["charlm", "sample", str(run)])
    assert "not finite" in fails(capsys, ["charlm", "eval", str(run), "--text", str(text)])


@pytest.mark.parametrize("flags, expected", [
    (["--dropout", "-0.5"], "argument --dropout: expected a number in [0, 1), got -0.5"),
    (["--dropout", "1.5"], "argument --dropout: expected a number in [0, 1), got 1.5"),
    (["--dropout", "nan"], "argument --dropout: expected a number in [0, 1), got nan"),
    (["--seed", str(2**64)], "argument --seed: expected an integer in [0, 2**64 - 1]"),
    (["--seed", "-1"], "argument --seed: expected an integer in [0, 2**64 - 1]"),
    (["--hidden-size", "1000000"], "the model does not fit: training it needs about"),
])
def test_bad_train_flags(text, tmp_path, capsys, flags, expected):
    assert expected in fails(capsys, train(text, *flags, "--out", str(tmp_path / "r")))
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("length", [1, 2, 130])
def test_a_text_too_short_says_how_long_it_must_be(tmp_path, capsys, length):
    short = tmp_path / "short.txt"
    short.write_text("ab" * (length // 2) + "a" * (length % 2), encoding="utf-8")
    err = fails(capsys, ["charlm", "train", "--text", str(short), "--out", str(tmp_path / "r")])
    assert f"the text is too short: {length} characters" in err
    assert "--batch-size 32 with --seq-len 64 needs at least 2,277" in err
    # the length it names is the shortest that works (here with a smaller batch, for speed)
    small = ["--batch-size", "2", "--seq-len", "64", "--hidden-size", "8", "--steps", "1",
             "--no-progress", "--out", str(tmp_path / "r")]
    err = fails(capsys, ["charlm", "train", "--text", str(short), *small])
    need = int(err.split("needs at least ")[1].split()[0].replace(",", ""))
    short.write_text(("ab" * need)[: need - 1], encoding="utf-8")
    assert f"needs at least {need}" in fails(capsys, ["charlm", "train", "--text", str(short),
                                                      *small])
    short.write_text(("ab" * need)[:need], encoding="utf-8")
    assert main(["charlm", "train", "--text", str(short), *small]) == 0


def test_bad_sample_and_eval_inputs(text, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(train(text, "--steps", "2", "--out", str(run))) == 0
    capsys.readouterr()
    err = fails(capsys, ["charlm", "sample", str(run), "--temperature", "1e-300"])
    assert "argument --temperature: expected 0 (greedy) or a finite number >= 0.001" in err
    assert "argument --seed" in fails(capsys, ["charlm", "sample", str(run), "--seed", "2**64"])
    assert main(["charlm", "sample", str(run), "--temperature", "0.001", "--length", "5"]) == 0
    two = tmp_path / "two.txt"
    two.write_text("ab", encoding="utf-8")
    err = fails(capsys, ["charlm", "eval", str(run), "--text", str(two)])
    assert "too short to evaluate: 2 characters, and eval needs at least 16" in err


def test_damaged_checkpoint_sections(text, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(train(text, "--steps", "2", "--out", str(run))) == 0
    good = ckpt(run)
    resume = train(text, "--steps", "4", "--resume", str(run))

    damaged = ckpt(run)
    damaged["trainer"]["optimizer"] = {"state": "garbage"}
    save_checkpoint(run / "checkpoint.pt", damaged)
    assert "is damaged: trainer section" in fails(capsys, resume)
    for section, value in [("history", None), ("carried_state", [torch.zeros(3, 3)] * 2),
                           ("data", {"position": "x"})]:
        broken = ckpt(run) if section == "history" else dict(good)
        broken["trainer"] = dict(good["trainer"])
        if value is None:
            del broken["trainer"][section]
        else:
            broken["trainer"][section] = value
        save_checkpoint(run / "checkpoint.pt", broken)
        assert "is damaged: trainer section" in fails(capsys, resume), section
    broken = dict(good, config=dict(good["config"], batch_size="2"))
    save_checkpoint(run / "checkpoint.pt", broken)
    assert "is damaged: config batch_size is '2'" in fails(capsys, resume)

    short_vocab = dict(good, vocab=good["vocab"][:5])  # shorter than the model's output
    save_checkpoint(run / "checkpoint.pt", short_vocab)
    for argv in (["charlm", "sample", str(run)], ["charlm", "eval", str(run)], resume):
        assert "its vocabulary has 5 characters" in fails(capsys, argv)


def test_a_checkpoint_never_makes_the_cli_read_another_file(text, tmp_path, capsys,
                                                             monkeypatch):
    run = tmp_path / "run"
    assert main(train(text, "--steps", "2", "--out", str(run))) == 0
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT " * 20, encoding="utf-8")
    hostile = ckpt(run)
    hostile["config"]["text"] = str(secret)  # as /etc/passwd in the issue
    save_checkpoint(run / "checkpoint.pt", hostile)
    read = []
    monkeypatch.setattr(cli, "load_text", lambda path: read.append(str(path)) or text.read_text())
    for argv in (["charlm", "eval", str(run)],
                 ["charlm", "train", "--resume", str(run), "--steps", "3", *TINY]):
        err = fails(capsys, argv)
        assert "give --text FILE" in err and "TOP-SECRET" not in err
    assert read == []
    # with the file named: its characters outside the vocabulary are counted, never shown
    odd = tmp_path / "odd.txt"
    odd.write_text(text.read_text() + "ZQXJ-secret", encoding="utf-8")
    monkeypatch.undo()
    err = fails(capsys, ["charlm", "eval", str(run), "--text", str(odd)])
    assert "distinct characters outside the run's vocabulary" in err and "ZQXJ" not in err


def test_temporary_files_of_a_killed_save_are_removed(text, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(train(text, "--steps", "2", "--out", str(run))) == 0
    for name in (".checkpoint.pt.k1.tmp", ".checkpoint.pt.k2.tmp"):
        (run / name).write_bytes(b"\0" * 4096)
    (run / "notes.tmp").write_text("mine")  # not ours: kept
    assert main(train(text, "--steps", "3", "--resume", str(run))) == 0
    assert sorted(p.name for p in run.iterdir()) == [".lock", "checkpoint.pt", "notes.tmp"]
    assert capsys.readouterr().err.count("removed .checkpoint.pt.") == 2



def test_a_failed_write_is_one_line_and_keeps_the_last_checkpoint(text, tmp_path, capsys,
                                                                  monkeypatch):
    run = tmp_path / "run"
    assert main(train(text, "--steps", "3", "--out", str(run))) == 0
    good = (run / "checkpoint.pt").read_bytes()

    def disk_full(obj, f):
        f.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    err = fails(capsys, train(text, "--steps", "6", "--resume", str(run)), notes=1)
    assert "cannot write" in err and "No space left on device" in err
    assert (run / "checkpoint.pt").read_bytes() == good
    assert sorted(p.name for p in run.iterdir()) == [".lock", "checkpoint.pt"]


def test_a_run_on_the_default_corpus_needs_no_text(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["charlm", "train", *TINY, "--steps", "1", "--out", str(run)]) == 0
    assert ckpt(run)["config"]["text"] is None
    assert main(["charlm", "eval", str(run)]) == 0
    assert "of the default corpus" in capsys.readouterr().out
    assert main(["charlm", "train", "--resume", str(run), "--steps", "2", "--no-progress"]) == 0
    assert ckpt(run)["trainer"]["step"] == 2
