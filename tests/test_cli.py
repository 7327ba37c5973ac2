"""``python -m minirnn charlm``, end to end on a small file the test writes."""

import json
import subprocess
import sys

import pytest
import torch

from minirnn.cli import load_run, main
from minirnn.torch.checkpoint import load_checkpoint

SMALL = ["--hidden-size", "32", "--embed-size", "8", "--batch-size", "4", "--seq-len", "16",
         "--no-progress"]


@pytest.fixture()
def text_file(tmp_path):
    path = tmp_path / "small.txt"
    path.write_text("the cat sat on the mat. the dog sat on the log. " * 60, encoding="utf-8")
    return path


def test_train_sample_eval(text_file, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["charlm", "train", "--text", str(text_file), "--steps", "60", "--out", str(out),
                 "--lr", "1e-2", *SMALL]) == 0
    assert "trained 60 steps" in capsys.readouterr().out
    # the vocabulary is in the checkpoint; .lock is the folder's lock (released at the end)
    assert sorted(p.name for p in out.iterdir()) == [".lock", "checkpoint.pt"]
    ckpt = load_checkpoint(out / "checkpoint.pt")
    vocab = ckpt["vocab"]
    assert vocab == " .acdeghlmnost" and ckpt["trainer"]["step"] == 60
    assert ckpt["config"]["backend"] == "minirnn" and "impl" not in ckpt["config"]
    _, model, _ = load_run(str(out))  # rebuilt from the model's own config
    assert {k: ckpt["config"][k] for k in model.config} == model.config

    assert main(["charlm", "sample", str(out), "--prime", "the ", "--length", "40",
                 "--seed", "1", "--temperature", "0.5", "--top-k", "3"]) == 0
    sample = capsys.readouterr().out
    assert sample.startswith("the ") and len(sample.rstrip("\n")) == 44
    assert set(sample.rstrip("\n")) <= set(vocab)
    main(["charlm", "sample", str(out), "--prime", "the ", "--length", "40", "--seed", "1",
          "--temperature", "0.5", "--top-k", "3"])
    assert capsys.readouterr().out == sample  # seeded

    main(["charlm", "sample", str(out), "--prime", "the ", "--length", "30", "--temperature", "0"])
    greedy = capsys.readouterr().out
    assert greedy.startswith("the ") and len(greedy.rstrip("\n")) == 34

    assert main(["charlm", "eval", str(out), "--text", str(text_file)]) == 0
    bpc = float(capsys.readouterr().out.split("bits per character: ")[1].split()[0])
    assert bpc < 0.7 * torch.tensor(len(vocab)).log2().item()  # well below uniform guessing


def test_resume_continues_exactly(text_file, tmp_path, capsys):
    base = ["charlm", "train", "--text", str(text_file), "--steps", "30", *SMALL]
    assert main([*base, "--out", str(tmp_path / "full")]) == 0
    assert main([*base, "--out", str(tmp_path / "split"), "--stop-at", "12"]) == 0
    assert load_checkpoint(tmp_path / "split" / "checkpoint.pt")["trainer"]["step"] == 12
    assert main(["charlm", "train", "--resume", str(tmp_path / "split"), "--steps", "30",
                 "--text", str(text_file), "--no-progress"]) == 0
    full = load_checkpoint(tmp_path / "full" / "checkpoint.pt")["trainer"]
    split = load_checkpoint(tmp_path / "split" / "checkpoint.pt")["trainer"]
    assert split["step"] == 30
    for name, value in full["model"].items():
        assert torch.equal(value, split["model"][name]), name


def test_backend_flag_and_old_run_folders(text_file, tmp_path, capsys):
    """--backend picks torch.nn's layer; a run folder of an older version (config key ``impl``,
    a vocab.json beside the checkpoint) still samples and resumes."""
    out = tmp_path / "run"
    assert main(["charlm", "train", "--text", str(text_file), "--steps", "4", "--out", str(out),
                 "--backend", "torch", *SMALL]) == 0
    _, model, _ = load_run(str(out))
    assert model.config["backend"] == "torch" and isinstance(model.rnn, torch.nn.LSTM)
    # make it look like a run of the older version
    ckpt = load_checkpoint(out / "checkpoint.pt")
    ckpt["config"]["impl"] = ckpt["config"].pop("backend")
    torch.save(ckpt, out / "checkpoint.pt")
    (out / "vocab.json").write_text(json.dumps(list(ckpt["vocab"])), encoding="utf-8")
    capsys.readouterr()
    assert main(["charlm", "sample", str(out), "--prime", "the", "--length", "5"]) == 0
    assert capsys.readouterr().out.startswith("the")
    _, model, vocab = load_run(str(out))
    assert model.config["backend"] == "torch" and vocab.chars == ckpt["vocab"]
    assert main(["charlm", "train", "--resume", str(out), "--steps", "6", "--text",
                 str(text_file), "--no-progress"]) == 0
    config = load_checkpoint(out / "checkpoint.pt")["config"]
    assert config["backend"] == "torch" and "impl" not in config


def test_cli_cells_are_the_models_cells():
    from minirnn import cli
    from minirnn.torch import models

    assert cli.CELLS == models.CELLS  # kept apart so that --help needs no torch


def error_line(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def test_one_line_errors(text_file, tmp_path, capsys):
    train = ["charlm", "train", "--steps", "2", "--out", str(tmp_path / "r"), *SMALL]
    assert "does not exist" in error_line(capsys, [*train, "--text", str(tmp_path / "no.txt")])
    (tmp_path / "empty.txt").write_text("")
    assert "is empty" in error_line(capsys, [*train, "--text", str(tmp_path / "empty.txt")])
    (tmp_path / "bin.txt").write_bytes(b"abc\xff\xfe" * 100)
    assert "not UTF-8" in error_line(capsys, [*train, "--text", str(tmp_path / "bin.txt")])

    assert main([*train, "--text", str(text_file)]) == 0
    capsys.readouterr()
    run = str(tmp_path / "r")
    err = error_line(capsys, ["charlm", "sample", run, "--prime", "Zebra!"])
    assert "outside the vocabulary: 'Zbr!'" in err

    ckpt = tmp_path / "r" / "checkpoint.pt"
    ckpt.write_bytes(ckpt.read_bytes()[:1000])
    assert "is damaged" in error_line(capsys, ["charlm", "sample", run])
    assert "is damaged" in error_line(capsys, ["charlm", "eval", run])
    assert "does not exist" in error_line(capsys, ["charlm", "eval", str(tmp_path / "nope")])
    assert "--out" in error_line(capsys, ["charlm", "train", "--steps", "1"])


def test_python_dash_m_entry_point(tmp_path):
    result = subprocess.run([sys.executable, "-m", "minirnn", "charlm", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "train" in result.stdout and "sample" in result.stdout
    result = subprocess.run([sys.executable, "-m", "minirnn", "charlm", "eval",
                             str(tmp_path / "missing")], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("minirnn: error: run folder")
