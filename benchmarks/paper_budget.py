"""Where the paper preset's time goes: its wall time modelled from its own tables.

Every stack that ``progfusion figures --preset paper`` trains (the shards of each
study at ``--chunk``) takes, in this model,

    a x (the steps of its longest-training model) + b x (its model-steps)

where ``a`` is the time of one training step of a stack of one model (what a step
costs whatever the stack's size: Python, dispatch, small operators) and ``b`` what
each further model adds to a step, from a full stack (``--chunk`` models, or the
figure's trials). Both are measured here, per architecture and task, on fixed-steps
stacks, one thread; the steps each model took come from the published tables
(``docs/results/<table>.csv.gz``, or ``--tables DIR``). The stacks are then put on
``--workers`` workers in the order the sweep submits them (list scheduling), which
gives a modelled wall time per figure. Two lower bounds come with it: without the
per-step cost ``a`` (every stack always full), and the matrix products alone (``m``:
the step's matmuls timed alone, :mod:`matmul_floor`). Not modelled: evaluations,
data generation, staging (compare with the measured wall time in ``run.json``).

Run from the repository root (about 5 minutes; the machine should be idle)::

    .venv/bin/python benchmarks/paper_budget.py
    .venv/bin/python benchmarks/paper_budget.py --tables /path/to/run-folder --workers 2
"""

from __future__ import annotations

import argparse
import heapq
import json
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import torch
from progfusion.experiments.jobs import Job, study_jobs
from progfusion.experiments.run import Shard, _stack_key, make_shards
from progfusion.figures.presets import Preset
from progfusion.models.training import train_stack

sys.path.insert(0, str(Path(__file__).parent))
from matmul_floor import record_matmuls, time_matmuls  # noqa: E402

TARGET_MIN = 30.0  # issue 17: all three figures within 30 minutes on 2 cores


@dataclass(frozen=True)
class Costs:
    """Seconds: ``a`` per step, ``b`` per further model in a step, ``m`` matmuls per model-step."""

    a: float
    b: float
    m: float


def _fixed(job: Job, steps: int):
    """The job's protocol as ``steps`` fixed steps: no evaluations, records or noise."""
    return replace(
        job.config, name="fixed-steps", max_steps=steps, eval_every=steps,
        record_steps=(), noise_levels=(),
    )  # fmt: skip


def _step_seconds(job: Job, data: list, n: int, steps: int) -> float:
    """Seconds per fixed-steps training step of a stack of ``n`` (best of two runs;
    the staging and the final evaluation cancel out against a 10-step run)."""
    config = _fixed(job, steps)
    short = _fixed(job, 10)
    build, seeds = job.model.build, list(range(n))
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        train_stack(build, seeds, data[:n], short)
        mid = time.perf_counter()
        train_stack(build, seeds, data[:n], config)
        best = min(best, (time.perf_counter() - mid - (mid - start)) / (steps - 10))
    return best


def _matmul_seconds(job: Job, data: list, n: int) -> float:
    """The matmul-only time of one training step of a stack of ``n``, per model."""
    seeds = list(range(n))

    def run(steps: int):
        return record_matmuls(
            lambda: train_stack(job.model.build, seeds, data[:n], _fixed(job, steps))
        )

    return time_matmuls(run(2) - run(1), repeat=10) / n


def measure(shards: list[Shard], steps: int) -> dict[tuple, Costs]:
    """``Costs`` of every (architecture, data shape) the shards train, at its largest stack."""
    largest: dict[tuple, Shard] = {}
    for shard in shards:
        key = _key(shard)
        if key not in largest or len(shard.jobs) > len(largest[key].jobs):
            largest[key] = shard
    costs, built = {}, {}
    for key, shard in largest.items():
        job, n = shard.jobs[0], len(shard.jobs)
        recipes = tuple(j.data for j in shard.jobs)
        if recipes not in built:  # Figure 4's architectures share one task's data
            built[recipes] = [r.build() for r in recipes]
        data = built[recipes]
        a = _step_seconds(job, data, 1, steps * 2)
        full = _step_seconds(job, data, n, steps)
        b = max(full - a, 0.0) / max(n - 1, 1)
        costs[key] = Costs(a=a, b=b, m=_matmul_seconds(job, data, n))
        print(f"  {_name(job)}: a {a * 1e3:.2f} ms, b {costs[key].b * 1e6:.1f} us, "
              f"m {costs[key].m * 1e6:.1f} us (N = {n})", file=sys.stderr, flush=True)  # fmt: skip
    return costs


def _key(shard: Shard) -> tuple:
    """What sets a stack's step cost: its architecture and the shape of its data."""
    return shard.jobs[0].model, _stack_key(shard.jobs[0].data.task)


def _name(job: Job) -> str:
    params = dict(job.model.params)
    return f"{job.model.design} width {params.get('width')} head {params.get('head_hidden', 0)}"


def _schedule(durations: list[float], workers: int) -> float:
    """Wall time of tasks taken in order by the first free of ``workers``."""
    free = [0.0] * workers
    for d in durations:
        heapq.heappush(free, heapq.heappop(free) + d)
    return max(free)


def budget(name: str, shards: list[Shard], table: pd.DataFrame, costs, workers: int) -> dict:
    """Core-seconds of each term, and the modelled wall times, for one table."""
    steps = table.set_index("job_id")["steps"]
    terms = {"a": 0.0, "b": 0.0, "m": 0.0}
    durations, durations_if_full = [], []
    for shard in shards:
        c = costs[_key(shard)]
        taken = steps.loc[[j.job_id for j in shard.jobs]]
        # each step costs a (its first model) + b per further model still training
        overhead, per_model = c.a * taken.max(), c.b * (taken.sum() - taken.max())
        terms["a"] += overhead
        terms["b"] += per_model
        terms["m"] += c.m * taken.sum()
        durations.append(overhead + per_model)
        durations_if_full.append((c.a / len(taken) + c.b) * taken.sum())
    return {
        "table": name,
        "stacks": len(shards),
        "model_steps": int(steps.sum()),
        "core_s": terms,
        "wall_min": _schedule(durations, workers) / 60,
        "always_full_min": _schedule(durations_if_full, workers) / 60,
        "matmul_min": terms["m"] / workers / 60,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tables", type=Path, default=Path("docs/results"))
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--chunk", type=int, default=128)
    p.add_argument("--steps", type=int, default=60, help="timed steps per full stack")
    p.add_argument("--out", type=Path, help="write the results as JSON")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for name, study in Preset("paper").studies().items():
        path = next(iter(sorted(args.tables.glob(f"{name}.csv*"))), None)
        if path is None:
            print(f"{name}: no table in {args.tables}, skipped", file=sys.stderr)
            continue
        shards = make_shards(study_jobs(study), chunk=args.chunk, device="cpu")
        print(f"{name}: {len(shards)} stacks", file=sys.stderr)
        costs = measure(shards, args.steps)
        rows.append(budget(name, shards, pd.read_csv(path), costs, args.workers))
    print(f"\nmodelled on {args.workers} workers (minutes; training steps only):")
    print(f"{'table':<10} {'stacks':>6} {'model-steps':>12} {'a-term':>7} {'b-term':>7} "
          f"{'wall':>6} {'full':>6} {'matmul':>7}")  # fmt: skip
    for r in rows:
        core = r["core_s"]
        print(f"{r['table']:<10} {r['stacks']:>6} {r['model_steps']:>12,} "
              f"{core['a'] / 60:>7.1f} {core['b'] / 60:>7.1f} {r['wall_min']:>6.1f} "
              f"{r['always_full_min']:>6.1f} {r['matmul_min']:>7.1f}")  # fmt: skip
    total = {k: sum(r[k] for r in rows) for k in ("wall_min", "always_full_min", "matmul_min")}
    print(f"{'all':<10} {'':>6} {'':>12} {'':>7} {'':>7} {total['wall_min']:>6.1f} "
          f"{total['always_full_min']:>6.1f} {total['matmul_min']:>7.1f}")  # fmt: skip
    print(f"target: {TARGET_MIN:.0f} min (a-term, b-term: core-minutes)")
    if args.out:
        args.out.write_text(json.dumps({"workers": args.workers, "tables": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
