"""How far two runs' tables differ: per model, and in what the figures show.

For two output folders of ``progfusion figures`` (the same preset and seed, e.g. before
and after a change that rounds differently, or on two machines), prints per table how
many models' test metric differ, the largest and median difference, how many stopped
at another step; for Figure 4 the largest difference of a plotted mean (panel, width,
design) against its standard error, for Figure 7 both runs' mean improvement and win
fraction::

    .venv/bin/python benchmarks/compare_tables.py OLD_OUT NEW_OUT
"""

import sys
from pathlib import Path

import pandas as pd
from progfusion.experiments.analysis import improvement_summary, pairs

if len(sys.argv) != 3:
    raise SystemExit("usage: compare_tables.py OLD_OUT NEW_OUT")
old, new = Path(sys.argv[1]), Path(sys.argv[2])
for name, metric in (
    ("figure4", "test_accuracy"),
    ("figure7", "test_mse"),
    ("figure7b", "test_mse"),
):
    a = pd.read_csv(old / f"{name}.csv").sort_values("job_id").reset_index(drop=True)
    b = pd.read_csv(new / f"{name}.csv").sort_values("job_id").reset_index(drop=True)
    assert list(a.job_id) == list(b.job_id)
    d = (a[metric] - b[metric]).abs()
    print(
        f"{name}: {metric} differs in {(d > 0).sum()}/{len(a)} models, max abs {d.max():.4g}, "
        f"median abs {d[d > 0].median():.3g}; steps differ in {(a.steps != b.steps).sum()}"
    )
    if name == "figure4":
        ga = a.groupby(["panel", "width", "design"])[metric].agg(["mean", "sem"])
        gb = b.groupby(["panel", "width", "design"])[metric].mean()
        diff = (ga["mean"] - gb).abs()
        print(
            f"  plotted means (panel, width, design): max abs difference {diff.max():.4f} "
            f"at {diff.idxmax()}, against a standard error there of {ga['sem'][diff.idxmax()]:.4f}"
        )
    if name == "figure7":
        for label, t in (("old", a), ("new", b)):
            p = pairs(t, "test_mse", ["eta", "sigma2", "trial"])
            s = improvement_summary(p["test_mse_late"].to_numpy(), p["test_mse_pro"].to_numpy())
            print(
                f"  {label}: mean improvement {s.mean_improvement:+.3f}% "
                f"[{s.ci_low:+.3f}, {s.ci_high:+.3f}], "
                f"pro wins {100 * s.win_fraction:.1f}% of {s.n_pairs}"
            )
