"""Checkpoints: written atomically, holding only tensors and plain Python values, read back with
``torch.load(weights_only=True)`` (which refuses pickled classes, so loading runs no code).

A folder that a training writes is locked (``lock_folder``), so that a second training of the same
folder stops at once instead of silently overwriting the first one's work.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO

import torch

try:
    import fcntl

    def _try_lock(f: IO) -> None:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError when held
except ImportError:  # Windows
    import msvcrt

    def _try_lock(f: IO) -> None:
        f.seek(0)
        msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)  # OSError when held

LOCK_NAME = ".lock"


class CheckpointError(ValueError):
    """A checkpoint that is missing, damaged or not one of ours. The message is one line."""


def save_checkpoint(path: str | Path, checkpoint: dict) -> None:
    """Write ``checkpoint`` to ``path`` atomically: into a temporary file in the same folder,
    flushed to disk, then renamed over ``path``. A crash mid-write leaves the old file whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private; give it normal rights
        with os.fdopen(fd, "wb") as f:
            torch.save(checkpoint, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic on POSIX and Windows
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint written by ``save_checkpoint``; any failure is a ``CheckpointError``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # truncated zip, bad pickle, forbidden global...
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"checkpoint {str(path)!r} is damaged: {reason[:200]}") from None
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"checkpoint {str(path)!r} holds a {type(checkpoint).__name__}, "
                              "not a dict")
    return checkpoint


def lock_folder(folder: str | Path) -> IO:
    """Take the exclusive lock of ``folder`` (its file ``.lock``) and return the open lock file;
    closing it, or the end of the process however it ends (even ``kill -9``), releases the lock.
    A lock held by another process is a ``CheckpointError``; a folder that cannot be written
    raises the ``OSError`` of creating the lock file (so this also checks the folder is
    writable before any work is done)."""
    folder = Path(folder)
    f = open(folder / LOCK_NAME, "a+", encoding="ascii")  # held open: it is the lock
    try:
        _try_lock(f)
    except OSError:
        f.seek(0)
        owner = f.read(20).strip()
        f.close()
        by = f" (process {owner})" if owner.isdigit() else ""
        raise CheckpointError(f"run folder {str(folder)!r} is in use by another training{by}; "
                              "wait for it to end or choose another folder") from None
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))  # for the message above, in the other process
    f.flush()
    return f


def remove_partial_writes(path: str | Path) -> list[Path]:
    """Delete the temporary files that ``save_checkpoint(path, ...)`` leaves when its process is
    killed mid-write (``.NAME.*.tmp`` beside ``path``; a checkpoint can be 100 MB). Call it only
    while holding the folder's lock: another training's write in progress looks the same."""
    path = Path(path)
    removed = sorted(path.parent.glob(f".{path.name}.*.tmp"))
    for tmp in removed:
        tmp.unlink(missing_ok=True)
    return removed
