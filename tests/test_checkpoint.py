import pytest
import torch

from minirnn.torch.checkpoint import CheckpointError, load_checkpoint, save_checkpoint


def test_round_trip_with_plain_values(tmp_path):
    ckpt = {"w": torch.arange(3.0), "vocab": "abc", "step": 7, "history": [1.5, 2.0],
            "rng": torch.get_rng_state(), "state": [torch.zeros(1, 2, 3), torch.ones(1, 2, 3)]}
    save_checkpoint(tmp_path / "sub" / "c.pt", ckpt)
    back = load_checkpoint(tmp_path / "sub" / "c.pt")
    assert back["vocab"] == "abc" and back["step"] == 7 and back["history"] == [1.5, 2.0]
    assert torch.equal(back["w"], ckpt["w"]) and torch.equal(back["state"][1], ckpt["state"][1])
    # loadable by plain torch with weights_only=True: nothing but tensors and plain values
    torch.load(tmp_path / "sub" / "c.pt", weights_only=True)


def test_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"step": 1})

    def crash(obj, f):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"step": 2})
    monkeypatch.undo()
    assert load_checkpoint(path) == {"step": 1}  # the old checkpoint is whole
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary file left


class Custom:
    pass


def test_damaged_or_foreign_checkpoints(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "none.pt")
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"w": torch.zeros(100)})
    path.write_bytes(path.read_bytes()[:200])  # truncated
    with pytest.raises(CheckpointError, match="is damaged"):
        load_checkpoint(path)
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="is damaged"):
        load_checkpoint(path)
    torch.save({"obj": Custom()}, path)  # a pickled class: refused by weights_only
    with pytest.raises(CheckpointError, match="is damaged"):
        load_checkpoint(path)
    torch.save([1, 2], path)
    with pytest.raises(CheckpointError, match="not a dict"):
        load_checkpoint(path)
    msg = ""
    try:
        load_checkpoint(tmp_path / "none.pt")
    except CheckpointError as err:
        msg = str(err)
    assert "\n" not in msg


def test_lock_folder_is_exclusive_and_released_on_close(tmp_path):
    import os

    from minirnn.torch.checkpoint import lock_folder

    first = lock_folder(tmp_path)
    busy = rf"in use by another training \(process {os.getpid()}\)"
    with pytest.raises(CheckpointError, match=busy):
        lock_folder(tmp_path)
    first.close()
    lock_folder(tmp_path).close()  # free again
    with pytest.raises(OSError):
        lock_folder(tmp_path / "missing")  # the folder cannot be written: the OSError says why


def test_remove_partial_writes(tmp_path):
    from minirnn.torch.checkpoint import remove_partial_writes

    save_checkpoint(tmp_path / "c.pt", {"step": 1})
    (tmp_path / ".c.pt.abc.tmp").write_bytes(b"partial")
    (tmp_path / ".d.pt.abc.tmp").write_bytes(b"someone else's")
    assert [p.name for p in remove_partial_writes(tmp_path / "c.pt")] == [".c.pt.abc.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".d.pt.abc.tmp", "c.pt"]
