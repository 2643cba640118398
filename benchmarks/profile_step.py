"""Where a stacked training step's time goes, by kind of work, at the figures' stack sizes.

For each case (a design, a stack size and the task of the figure that trains such
stacks), trains one stack for ``--steps`` fixed steps under :mod:`torch.profiler` (one
thread), after a warm-up, and prints each kind of work's share of the wall time and
its microseconds per model-step. Kinds are sums of the aten operators' self times;
"Python and dispatch" is the steps' time that no operator accounts for (the training
loop, the minibatch order in numpy, operator dispatch, and the profiler's own
overhead). Shares come from the profiled run and are applied to the wall time of the
same steps run without the profiler. Only the training steps count: not the staging
of the data nor the evaluations.

Cases: ``fig7-late``, ``fig7-pro`` (Figures 7 and 8: the latent task with 16,384
training samples, h = 8, stacks of up to ``--chunk`` = 256 models) and ``fig4-<design>-<d>``
(Figure 4, panel (a): the lattice task with 20,000 samples, stacks of its 30 trials).
Run from the repository root::

    .venv/bin/python benchmarks/profile_step.py
    .venv/bin/python benchmarks/profile_step.py --cases fig7-late,fig4-pro-8 --steps 100
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from functools import partial

import torch
from progfusion.experiments import LatentTask, LatticeTask, designs
from progfusion.models import training
from progfusion.models.protocol import TrainConfig
from progfusion.models.training import train_stack
from torch.profiler import ProfilerActivity, profile, record_function

STEP = "progfusion::train_step"  # the profiler's label of one training step
OTHER = "Python and dispatch"  # the steps' time outside every operator

#: aten operators by kind of work (anything else counts as "other operators")
KINDS = {
    "matmul": ("bmm", "baddbmm", "mm", "addmm"),
    "minibatch gather": ("index_select",),
    "loss": ("log_softmax", "nll_loss", "nll_loss2d", "mse_loss"),
    "Adam": ("foreach_", "fused_adam", "lerp", "addcmul", "addcdiv", "sqrt"),
    "activation": ("relu", "clamp_min", "threshold_backward"),
}
FIG4 = {"depth": 1, "head_hidden": 0}
PRO = {"R": 2, "p": 16, "context": "concat"}


def _kind(op: str) -> str:
    name = op.removeprefix("aten::").strip("_")
    for kind, prefixes in KINDS.items():
        if any(name.startswith(p) for p in prefixes):
            return kind
    return "other operators"


def case(name: str) -> tuple[partial, list, TrainConfig]:
    """The factory, per-model data and protocol of a case (see the module docstring)."""
    parts = name.split("-")
    if parts[0] == "fig7":
        task, n_models = LatentTask(n_train=16_384, n_val=0, n_test=256), 256
        params = {"width": 8, "depth": 2, **(PRO if parts[1] == "pro" else {})}
        objective = "regression"
    elif parts[0] == "fig4":
        task, n_models = LatticeTask(n_train=20_000, n_val=0, n_test=256), 30
        params = {**FIG4, "width": int(parts[2]), **(PRO if parts[1] == "pro" else {})}
        objective = "classification"
    else:
        raise ValueError(f"case must be fig7-<design> or fig4-<design>-<width>, got {name!r}")
    data = [task.build(seed) for seed in range(n_models)]
    dims = tuple(x.shape[1] for x in data[0].train.inputs)
    factory = partial(getattr(designs, parts[1]), dims, task.output_dim, **params)
    config = TrainConfig(objective=objective, name="fixed-steps", eval_every=10**9)
    return factory, data, config


@contextmanager
def _around_steps(wrap):
    """Run every training step of :func:`train_stack` inside ``wrap()`` (a context)."""
    original = training._train_step

    def step(*args, **kwargs):
        with wrap():
            return original(*args, **kwargs)

    training._train_step = step
    try:
        yield
    finally:
        training._train_step = original


def _under_steps(event) -> bool:
    parent = event.cpu_parent
    while parent is not None:
        if parent.name == STEP:
            return True
        parent = parent.cpu_parent
    return False


def shares(name: str, steps: int) -> tuple[int, float, dict[str, float]]:
    """Stack size, wall seconds per step (unprofiled), and that time split by kind of
    work in the shares a profiled run gives (the training steps only: not the staging
    of the data nor the evaluations)."""
    factory, data, config = case(name)
    seeds = list(range(len(data)))
    cfg = TrainConfig(objective=config.objective, name="fixed-steps", max_steps=steps)
    train_stack(factory, seeds[:2], data[:2], replace(cfg, max_steps=3))  # warm-up
    clocks = {"plain": 0.0, "profiled": 0.0}

    def timed(clock: str, inner=nullcontext):
        @contextmanager
        def wrap():
            start = time.perf_counter()
            with inner():
                yield
            clocks[clock] += time.perf_counter() - start

        return wrap

    with _around_steps(timed("plain")):
        train_stack(factory, seeds, data, cfg)
    with _around_steps(timed("profiled", lambda: record_function(STEP))):
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            train_stack(factory, seeds, data, cfg)
    by_kind: dict[str, float] = defaultdict(float)
    others: dict[str, float] = defaultdict(float)
    for event in prof.events():
        if event.name.startswith("aten::") and _under_steps(event):
            by_kind[_kind(event.name)] += event.self_cpu_time_total / 1e6
            if _kind(event.name) == "other operators":
                others[event.name.removeprefix("aten::")] += event.self_cpu_time_total
    print(f"{name}: the other operators, largest first: " + ", ".join(
        sorted(others, key=others.get, reverse=True)[:6]))  # fmt: skip
    profiled = clocks["profiled"]
    by_kind[OTHER] = max(profiled - sum(by_kind.values()), 0.0)
    step_s = clocks["plain"] / steps
    return len(data), step_s, {k: step_s * v / profiled for k, v in by_kind.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", default="fig7-late,fig7-pro,fig4-late-8,fig4-pro-8,fig4-pro-128")
    p.add_argument("--steps", type=int, default=200, help="profiled steps per case")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    for name in args.cases.split(","):
        n_models, step_s, per_step = shares(name, args.steps)
        print(f"\n{name}: N = {n_models}, {step_s * 1e3:.2f} ms per step "
              f"{step_s / n_models * 1e6:.1f} us per model-step")  # fmt: skip
        for kind, seconds in sorted(per_step.items(), key=lambda kv: -kv[1]):
            share = 100 * seconds / step_s
            print(f"  {kind:<20} {share:5.1f}%  {seconds / n_models * 1e6:7.1f} us/model-step")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
