"""``to_torch``: the data layer's NumPy arrays as torch tensors, in one call.

The datasets are NumPy (so NumPy chapters and the assignment tools never import torch); a torch
chapter converts what it is given: ``x, y = to_torch(adding_problem(256, 50))``. torch is
imported inside the function, only when something is converted.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


def to_torch(obj: Any) -> Any:
    """``obj`` with every NumPy array inside it made a tensor of the same dtype and shape
    (int64 -> torch.long, float32 -> torch.float32, bool -> torch.bool).

    Walks tuples (NamedTuples too), lists, dicts and dataclass instances, returning new ones of
    the same type; anything else (numbers, strings, vocabularies, tensors) is returned as it is.
    A writable array shares its memory with the tensor (``torch.from_numpy``); a read-only one is
    copied, since a tensor cannot be read-only.
    """
    if isinstance(obj, np.ndarray):
        import torch

        if not obj.flags.writeable or any(s < 0 for s in obj.strides):
            obj = obj.copy()
        return torch.from_numpy(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {f.name: to_torch(getattr(obj, f.name))
                   for f in dataclasses.fields(obj) if f.init}
        return dataclasses.replace(obj, **changes)
    if isinstance(obj, tuple):
        items = [to_torch(item) for item in obj]
        return type(obj)(*items) if hasattr(obj, "_fields") else type(obj)(items)
    if isinstance(obj, list):
        return [to_torch(item) for item in obj]
    if isinstance(obj, dict):
        return type(obj)((key, to_torch(value)) for key, value in obj.items())
    return obj
