"""Published numbers and images, regenerated from committed result tables (issue 12, item 7).

``progfusion report --publish DIR`` copies a run's tables into ``DIR`` (normally
``docs/results``) as ``<table>.csv.gz`` with its ``run.json``. Then, and whenever
``--readme`` or ``--paper-report`` is given, :func:`refresh` works from the
published tables alone (no training): it draws the images into the same folder
(``figure4.png``, ``figure7.png``, ``figure8.png``, and ``gap.png`` when gap
tables are published; :func:`.redraw.draw_tables`), so an image can never disagree
with the tables beside it, and rewrites the generated blocks: the README's
figures block (between ``<!-- figures:start -->`` and ``<!-- figures:end -->``:
what the figures show, beside the paper) and headline block (``report-headline``
markers: the empirical claims with their verdicts), and the paper report's
(:mod:`.paper_report`). :func:`check_readme` names every README block that differs
from what the tables give, so a hand edit of a number fails a test.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from progfusion.experiments.analysis import (
    improvement_summary,
    pairs,
    robustness_pairs,
    steps_summary,
    width_summary,
)
from progfusion.experiments.metrics import summarise
from progfusion.experiments.seeds import BOOTSTRAP_SEED

from .blocks import check_file, require_markers, rewrite_file
from .gap import FACTORS
from .gap_table import answer, gap_form, settings_table
from .paper_report import MARKERS, update_paper_report
from .redraw import draw_tables
from .report import _claims_table
from .verdicts import figure4_claims, figure7_claims, figure8_claims

__all__ = [
    "BLOCKS",
    "RESULTS_DIR",
    "check_readme",
    "load_runs",
    "load_tables",
    "publish",
    "refresh",
    "render_blocks",
    "require_documents",
    "update_readme",
]

#: Where the published tables live, relative to the repository root.
RESULTS_DIR = Path("docs/results")
_FIGURE_TABLES = ("figure4", "figure7", "figure7b", "figure8")
_GAP_TABLES = ("gap-steps", "gap-stopping", *(f"gap-{f}" for f in FACTORS))
#: The published images (drawn into the results folder by :func:`.redraw.draw_tables`).
_IMAGES = (
    ("figure4", "Figure 4: accuracy against hidden width"),
    ("figure7", "Figure 7: MSE improvement of pro over late fusion"),
    ("figure8", "Figure 8: robustness of pro against late fusion"),
    ("gap", "The gap study: pro, iterative and late-wide against late fusion"),
)
#: The README's generated blocks: name -> (start marker, end marker).
BLOCKS = {
    "figures": ("<!-- figures:start -->", "<!-- figures:end -->"),
    "headline": ("<!-- report-headline:start -->", "<!-- report-headline:end -->"),
}


def publish(out: Path, results: Path, *, gap_out: Path | None = None) -> list[Path]:
    """Copy the tables of a run in ``out`` (and its ``run.json``) into ``results``, gzipped.

    ``gap_out``: the folder of the gap study's tables when they were trained apart
    (another preset, e.g. ``cpu``, is another configuration, so another ``--out``);
    its ``run.json`` is published as ``gap-run.json``. Default: ``out``.
    """
    results.mkdir(parents=True, exist_ok=True)
    gap_out = out if gap_out is None else gap_out
    sources = [(out, name) for name in _FIGURE_TABLES] + [(gap_out, n) for n in _GAP_TABLES]
    written = []
    for folder, name in sources:
        source = folder / f"{name}.csv"
        if source.is_file():
            target = results / f"{name}.csv.gz"
            pd.read_csv(source).to_csv(
                target, index=False, compression={"method": "gzip", "mtime": 0}
            )
            written.append(target)
    records = [(out, "run.json")] + ([(gap_out, "gap-run.json")] if gap_out != out else [])
    for folder, name in records:
        if (folder / "run.json").is_file():
            written.append(Path(shutil.copy(folder / "run.json", results / name)))
    if not written:
        raise ValueError(f"out: no results table in {out} (run progfusion figures first)")
    return written


def load_tables(results: Path) -> dict[str, pd.DataFrame]:
    """Every published table in ``results``, by name (ValueError when Figures 4, 7, 8 lack one)."""
    tables = {
        name: pd.read_csv(results / f"{name}.csv.gz")
        for name in (*_FIGURE_TABLES, *_GAP_TABLES)
        if (results / f"{name}.csv.gz").is_file()
    }
    missing = [n for n in ("figure4", "figure7", "figure8") if n not in tables]
    if missing:
        raise ValueError(f"results: {results} has no {', '.join(missing)} table (.csv.gz)")
    return tables


def _n(x: float) -> str:
    return f"{x:,.0f}"


def _figure7_rows(tables: dict[str, pd.DataFrame]) -> list[str]:
    p = pairs(tables["figure7"], "test_mse", ["eta", "sigma2", "trial"])
    s = improvement_summary(p["test_mse_late"].to_numpy(), p["test_mse_pro"].to_numpy())
    wins = [c for c in figure7_claims(tables["figure7"]) if "90%" in c.quote][0]
    rows = [
        f'| Figure 7: trials where pro-fusion has the lower MSE | "close to 90%" | '
        f"{100 * s.win_fraction:.1f}% [{100 * wins.ci_low:.1f}, {100 * wins.ci_high:.1f}] "
        f"of {_n(s.n_pairs)} |",
        f"| Figure 7: mean MSE improvement of pro over late | 8% | {s.mean_improvement:+.2f}% "
        f"[{s.ci_low:+.2f}, {s.ci_high:+.2f}]; Wilcoxon p = {s.wilcoxon_p:.1g} |",
    ]
    if "figure7b" in tables:
        st = steps_summary(tables["figure7b"])
        steps = " / ".join(f"{s:,}" for s in st["steps"])
        gains = " / ".join(f"{g:+.1f}%" for g in st["mean_improvement"])
        wins_ = " / ".join(f"{100 * w:.0f}%" for w in st["win_fraction"])
        rows.append(
            f"| Figure 7(b), fixed steps: improvement after {steps} steps | (not in the paper) "
            f"| {gains}; pro wins {wins_} |"
        )
    return rows


def _figure8_rows(table: pd.DataFrame) -> list[str]:
    per_pair = robustness_pairs(table)
    d = summarise(per_pair["delta_auc"].to_numpy(), seed=BOOTSTRAP_SEED)
    e = summarise(per_pair["effective_robustness"].to_numpy(), seed=BOOTSTRAP_SEED)
    positive = 100 * float(np.mean(per_pair["delta_auc"] > 0))
    return [
        f"| Figure 8: Delta robust AUC of -MSE (pro - late) | pro more robust | {d.mean:+.3f} "
        f"[{d.ci_low:+.3f}, {d.ci_high:+.3f}], positive in {positive:.0f}% of pairs |",
        f"| Figure 8: effective robustness of pro (Taori et al., same scale) | (not in the paper) "
        f"| {e.mean:+.3f} [{e.ci_low:+.3f}, {e.ci_high:+.3f}] |",
    ]


def _figure4_rows(table: pd.DataFrame) -> list[str]:
    summary = width_summary(table)
    rows = []
    for panel, g in summary.groupby("panel"):
        small, large = g["width"].min(), g["width"].max()
        mean = g.set_index(["design", "width"])["mean"]
        cells = ", ".join(
            f"{d} {mean[d, small]:.2f} / {mean[d, large]:.2f}" for d in dict.fromkeys(g["design"])
        )
        rows.append(
            f"| Figure 4 ({panel}), d = {small} / {large}: accuracy | gap shrinks, late matches "
            f"early | {cells} |"
        )
    return rows


def load_runs(results: Path) -> list[dict]:
    """The commands that made the published tables: every ``runs`` entry of
    ``results/run.json`` and then of ``gap-run.json`` (empty when neither is there)."""
    runs = []
    for name in ("run.json", "gap-run.json"):
        path = Path(results) / name
        if path.is_file():
            runs += json.loads(path.read_text(encoding="utf-8")).get("runs", [])
    return runs


def _provenance(runs: Sequence[dict]) -> list[str]:
    """One line per command that wrote into the published folders: where, how long."""
    lines = []
    for run in runs:
        walls = run.get("wall_seconds") or {}
        took = ", ".join(f"{name} {seconds / 60:.1f} min" for name, seconds in walls.items())
        torch_version = run.get("versions", {}).get("torch", "?")
        where = f"{run.get('device', '?')}, {run.get('device_name', '?')}, torch {torch_version}"
        lines.append(
            f"- `{run.get('command', '?')}` ({where}, started {run.get('started', '?')}): "
            f"{took or 'stopped before a figure finished (its finished stacks were kept)'}"
        )
    return lines


def render_blocks(tables: dict[str, pd.DataFrame], runs: Sequence[dict] = ()) -> dict[str, str]:
    """The text of each README block (without markers), from the tables alone, and the
    commands that made them (``runs``, :func:`load_runs`) when given."""
    counts = ", ".join(f"{name} {_n(len(t))}" for name, t in tables.items())
    gap = {k: v for k, v in tables.items() if k.startswith("gap-")}
    images = [(name, alt) for name, alt in _IMAGES if name != "gap" or gap]
    figures = [
        "### The published run",
        "",
        *(line for name, alt in images for line in (f"![{alt}]({RESULTS_DIR}/{name}.png)", "")),
        f"Generated by `progfusion report --readme README.md` from the tables in "
        f"`{RESULTS_DIR}/`, and drawn from them beside them (models per table: {counts}). "
        "What they show, beside the paper (95% intervals over paired trials; every number "
        "of the run, with the verdict rule, in [docs/paper-report.md](docs/paper-report.md)):",
        "",
        "| | paper | measured (95% CI, paired trials) |",
        "| --- | --- | --- |",
        *_figure7_rows(tables),
        *_figure8_rows(tables["figure8"]),
        *_figure4_rows(tables["figure4"]),
    ]
    if runs:
        figures += ["", "The commands that wrote the tables (wall time per figure):", ""]
        figures += _provenance(runs)
    if gap:
        figures += [
            "",
            f"Where the paper's numbers come from (the gap study, {gap_form(gap)}): "
            f"{answer(settings_table(gap))}",
        ]
    claims = figure4_claims(tables["figure4"]) + figure7_claims(tables["figure7"])
    claims += figure8_claims(tables["figure8"])
    headline = [
        "The report's headline table, from the published tables (the verdict rule is in the "
        "report: *reproduced* if the whole 95% interval lies inside the claimed band, *not "
        "reproduced* if it lies wholly outside, *inconclusive* otherwise):",
        "",
        *_claims_table(claims),
    ]
    return {"figures": "\n".join(figures), "headline": "\n".join(headline)}


def update_readme(path: Path, tables: dict[str, pd.DataFrame], runs: Sequence[dict] = ()) -> None:
    """Rewrite both blocks of the README at ``path`` (ValueError when a marker is missing)."""
    rewrite_file(path, render_blocks(tables, runs), BLOCKS, "readme")


def check_readme(
    path: Path, tables: dict[str, pd.DataFrame], runs: Sequence[dict] = ()
) -> list[str]:
    """Names of the README's blocks that differ from what the tables give (or lack markers)."""
    return check_file(path, render_blocks(tables, runs), BLOCKS)


def require_documents(readme: Path | None, paper_report: Path | None) -> None:
    """A ValueError (naming the option) unless each document given exists with its markers."""
    if readme is not None:
        require_markers(readme, BLOCKS, "readme")
    if paper_report is not None:
        require_markers(paper_report, MARKERS, "paper_report")


def refresh(
    results: Path, *, readme: Path | None = None, paper_report: Path | None = None
) -> list[str]:
    """Draw the images in ``results`` from its tables, then rewrite the blocks of ``readme``
    and ``paper_report`` (each when given) from them; returns one line per file done.

    A ValueError, before anything is written, when ``results`` lacks a table or a
    document lacks its markers.
    """
    results = Path(results)
    require_documents(readme, paper_report)
    tables = load_tables(results)
    images = draw_tables(tables, results)
    lines = [f"drew {', '.join(p.name for p in images)} into {results} from its tables"]
    if readme is not None:
        update_readme(readme, tables, load_runs(results))
        lines.append(f"rewrote the figures and headline blocks of {readme} from {results}")
    if paper_report is not None:
        update_paper_report(paper_report, tables, results)
        lines.append(f"rewrote the generated block of {paper_report} from {results}")
    return lines
