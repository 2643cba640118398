"""Moving N models' data onto the training device: ``stack_splits`` against the naive way.

The naive way is ``torch.stack(rows).to(device, dtype)`` per tensor: a full-size stacked
copy in fresh host memory, then one transfer. :func:`progfusion.models.data.stack_splits`
writes the rows straight into the result on a CPU (so there the two should tie), and for
CUDA stages them through two reused pinned buffers with asynchronous copies. The data
are shaped like the Figure 7 benchmark's training split (two modalities of 16 features
and one target per sample, float32). Prints seconds per stacking both ways and their
ratio; the last line is ``best ratio: <number>x``.

Run from the repository root::

    .venv/bin/python benchmarks/bench_staging.py --n 1024,4096
    .venv/bin/python benchmarks/bench_staging.py --device cuda --n 1024,4096
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from progfusion.models.data import Split, stack_splits


def _splits(n_models: int, samples: int) -> list[Split]:
    gen = torch.Generator().manual_seed(0)
    return [
        Split.of(
            [torch.randn(samples, 16, generator=gen), torch.randn(samples, 16, generator=gen)],
            torch.randn(samples, 1, generator=gen),
        )
        for _ in range(n_models)
    ]


def _naive(splits: list[Split], device: torch.device) -> tuple:
    inputs = tuple(
        torch.stack([s.inputs[i] for s in splits]).to(device=device, dtype=torch.float32)
        for i in range(len(splits[0].inputs))
    )
    return inputs, torch.stack([s.target for s in splits]).to(device=device)


def _staged(splits: list[Split], device: torch.device) -> Split:
    return stack_splits(splits, device=device, dtype=torch.float32)


def _time(fn, splits, device, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn(splits, device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        del out
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--n", default="1024,4096", help="models, e.g. 1024,4096")
    p.add_argument("--samples", type=int, default=2048)
    p.add_argument("--repeat", type=int, default=5, help="timed repetitions (median)")
    args = p.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: no CUDA device is available")
    device = torch.device(args.device)
    name = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
    print(f"# torch {torch.__version__} | {name} | {args.samples} samples x 33 floats per model")
    print(f"{'N':>6} {'naive s':>9} {'stack_splits s':>15} {'ratio':>7}")
    best = 0.0
    for n in (int(v) for v in args.n.split(",")):
        splits = _splits(n, args.samples)
        _staged(splits[:8], device)  # warm-up: first-call costs off the clock
        _naive(splits[:8], device)
        t_naive = _time(_naive, splits, device, args.repeat)
        t_staged = _time(_staged, splits, device, args.repeat)
        best = max(best, t_naive / t_staged)
        print(f"{n:>6} {t_naive:>9.3f} {t_staged:>15.3f} {t_naive / t_staged:>6.2f}x", flush=True)
    print(f"best ratio: {best:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
