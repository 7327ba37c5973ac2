"""Training-step speed of minirnn.torch.LSTM (fused and step-by-step) against torch.nn.LSTM.

One training step = forward over the whole sequence + backward of a scalar loss, float32, CPU,
batch-first input (N, T, D). Each implementation is timed in its own block of repeats (never
interleaved call by call) and compared on its best time; all use the same thread count.

    python benchmarks/bench_torch.py                 # both sizes, 2 threads, wall clock
    python benchmarks/bench_torch.py --threads 1 --clock cpu --sizes small
    python benchmarks/bench_torch.py --modes LSTM GRU RNN  # GRU and RNN for information

Targets for the fused path: <= 1.2x torch.nn.LSTM at the large size, <= 2.0x at the small.
torch.nn.LSTM runs float32 training on the CPU through oneDNN's fused kernel (torch.nn.GRU and
RNN have none). Timings on a shared machine are noisy: the load average is printed with the
table. With 2 threads on a loaded machine, every parallel region waits for a busy core and the
wall-clock ratios swing widely; ``--threads 1 --clock cpu`` (process CPU time) is the
load-robust comparison.
"""

from __future__ import annotations

import argparse
import os
import time

import torch

import minirnn.torch as mt

SIZES = {"large": (64, 128, 256, 512), "small": (32, 64, 64, 128)}  # (N, T, D, H)


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def time_training_step(model: torch.nn.Module, x: torch.Tensor, repeats: int, warmup: int,
                       clock=time.perf_counter) -> float:
    """Best time (s) of forward + backward of ``model`` on ``x`` over ``repeats`` runs.

    clock: time.perf_counter (wall) or time.process_time (CPU time of the whole process: on a
    shared machine with one thread it leaves out the time other processes took the core).
    """

    def step() -> None:
        out, _ = model(x)
        out.sum().backward()

    for _ in range(warmup):
        step()
    best = float("inf")
    for _ in range(repeats):
        model.zero_grad(set_to_none=True)
        x.grad = None
        start = clock()
        step()
        best = min(best, clock() - start)
    return best


def bench_size(mode: str, n: int, t: int, d: int, h: int, repeats: int, warmup: int,
               rounds: int, clock) -> dict:
    """Best time of each implementation of ``mode`` (LSTM, GRU or RNN). Each round times every
    implementation in its own block of ``repeats`` consecutive runs; the best over all rounds
    counts."""
    torch.manual_seed(0)
    reference = getattr(torch.nn, mode)(d, h, batch_first=True)
    fused = getattr(mt, mode)(d, h, batch_first=True, impl="fused")
    steps = getattr(mt, mode)(d, h, batch_first=True, impl="steps")
    fused.load_state_dict(reference.state_dict())
    steps.load_state_dict(reference.state_dict())
    x = torch.randn(n, t, d, requires_grad=True)  # as if it came from an embedding layer

    models = {f"torch.nn.{mode}": reference, "minirnn fused": fused, "minirnn steps": steps}
    times = dict.fromkeys(models, float("inf"))
    for _ in range(rounds):
        for label, model in models.items():  # its own block of repeats
            times[label] = min(times[label], time_training_step(model, x, repeats, warmup, clock))
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch threads for every run")
    parser.add_argument("--repeats", type=int, default=0, help="timed runs (0: 5 large, 20 small)")
    parser.add_argument("--rounds", type=int, default=2, help="blocks per implementation")
    parser.add_argument("--sizes", nargs="+", choices=sorted(SIZES), default=["large", "small"])
    parser.add_argument("--modes", nargs="+", choices=["LSTM", "GRU", "RNN"], default=["LSTM"],
                        help="LSTM is the one with targets; GRU and RNN for information")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time, or process CPU time (load-robust with --threads 1)")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)  # NumPy is not used in the timed code
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"mkldnn {torch.backends.mkldnn.is_available()}, {args.clock} clock, "
          f"load average {os.getloadavg()}")
    targets = {"large": 1.2, "small": 2.0}
    print(f"{'size (N,T,D,H)':<26}{'implementation':<16}{'best ms':>10}{'x torch.nn':>12}")
    for mode in args.modes:
        for name in args.sizes:
            n, t, d, h = SIZES[name]
            repeats = args.repeats or (5 if name == "large" else 20)
            times = bench_size(mode, n, t, d, h, repeats, 2, args.rounds, CLOCKS[args.clock])
            base = times[f"torch.nn.{mode}"]
            for label, seconds in times.items():
                print(f"{name + ' ' + str((n, t, d, h)):<26}{label:<16}{seconds * 1e3:>10.2f}"
                      f"{seconds / base:>11.2f}x")
            ratio = times["minirnn fused"] / base
            if mode == "LSTM":
                verdict = "meets" if ratio <= targets[name] else "misses"
                print(f"  fused / torch.nn = {ratio:.2f}x: {verdict} the {targets[name]}x target")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
