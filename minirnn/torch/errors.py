"""The exception the torch.nn-compatible modules raise for a tensor of the wrong shape."""


class ShapeError(ValueError, RuntimeError):
    """A tensor (or a lengths list) whose shape does not fit. It is a ValueError, the course's rule
    for bad input, and a RuntimeError, what torch.nn raises for the same mistake, so code written
    for torch.nn (``except RuntimeError``) catches it when handed minirnn's modules."""
