"""Stacked training versus the one-at-a-time loop, on the Figure 7 models.

For each design (late, pro) and each stack size N, trains N Figure 7 models
(``ModelSpec("latent", design, 8)``, fixed-steps protocol, float32, each model its own
latent-task instance) twice, side by side in one run: as stacks with
:func:`progfusion.models.training.train_stack`, and one at a time with
:func:`progfusion.models.reference.train_one` (a plain module, ``torch.optim.Adam`` and a
Python loop). It prints trainings per second both ways and their ratio, the stacked
trainer's time per model-step in microseconds (``us/step``: its wall time over N x steps,
so building, staging and the final evaluation included), and that time's ratio to the
matmul-only time of one step's products at the same shapes (``/matmul``: see
``matmul_floor.py``; 1.0 would mean nothing but matmuls). The last line is
``best ratio: <number>x``.

Run from the repository root::

    .venv/bin/python benchmarks/bench_trainer.py --n 64,256 --workers 1
    .venv/bin/python benchmarks/bench_trainer.py --n 64,256 --workers 2
    .venv/bin/python benchmarks/bench_trainer.py --device cuda --n 1024,4096 --naive-max 8

Timing rules: data are generated before the clock starts (once per model, in the process
that trains it); each process warms up both trainers first; ``--workers 1`` runs one
thread in this process; ``--workers 2`` starts one process per core, one thread each,
each training half the models (the stacked share in chunks of ``--chunk`` models), and
the one-at-a-time loop is split over the same processes, so the ratio compares like with
like; wall time runs from the moment every process is ready to the moment the last one
finishes. The loop is slow, so ``--naive-max`` caps how many models it actually trains;
its rate is then extrapolated (per-model time is the same for every model), and the
table says so. The column ``max rel diff`` compares the final test MSE of the models
trained both ways (float32 rounding, amplified by 300 Adam steps).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from queue import Empty

import torch
from matmul_floor import record_matmuls, time_matmuls  # this folder (run as a script)
from progfusion.experiments import LatentTask
from progfusion.models import ModelSpec
from progfusion.models.protocol import TrainConfig
from progfusion.models.reference import train_one
from progfusion.models.training import COMPILE_MODES, train_stack

ETA, SIGMA2 = 1.0, 0.5  # a mid-grid Figure 7 cell; the timing does not depend on them
N_TEST = 256  # test samples per model (the final evaluation is part of each training)
DATA_SEED0 = 10_000  # model i trains on the task instance with seed DATA_SEED0 + i


@dataclass(frozen=True)
class Settings:
    """What one measurement trains (picklable: it is sent to worker processes)."""

    design: str
    steps: int
    samples: int
    batch: int
    device: str
    chunk: int  # models per stack on one process (0: all of them in one stack)
    init: str = "factory"  # "hashed": per-seed initialisation computed on the device
    compile: str | None = None  # a torch.compile mode for the stacked step; None: eager

    @property
    def spec(self) -> ModelSpec:
        return ModelSpec("latent", self.design, 8)

    def chunks(self, n: int) -> list[int]:
        """The stack sizes that training ``n`` models stacked uses, in order."""
        size = self.chunk or n
        return [min(size, n - a) for a in range(0, n, size)]

    @property
    def config(self) -> TrainConfig:
        return TrainConfig(
            objective="regression",
            name="fixed-steps",
            batch_size=self.batch,
            max_steps=self.steps,
            eval_every=self.steps,
        )


def _data(settings: Settings, seeds: list[int]) -> list:
    return [
        LatentTask(n_train=settings.samples, n_val=0, n_test=N_TEST, eta=ETA, sigma2=SIGMA2).build(
            DATA_SEED0 + s
        )
        for s in seeds
    ]


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _warm_up(settings: Settings, data: list) -> None:
    """Run both trainers once, briefly, so that first-call costs stay off the clock.

    With ``--compile``, the stacked step is compiled here for every stack size the
    timed run uses (a new size recompiles once).
    """
    short = TrainConfig(name="fixed-steps", batch_size=settings.batch, max_steps=3)
    sizes = [2] if settings.compile is None else sorted(set(settings.chunks(len(data))))
    for size in sizes:
        train_stack(
            settings.spec.build,
            list(range(size)),
            data[:size],
            short,
            device=settings.device,
            init=settings.init,
            compile=settings.compile,
        )
    train_one(settings.spec.build, 0, data[0], short, device=settings.device, init=settings.init)
    _sync(settings.device)


def _train(settings: Settings, mode: str, seeds: list[int], data: list) -> list[float]:
    """Train ``seeds`` stacked or one at a time; return their final test MSEs."""
    spec, cfg, dev = settings.spec, settings.config, settings.device
    if mode == "naive":
        pairs = zip(seeds, data, strict=True)
        return [
            train_one(spec.build, s, d, cfg, device=dev, init=settings.init).test_metric
            for s, d in pairs
        ]
    metrics: list[float] = []
    a = 0
    for size in settings.chunks(len(seeds)):
        part = slice(a, a + size)
        results = train_stack(
            spec.build,
            seeds[part],
            data[part],
            cfg,
            device=dev,
            init=settings.init,
            compile=settings.compile,
        )
        metrics += [r.test_metric for r in results]
        a += size
    return metrics


def matmul_us(settings: Settings, data: list) -> float:
    """Microseconds of matmul work per model-step: the products of one training step of
    a stack of ``len(data)`` models (those of a 2-step run minus a 1-step run, so the
    final evaluation cancels), timed alone, over the stack size."""

    def run(steps: int) -> None:
        cfg = TrainConfig(name="fixed-steps", batch_size=settings.batch, max_steps=steps)
        seeds = list(range(len(data)))
        train_stack(settings.spec.build, seeds, data, cfg, device=settings.device)

    step_calls = record_matmuls(lambda: run(2))
    step_calls.subtract(record_matmuls(lambda: run(1)))
    step_calls = +step_calls  # drop the zero counts
    return time_matmuls(step_calls, device=settings.device) / len(data) * 1e6


def _worker(settings, mode, seeds, barrier, queue) -> None:
    """One process: one thread, its own data, warm-up, then the timed training."""
    torch.set_num_threads(1)
    data = _data(settings, seeds)
    _warm_up(settings, data)
    barrier.wait()
    start = time.perf_counter()  # CLOCK_MONOTONIC: comparable across processes
    metrics = _train(settings, mode, seeds, data)
    _sync(settings.device)
    queue.put((seeds, start, time.perf_counter(), metrics))


def measure(settings: Settings, mode: str, seeds: list[int], workers: int) -> tuple[float, dict]:
    """Wall seconds to train ``seeds`` (``mode``: "stacked" or "naive"), and their metrics."""
    if workers == 1:
        data = _data(settings, seeds)
        _warm_up(settings, data)
        start = time.perf_counter()
        metrics = _train(settings, mode, seeds, data)
        _sync(settings.device)
        return time.perf_counter() - start, dict(zip(seeds, metrics, strict=True))
    ctx = mp.get_context("spawn")  # no fork after OpenMP has started threads
    shares = [seeds[i::workers] for i in range(workers)]
    barrier, queue = ctx.Barrier(workers), ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(settings, mode, share, barrier, queue))
        for share in shares
    ]
    for p in procs:
        p.start()
    outs = []
    while len(outs) < len(procs):
        try:
            outs.append(queue.get(timeout=1.0))
        except Empty:
            if any(p.exitcode for p in procs):  # a worker died: do not wait for it
                for p in procs:
                    p.kill()
                raise RuntimeError("a benchmark worker failed (see its traceback above)") from None
    for p in procs:
        p.join()
        if p.exitcode:
            raise RuntimeError(f"a benchmark worker exited with code {p.exitcode}")
    wall = max(o[2] for o in outs) - min(o[1] for o in outs)
    metrics = {s: m for o in outs for s, m in zip(o[0], o[3], strict=True)}
    return wall, metrics


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ints(text: str) -> list[int]:
    values = [int(v) for v in text.split(",") if v.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers like 8,64,256, got {text!r}")
    return values


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--n", type=_ints, default=[8, 64, 256], help="stack sizes, e.g. 8,64,256")
    p.add_argument("--steps", type=int, default=300, help="Adam steps per model")
    p.add_argument("--samples", type=int, default=2048, help="training samples per model")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--workers", type=int, default=1, choices=[1, 2], help="processes (CPU)")
    p.add_argument("--designs", default="late,pro", help="comma-separated: late,pro")
    p.add_argument("--naive-max", type=int, default=16, help="models the loop really trains")
    p.add_argument(
        "--chunk", type=int, default=None, help="models per stack (default 256 CPU, 0=all CUDA)"
    )
    p.add_argument(
        "--init",
        default="factory",
        choices=["factory", "hashed"],
        help="model initialisation (hashed: computed for all models on the device)",
    )
    p.add_argument(
        "--compile",
        metavar="MODE",
        choices=COMPILE_MODES,
        help="torch.compile mode of the stacked step (default: eager; compiled in the warm-up)",
    )
    p.add_argument("--quick", action="store_true", help="tiny settings, for a smoke test")
    p.add_argument("--out", default=None, help="also write a JSON run record here")
    args = p.parse_args(argv)
    if args.quick:
        args.n, args.steps, args.samples, args.batch, args.naive_max = [4, 16], 30, 256, 64, 2
    args.designs = [d.strip() for d in args.designs.split(",") if d.strip()]
    if not set(args.designs) <= {"late", "pro"}:
        p.error(f"--designs: choose from late,pro, got {args.designs}")
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: no CUDA device is available")
    if args.device == "cuda" and args.workers != 1:
        p.error("--workers 2 is for the CPU; a GPU is one worker")
    if args.naive_max < 1 or args.steps < 1 or args.batch > args.samples:
        p.error("need --naive-max >= 1, --steps >= 1 and --batch <= --samples")
    if args.chunk is None:
        args.chunk = 0 if args.device == "cuda" else 256
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    torch.set_num_threads(1)  # single-core numbers (workers set their own)
    device_name = torch.cuda.get_device_name() if args.device == "cuda" else _cpu_name()
    print(
        f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC | torch {torch.__version__} | "
        f"{args.device}: {device_name} | {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f} | "
        f"workers {args.workers} x 1 thread | {args.steps} steps, batch {args.batch}, "
        f"{args.samples} samples, float32, chunk {args.chunk or 'all'}, init {args.init}, "
        f"compile {args.compile or 'off'}"
    )
    header = f"{'design':<6} {'N':>6} {'stacked/s':>10} {'one-at-a-time/s':>16} {'ratio':>7}"
    print(header + f"  {'us/step':>7} {'/matmul':>7}  naive trained   max rel diff")
    rows, best = [], 0.0
    for design in args.designs:
        for n in args.n:
            settings = Settings(
                design,
                args.steps,
                args.samples,
                args.batch,
                args.device,
                args.chunk,
                args.init,
                args.compile,
            )
            seeds = list(range(n))
            naive_seeds = seeds[: max(args.workers, min(n, args.naive_max))]
            t_stack, m_stack = measure(settings, "stacked", seeds, args.workers)
            t_naive, m_naive = measure(settings, "naive", naive_seeds, args.workers)
            rate_stack, rate_naive = n / t_stack, len(naive_seeds) / t_naive
            ratio = rate_stack / rate_naive
            step_us = t_stack * args.workers / (n * args.steps) * 1e6  # per core
            stack_size = min(n, args.chunk or n)
            floor_us = matmul_us(settings, _data(settings, list(range(stack_size))))
            diff = max(abs(m_stack[s] - m_naive[s]) / abs(m_naive[s]) for s in naive_seeds)
            note = f"{len(naive_seeds)} of {n}" + (" (extrap.)" if len(naive_seeds) < n else "")
            print(
                f"{design:<6} {n:>6} {rate_stack:>10.1f} {rate_naive:>16.2f} {ratio:>6.1f}x"
                f"  {step_us:>7.1f} {step_us / floor_us:>6.1f}x  {note:<15} {diff:.1e}",
                flush=True,
            )
            best = max(best, ratio)
            rows.append(
                dict(
                    design=design,
                    n=n,
                    stacked_per_s=rate_stack,
                    naive_per_s=rate_naive,
                    ratio=ratio,
                    us_per_model_step=step_us,
                    matmul_us_per_model_step=floor_us,
                    naive_trained=len(naive_seeds),
                    stacked_seconds=t_stack,
                    naive_seconds=t_naive,
                    max_rel_diff=diff,
                    nonfinite=sum(not math.isfinite(v) for v in m_stack.values()),
                )
            )
    if args.out:
        record = dict(
            argv=sys.argv,
            args={k: v for k, v in vars(args).items()},
            settings=asdict(settings),
            torch=torch.__version__,
            python=platform.python_version(),
            device=device_name,
            cpus=os.cpu_count(),
            rows=rows,
        )
        with open(args.out, "w") as f:
            json.dump(record, f, indent=2)
    print(f"best ratio: {best:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
