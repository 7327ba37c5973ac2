"""minirnn.torch on a CUDA device: the parity matrix of test_torch_parity.py, and a training step.

Skipped where torch sees no CUDA device (CI has none). On a machine with a GPU,
`pytest tests/test_torch_cuda.py` checks that the modules, their fused fast path and the
character model run there and give torch.nn's numbers.
"""

from __future__ import annotations

import pytest
import test_torch_parity as parity
import torch

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.parametrize("mode,layers,bidirectional,batch_first,kind,impl", parity.MATRIX)
def test_matches_torch_nn_on_cuda(mode, layers, bidirectional, batch_first, kind, impl):
    parity.test_matches_torch_nn(mode, layers, bidirectional, batch_first, kind, impl,
                                 device="cuda")


@pytest.mark.parametrize("mode", parity.MODES)
@pytest.mark.parametrize("kind", ["plain", "lengths"])
def test_fused_equals_steps_on_cuda(mode, kind):
    parity.test_fused_equals_steps(mode, kind, device="cuda")


@pytest.mark.parametrize("mode", parity.MODES)
def test_outputs_stay_on_the_device_in_float32(mode):
    """float32 on the GPU: outputs, states and gradients live on the input's device.

    The reference is torch.nn without cuDNN. Measured on an H200 against a float64 run, ours
    (full float32 matmuls) and torch.nn's native path were both off by about 1e-7, cuDNN by 8e-6
    with TF32 off and 2e-4 with TF32 on (its default for RNNs), too loose for a 1e-5 check.
    """
    ours, ref = parity.make_pair(mode, 2, True, False, "fused", "cuda")
    ours, ref = ours.float(), ref.float()
    x = torch.randn(parity.T, parity.N, parity.D, device="cuda", requires_grad=True)
    out, states = ours(x)
    out.sum().backward()
    for t in (out, *(states if isinstance(states, tuple) else (states,)), x.grad,
              *(p.grad for p in ours.parameters())):
        assert t.device.type == "cuda" and t.dtype == torch.float32
    with torch.backends.cudnn.flags(enabled=False):
        want = ref(x)[0]
    assert parity.rel_error(out, want) < 1e-5
