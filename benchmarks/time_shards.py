"""Time shards of a preset's table one after another in one process, as a worker does.

What a pool worker of ``progfusion figures`` does with the shards it is handed:
``run_shard`` for each, in turn, in one process with one thread (building each task
instance, staging, training with evaluations, reporting). Prints each shard's
seconds and the total, and with ``--rows FILE`` pickles every shard's table rows, so
that two versions of the package can be compared on the same shards, rows and time:

    .venv/bin/python benchmarks/time_shards.py --table figure4 --list
    .venv/bin/python benchmarks/time_shards.py --table figure4 --shards 40,33,34,27 --rows new.pkl
    git worktree add /tmp/base HEAD~1 && mkdir -p /tmp/basepath \\
        && ln -sfn /tmp/base /tmp/basepath/progfusion
    PYTHONPATH=/tmp/basepath .venv/bin/python benchmarks/time_shards.py \\
        --table figure4 --shards 40,33,34,27 --rows base.pkl --same-as new.pkl

(``PYTHONPATH`` takes precedence over the editable install, so the second command
runs the other checkout's package with this script.) Shard numbers are positions in
the submission order (:func:`~progfusion.experiments.run.make_shards`: largest work
first); ``--list`` prints them with each shard's first job and model count.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

import torch
from progfusion.experiments.jobs import study_jobs
from progfusion.experiments.run import Shard, make_shards, run_shard
from progfusion.figures.presets import Preset


def shards_of(table: str, preset: str, chunk: int) -> list[Shard]:
    """The shards ``progfusion figures --preset <preset>`` submits for ``table``."""
    studies = Preset(preset).studies()
    if table not in studies:
        raise SystemExit(f"--table must be one of {', '.join(studies)}, got {table!r}")
    return make_shards(study_jobs(studies[table]), chunk=chunk, device="cpu")


def time_in_turn(shards: list[Shard]) -> tuple[list[float], list[list[dict]]]:
    """Seconds and table rows of each shard, run in turn in this process."""
    seconds, rows = [], []
    for shard in shards:
        start = time.perf_counter()
        rows.append(run_shard(shard))
        seconds.append(time.perf_counter() - start)
    return seconds, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default="figure4", help="figure4, figure7 or figure7b")
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--chunk", type=int, default=128, help="as progfusion's --chunk")
    parser.add_argument("--list", action="store_true", help="list the shards and stop")
    parser.add_argument("--shards", default="0", help="comma-separated shard numbers")
    parser.add_argument("--rows", type=Path, help="pickle the rows here")
    parser.add_argument("--same-as", type=Path, help="a --rows file these rows must equal")
    args = parser.parse_args(argv)
    shards = shards_of(args.table, args.preset, args.chunk)
    if args.list:
        for i, shard in enumerate(shards):
            print(f"{i:3d}  {len(shard.jobs):4d} models  {shard.jobs[0].job_id}")
        return 0
    picked = [int(s) for s in args.shards.split(",")]
    if not all(0 <= i < len(shards) for i in picked):
        raise SystemExit(f"--shards must lie in 0..{len(shards) - 1}, got {args.shards}")
    torch.set_num_threads(1)
    seconds, rows = time_in_turn([shards[i] for i in picked])
    for i, s in zip(picked, seconds, strict=True):
        print(f"shard {i:3d}  {s:8.2f} s  {shards[i].jobs[0].job_id}")
    print(f"total      {sum(seconds):8.2f} s  ({len(picked)} shards, torch {torch.__version__})")
    if args.rows:
        args.rows.write_bytes(pickle.dumps(rows))
    if args.same_as:
        same = pickle.loads(args.same_as.read_bytes()) == rows
        print(f"rows equal to {args.same_as}: {same}")
        return 0 if same else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
