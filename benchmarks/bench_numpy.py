"""How fast is minirnn.numpy against torch.nn on the CPU?

Times forward + backward over a whole sequence, float32, for the vanilla RNN, LSTM and GRU,
at two sizes, and prints the ratio numpy time / torch time (below 1 means numpy is faster).
The targets are for the fast path, minirnn.numpy.fast. The readable reference (minirnn.numpy's
rnn/lstm/gru_forward, a loop over the step functions) is timed too, one block per case, and
its ratio printed without a target (--no-reference skips it).

    python benchmarks/bench_numpy.py [--threads 2] [--repeats 7] [--rounds 3] [--sizes large small]
                                     [--cells LSTM GRU RNN] [--clock wall|cpu] [--no-reference]

Method: both libraries get the same thread count (torch.set_num_threads and, through
threadpoolctl, NumPy's BLAS). Each implementation is timed in its own block of repeats after
0.3 s of warm-up calls, never interleaved call by call (an idle thread pool of one library
spinning while the other runs skews the ratio), and the best of the block is compared. A block
has at least --repeats calls and lasts at least a second, so the small size gets many more.
Each case runs --rounds such blocks per implementation, alternating (numpy, torch, numpy, ...),
and keeps each one's best: on a shared machine a slow spell then falls on both alike.

On a machine busy with other work, wall-clock times of multi-threaded code mean little
(spinning BLAS/OpenMP threads lose their cores). `--threads 1 --clock cpu` then measures the
process's CPU time instead, which other processes hardly disturb; it is only meaningful with
one thread (with several, CPU time counts every thread's spinning).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from collections.abc import Callable

import numpy as np
import torch

try:  # sets NumPy's BLAS thread count at run time (installed with scikit-learn)
    from threadpoolctl import threadpool_limits
except ImportError:  # then OPENBLAS_NUM_THREADS in the environment decides
    threadpool_limits = None

import minirnn.numpy as reference
import minirnn.numpy.fast as fast
from minirnn.convert import from_torch

SIZES = {"large": (64, 128, 256, 512), "small": (32, 64, 64, 128)}  # (N, T, D, H)
TARGETS = {  # the ratio the fast path should stay under, from issue 3
    ("LSTM", "large"): 1.2,
    ("LSTM", "small"): 2.0,
    ("GRU", "large"): 1.0,
    ("GRU", "small"): 1.0,
    ("RNN", "large"): 1.2,
    ("RNN", "small"): 0.8,
}


def best_time(fn: Callable[[], object], repeats: int, clock: Callable[[], float],
              min_seconds: float = 1.0) -> float:
    """Best time of fn on `clock`: at least `repeats` calls, and at least `min_seconds` of them.

    Untimed warm-up calls come first, for at least 0.3 s (the first calls of a process pay for
    page faults, lazy imports and a cold cache). Fast cases get more repeats, so that their best
    time is as settled as the slow cases'.
    """
    start = time.perf_counter()
    fn()
    while time.perf_counter() - start < 0.3:
        fn()
    best, calls, start = float("inf"), 0, time.perf_counter()
    while calls < repeats or time.perf_counter() - start < min_seconds:
        begin = clock()
        fn()
        best = min(best, clock() - begin)
        calls += 1
    return best


def settle_allocator() -> None:
    """Allocate and free one 16 MB array before timing anything.

    glibc's malloc hands out blocks above a threshold with a fresh mmap, whose pages fault in
    on first touch. The threshold starts at 128 KB and rises to the size of a block freed later
    (blocks up to 32 MB count), so without this the first cases of a run would pay page faults
    that later cases, and any process that has freed a big array before, do not: the small
    LSTM timed about 14 ms first and 12 ms after the large cases. Both libraries share glibc.
    """
    np.ones(2**22, dtype=np.float32)


def numpy_case(cell: str, module: torch.nn.Module, x: np.ndarray, h0: np.ndarray,
               dh: np.ndarray, layers: object = fast) -> Callable[[], object]:
    """forward + backward of `layers` (minirnn.numpy.fast or the reference minirnn.numpy),
    with the torch module's weights copied in."""
    (params,) = from_torch(module, dtype=x.dtype)  # one layer, one direction
    if cell == "RNN":
        return lambda: layers.rnn_backward(dh, layers.rnn_forward(x, h0, *params)[1])
    if cell == "LSTM":
        return lambda: layers.lstm_backward(dh, layers.lstm_forward(x, h0, *params)[1])
    return lambda: layers.gru_backward(dh, layers.gru_forward(x, h0, *params)[1])


def torch_case(cell: str, module: torch.nn.Module, x: np.ndarray, h0: np.ndarray,
               dh: np.ndarray) -> Callable[[], object]:
    """forward + backward in torch.nn (gradients for x, h0 and every weight)."""
    xt = torch.from_numpy(x).requires_grad_()
    h0t = torch.from_numpy(h0)[None].requires_grad_()
    dht = torch.from_numpy(dh)

    def run() -> None:
        module.zero_grad(set_to_none=True)
        xt.grad = h0t.grad = None
        state = (h0t, torch.zeros_like(h0t)) if cell == "LSTM" else h0t
        out, _ = module(xt, state)
        out.backward(dht)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3,
                        help="blocks per implementation, alternating numpy, torch, numpy, ...")
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--cells", nargs="+", default=["LSTM", "GRU", "RNN"],
                        choices=["LSTM", "GRU", "RNN"])
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    parser.add_argument("--no-reference", action="store_true",
                        help="skip timing the reference path (it has no target)")
    args = parser.parse_args()
    if args.clock == "cpu" and args.threads != 1:
        parser.error("--clock cpu needs --threads 1")
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    if os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE":
        print("note: OMP_WAIT_POLICY=PASSIVE puts torch's OpenMP threads to sleep between "
              "parallel regions, which makes its small cases several times slower; the targets "
              "are for the default policy (unset)")
    settle_allocator()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    print(f"threads: {args.threads} (torch and numpy BLAS), float32, best of {args.rounds} "
          f"blocks of at least {args.repeats} calls and 1 s each, "
          f"{args.clock} clock, load average before: {os.getloadavg()[0]:.2f}")
    header = f"{'cell':<5} {'size':<6} {'(N, T, D, H)':<20} {'fast ms':>9} {'torch ms':>9} " \
             f"{'ratio':>6} {'target':>7}      {'ref ms':>9} {'ref ratio':>9}"
    print(header)
    print("-" * len(header))
    if threadpool_limits is None:
        print("warning: threadpoolctl is not installed, so NumPy's BLAS uses "
              f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')} threads")
    limits = (threadpool_limits(limits=args.threads) if threadpool_limits is not None
              else contextlib.nullcontext())
    with limits, torch.no_grad():
        for size in args.sizes:
            N, T, D, H = SIZES[size]
            x = rng.standard_normal((N, T, D)).astype(np.float32)
            h0 = rng.standard_normal((N, H)).astype(np.float32)
            dh = rng.standard_normal((N, T, H)).astype(np.float32)
            for cell in args.cells:
                module = getattr(torch.nn, cell)(D, H, batch_first=True)
                run_numpy = numpy_case(cell, module, x, h0, dh)
                run_torch = torch_case(cell, module, x, h0, dh)
                numpy_ms = torch_ms = float("inf")
                for _ in range(args.rounds):  # blocks alternate: a slow spell hits both
                    numpy_ms = min(numpy_ms, best_time(run_numpy, args.repeats, clock) * 1e3)
                    with torch.enable_grad():
                        torch_ms = min(torch_ms, best_time(run_torch, args.repeats, clock) * 1e3)
                ratio = numpy_ms / torch_ms
                target = TARGETS[(cell, size)]
                flag = "ok" if ratio <= target else "MISS"
                line = (f"{cell:<5} {size:<6} {str((N, T, D, H)):<20} {numpy_ms:9.1f} "
                        f"{torch_ms:9.1f} {ratio:6.2f} {'<=' + str(target):>5} {flag:<4}")
                if not args.no_reference:  # one block: it has no target, only a ratio to show
                    run_reference = numpy_case(cell, module, x, h0, dh, reference)
                    reference_ms = best_time(run_reference, args.repeats, clock) * 1e3
                    line += f"  {reference_ms:9.1f} {reference_ms / torch_ms:9.2f}"
                print(line)
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    print(f"load average after: {load:.2f} (on {cores} cores)")
    if args.clock == "wall" and load > cores / 2:
        print("warning: the machine was busy; wall-clock times of threaded code are unreliable "
              "here (rerun when quiet, or compare with --threads 1 --clock cpu)")


if __name__ == "__main__":
    main()
