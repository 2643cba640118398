"""The report's verdicts as a family (issue 26, item 5): Holm's correction over the
rows, fragile verdicts, rows of ours, merged rows, Figure 4's capped comparisons and
Figure 8's label; and every quoted claim found in the paper's text.

Hand-checkable numbers first (rliable style: invariants such as adjusted >= raw), then
the committed tables in ``docs/results`` (skipped where they are absent), then the
paper's text beside the checkout (``../shared/paper/progressive-fusion.txt``, resolved
from the repository root's parent; skipped where it is absent).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from progfusion.experiments.metrics import bootstrap_ci, bootstrap_distribution, summarise
from progfusion.experiments.seeds import BOOTSTRAP_SEED
from progfusion.experiments.tables import read_results_table
from progfusion.figures import fig4, fig7, fig8, report, verdicts
from progfusion.figures.verdicts import (
    EmpiricalClaim,
    band_p_value,
    claim,
    direction,
    fragile,
    holm,
    judge,
    merge_same,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results"
PAPER = ROOT.parent / "shared" / "paper" / "progressive-fusion.txt"

# ----------------------------------------------------------------------------- Holm


def test_holm_by_hand() -> None:
    # sorted 0.01, 0.03, 0.04 times 3, 2, 1: 0.03, 0.06, 0.04 -> running max 0.03, 0.06, 0.06
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.2, 0.9]) == pytest.approx([0.4, 0.9])
    assert holm([0.5, 0.6, 0.7]) == pytest.approx([1.0, 1.0, 1.0])  # capped at 1
    assert holm([0.03]) == pytest.approx([0.03])  # a family of one: no correction
    assert holm([math.nan, 0.01]) == pytest.approx([1.0, 0.02])  # NaN counts as 1


@pytest.mark.parametrize("seed", range(5))
def test_holm_invariants(seed: int) -> None:
    p = np.random.default_rng(seed).uniform(0, 0.2, size=9)
    adjusted = holm(p)
    assert np.all(adjusted >= p) and np.all(adjusted <= 1)
    order = np.argsort(p)
    assert np.all(np.diff(adjusted[order]) >= 0)  # the raw order is kept
    assert np.all(adjusted <= np.minimum(1, len(p) * p))  # never above Bonferroni


# ----------------------------------------------------------------------------- p-values


def test_band_p_value_by_hand() -> None:
    boot = np.arange(1, 101) / 100  # 0.01, 0.02, ..., 1.00
    assert band_p_value(boot, direction()) == 0.0  # every resample above 0
    assert band_p_value(boot, (0.05, math.inf)) == pytest.approx(0.08)  # 4 of 100 below
    assert band_p_value(boot, (2.0, math.inf)) == 0.0  # every resample below: not reproduced
    assert band_p_value(boot, (0.1, 0.9)) == pytest.approx(0.2)  # 9 below, 10 above
    # 49 below and 40 above the band: inside 2 x 0.49; outside 2 x min(0.51, 0.6), > 1
    assert band_p_value(boot, (0.5, 0.6)) == pytest.approx(0.98)


@pytest.mark.parametrize("shift", [-0.4, -0.25, -0.1, 0.0, 0.1, 0.25, 0.4])
@pytest.mark.parametrize("band", [(0.0, math.inf), (-0.2, 0.2)])
def test_p_value_agrees_with_the_interval(shift: float, band) -> None:
    """A verdict decided by the 95% interval has p <= 0.05; one with p < 0.05 is decided."""
    values = np.random.default_rng(3).normal(shift, 0.5, size=40)
    c = claim("x", "q", "e", band, values)
    decided = c.verdict != "inconclusive"
    assert (c.p_value <= 0.05) if decided else (c.p_value >= 0.05)
    if c.p_value < 0.049:
        assert decided


def test_claim_interval_is_bit_for_bit_the_published_one() -> None:
    values = np.random.default_rng(1).normal(size=57)
    s = summarise(values, seed=BOOTSTRAP_SEED)
    c = claim("x", "q", "e", direction(), values)
    assert (c.n, c.mean, c.ci_low, c.ci_high) == (s.n, s.mean, s.ci_low, s.ci_high)
    both = np.abs(np.random.default_rng(2).normal(1, 0.2, size=(30, 2)))
    ratio = fig7._ratio_claim(both[:, 0], both[:, 1])
    low, high = bootstrap_ci(both, statistic=fig7._ratio_of_means, seed=BOOTSTRAP_SEED)
    assert (ratio.ci_low, ratio.ci_high) == (low, high) and 0 <= ratio.p_value <= 1
    boot = bootstrap_distribution(values, seed=BOOTSTRAP_SEED)
    assert boot.shape == (10_000,) and np.quantile(boot, 0.025) == pytest.approx(s.ci_low)


# ----------------------------------------------------------------------------- rows


def _made(figure="4a", p=0.03, key="k", band=(0.0, math.inf), low=0.1, high=0.3, quote="q"):
    return EmpiricalClaim(figure, quote, "e", band, 30, 0.2, low, high, p, 0.0, "", "", key)


def test_same_statistic_is_one_row_and_the_family_counts_rows() -> None:
    same = [_made(p=0.03, key="a"), _made(p=0.03, key="a", quote="other")]
    other = _made(p=0.02, key="b")
    assert [len(g) for g in merge_same([*same, other])] == [2, 1]
    rows = judge([*same, other])
    # m = 2 rows: 0.02 x 2 = 0.04, then max(0.04, 0.03 x 1): both reproduced at 0.05
    assert [r.family for r in rows] == [2, 2]
    assert [r.p_holm for r in rows] == pytest.approx([0.04, 0.04])
    assert [r.corrected for r in rows] == ["reproduced", "reproduced"]
    # counted as three tests, the same numbers would not survive (0.03 x 2 = 0.06)
    assert holm([0.03, 0.03, 0.02]) == pytest.approx([0.06, 0.06, 0.06])
    # the same values against another band (another verdict) stay two rows; so do
    # claims without a fingerprint and claims of two figures
    assert len(merge_same([_made(key="a"), _made(key="a", band=(0.0, 0.5))])) == 2
    assert len(merge_same([_made(key=""), _made(key="")])) == 2
    assert len(merge_same([_made(key="a"), _made(key="a", figure="4b")])) == 2


def test_claim_fingerprints_its_values() -> None:
    values = np.arange(10.0)
    a, b = claim("7", "q", "e1", direction(), values), claim("7", "r", "e2", direction(), values)
    c = claim("7", "q", "e1", direction(), values + 1e-12)
    assert a.key == b.key != c.key
    assert len(judge([a, b, c])) == 2


def test_corrected_verdict_is_never_bolder_than_the_row() -> None:
    rows = judge([_made(p=0.001, key="a"), _made(p=0.3, key="b", low=-0.1, high=0.3)])
    assert [r.verdict for r in rows] == ["reproduced", "inconclusive"]
    assert [r.corrected for r in rows] == ["reproduced", "inconclusive"]
    alone = judge([_made(p=0.04, key="a")])[0]  # m = 1: the per-row verdict
    assert alone.corrected == alone.verdict == "reproduced"
    crowded = judge([_made(p=0.04, key=str(i)) for i in range(3)])
    assert {r.corrected for r in crowded} == {"inconclusive"}  # 0.04 x 3 > 0.05


# ----------------------------------------------------------------------------- fragile


def test_fragile_by_hand() -> None:
    # Figure 4(b)'s reading 2 interval against the band's edge 0: within 0.003
    assert fragile(-0.00004, 0.00439, direction(), fig4.ROUNDING)
    assert fig4.ROUNDING == 0.003  # the CPU-to-CPU difference of tests/test_engine_parity.py
    assert not fragile(0.1, 0.3, direction(), fig4.ROUNDING)
    assert fragile(0.0125, 0.02, (-0.01, 0.01), 0.003)  # 0.0025 above the upper edge
    assert not fragile(0.0135, 0.02, (-0.01, 0.01), 0.003)
    # the default, relative distance (1e-3 of the larger end) is far smaller
    c = claim("8", "q", "e", direction(), np.linspace(0.0, 0.02, 50))
    assert c.rounding == pytest.approx(1e-3 * max(abs(c.ci_low), abs(c.ci_high)))
    # fewer than 5 pairs: inconclusive whatever the interval, so never fragile
    near = ("4b", "q", "e", direction())
    assert EmpiricalClaim(*near, 30, 0.0, -0.001, 0.001, 1.0, 0.003).fragile
    assert not EmpiricalClaim(*near, 4, 0.0, -0.001, 0.001, 1.0, 0.003).fragile


# ----------------------------------------------------------------------------- ours


def test_rows_of_ours_are_labelled_and_unquoted() -> None:
    ours = claim("7", None, "effect", direction(), np.ones(6), statement="pro is better")
    paper = claim("7", "the paper's words", "effect", direction(), np.ones(6) * 2)
    assert ours.ours and ours.text == "ours: pro is better" and '"' not in ours.text
    assert not paper.ours and paper.text == '"the paper\'s words"'
    table = "\n".join(report.claims_table([ours, paper]))
    assert "| ours: pro is better |" in table and '| "the paper\'s words" |' in table
    with pytest.raises(ValueError, match="needs a statement"):
        claim("7", None, "effect", direction(), np.ones(6))


def test_table_prints_the_family_and_holm() -> None:
    claims = [_made(p=0.01, key="a"), _made(p=0.04, key="b"), _made(p=0.04, key="b")]
    lines = report.claims_table(claims)
    assert "Holm over the 2 rows" in lines[0]
    assert "p = 0.02: **reproduced**" in lines[2] and "p = 0.04: **reproduced**" in lines[3]
    assert lines[-1].startswith("Family: the 2 rows above (1 readings merged")
    assert verdicts.__doc__ and "Holm" in verdicts.__doc__ and "fragile" in verdicts.__doc__


# ----------------------------------------------------------------------------- Figure 4


def _lattice(capped_early: int, trials: int = 6) -> pd.DataFrame:
    """Panel (a), widths 2 and 8: early beats late by 0.1; ``capped_early`` of early's
    models at d = 2 stopped at the 100-step cap, every other model at step 50."""
    rows = []
    for trial in range(trials):
        for width in (2, 8):
            for design, acc in (("late", 0.2), ("early", 0.3), ("pro", 0.25)):
                at_cap = design == "early" and width == 2 and trial < capped_early
                rows.append(
                    {"panel": "a", "width": width, "trial": trial, "design": design,
                     "test_accuracy": acc + 0.01 * trial, "status": "ok", "majority": 0.18,
                     "steps": 100 if at_cap else 50, "max_steps": 100}
                )  # fmt: skip
    return pd.DataFrame(rows)


def test_figure4_marks_capped_comparisons() -> None:
    claims = fig4.table_claims(_lattice(capped_early=4))
    early_at_2 = claims[0]
    assert early_at_2.note == "capped comparison: early 4 of 6 models at the 100-step cap"
    assert claims[1].note == ""  # d = 2 and 8: 4 of 12, not most
    assert all(c.note == "" for c in claims[2:])  # pro and the match at d = 8
    assert fig4.table_claims(_lattice(capped_early=3))[0].note == ""  # half is not most
    table = "\n".join(report.claims_table(claims))
    assert "**capped comparison: early 4 of 6 models" in table
    assert all(c.rounding == fig4.ROUNDING for c in claims)


def test_figure4_report_says_why_and_counts_the_cap() -> None:
    lines = fig4.report({fig4.TABLE: _lattice(capped_early=4)})
    text = "\n".join(lines)
    assert "f(x1) + g(x2)" in text and "product" in text
    assert "0.225 to 0.225 over d = 2 to 8" in text and "majority class's 0.180" in text
    assert "| a | early | 4 of 12 (33%) | 4/6 / 0/6 |" in text
    assert "| a | late | 0 of 12 (0%) | 0/6 / 0/6 |" in text
    assert fig4.FIGURE.report is fig4.report


# ----------------------------------------------------------------------------- published


@pytest.fixture(scope="module")
def published() -> dict[str, pd.DataFrame]:
    if not (RESULTS / "figure7.csv.gz").is_file():
        pytest.skip("docs/results/ holds no published tables")
    from progfusion.figures import publish

    return publish.load_tables(RESULTS)


def test_published_figure4b_reading2_is_fragile(published) -> None:
    rows = {(c.figure, c.effect[:40]): c for c in fig4.table_claims(published[fig4.TABLE])}
    slope = rows["4b", "reading 2, over all widths: -(slope of p"]
    assert slope.ci_low < 0 < slope.ci_high and abs(slope.ci_low) < 1e-4
    assert slope.verdict == "inconclusive" and slope.fragile


def test_published_figure4a_merges_one_statistic(published) -> None:
    rows = [r for r in judge(fig4.table_claims(published[fig4.TABLE])) if r.first.figure == "4a"]
    merged = [r for r in rows if len(r.claims) > 1]
    assert len(rows) == 5 and len(merged) == 1 and len(merged[0].claims) == 3
    assert merged[0].first.mean == pytest.approx(-0.488, abs=5e-4)


def test_published_cap_counts_are_the_tables(published) -> None:
    table = read_results_table(RESULTS / "figure4.csv.gz")
    text = "\n".join(fig4.report({fig4.TABLE: table}))
    for (panel, design), g in table.groupby(["panel", "design"]):
        at = int((g["steps"] == g["max_steps"]).sum())
        assert f"| {panel} | {design} | {at} of {len(g)} (" in text
    notes = {c.note for c in fig4.table_claims(table) if c.note}
    assert notes and all(n.startswith("capped comparison: early ") for n in notes)


def test_figure8_row_says_what_it_measures(published) -> None:
    """Effective robustness is Taori et al.'s, one cell (one distribution pair) at a time."""
    delta, trend, *alone = fig8.claims(published)
    assert "late-fusion models of its own cell" in trend.effect and trend.ours
    pairs = fig8.robustness_pairs(published[fig8.TABLE])
    assert trend.mean == pytest.approx(pairs["effective_robustness"].mean())
    assert delta.mean == pytest.approx(pairs["delta_auc"].mean())
    for m, reading in enumerate(alone, start=1):  # where the table has them
        assert f"noise on X{m} only" in reading.effect and reading.ours
        assert reading.mean == pytest.approx(pairs[f"delta_auc_x{m}"].mean())


# ----------------------------------------------------------------------------- quotes


def _normal(text: str) -> str:
    """Lower case, words broken by a hyphen at a line end joined, hyphens and
    quotation marks dropped, whitespace collapsed."""
    text = re.sub(r"-[ \t]*\n\s*", "", text.lower())
    text = text.replace("-", "").replace("\u201c", "").replace("\u201d", "")
    return " ".join(text.split())


def _in_paper(quote: str, paper: str) -> bool:
    """Whether ``quote`` (parts around ``...`` in order) is in the paper's text."""
    at = 0
    for part in (p for p in (_normal(x) for x in quote.split("...")) if p):
        at = paper.find(part, at)
        if at < 0:
            return False
        at += len(part)
    return True


def test_quote_matching_by_hand() -> None:
    paper = _normal(
        "We propose a model agnostic scheme based on provid-\ning Pro-Fusion\n\nmodels."
    )
    assert _in_paper("based on providing pro-fusion models", paper)
    assert _in_paper("We propose ... Pro-\nFusion", paper)
    assert not _in_paper("pro-fusion improves robustness", paper)
    assert not _in_paper("models ... we propose", paper)  # parts in order


@pytest.fixture(scope="module")
def paper_text() -> str:
    if not PAPER.is_file():
        pytest.skip(f"the paper's text is not at {PAPER}")
    return _normal(PAPER.read_text(encoding="utf-8"))


def test_every_quoted_claim_is_the_papers_words(published, paper_text: str) -> None:
    claims = report.claims_of(published)
    quoted = [c.quote for c in claims if not c.ours]
    assert quoted and all(_in_paper(q, paper_text) for q in quoted), [
        q for q in quoted if not _in_paper(q, paper_text)
    ]
    # and every quotation the report's empirical section prints (rule, bands, table)
    section = "\n".join(report.empirical_section(published))
    printed = re.findall(r'"([^"\n]+)"', section)
    missing = [q for q in printed if not _in_paper(q, paper_text)]
    assert len(printed) > len(quoted) and missing == []
    # the paraphrases the report once quoted are not the paper's
    for old in ("pro-fusion improves robustness (AUC) over late fusion",
                "pro-fusion performs better than late fusion",
                "pro-fusion degrades more slowly under noise than late fusion"):  # fmt: skip
        assert not _in_paper(old, paper_text)
