"""minirnn: recurrent neural networks from scratch, the companion package of the minirnn course.

- ``minirnn.numpy``: every layer forward and backward by hand (CS231n-style API).
- ``minirnn.torch``: ``nn.Module``s that match ``torch.nn`` and load its state dicts,
  plus the course's task models, training and decoding.
- ``minirnn.data``: the datasets, as NumPy arrays (``to_torch`` makes them tensors).
"""

__version__ = "0.1.0"
