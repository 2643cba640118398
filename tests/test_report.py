"""`progfusion report`: the verdict rule on hand-made numbers, and REPORT.md end to end.

The end-to-end test writes the report beside a copy of the session's tiny run
(``tests/conftest.py``), as after ``progfusion figures``: it trains nothing.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from progfusion.figures import fig4, fig7, fig8, verdicts
from progfusion.figures.cli import main
from progfusion.figures.verdicts import EmpiricalClaim, verdict

from tests.runs import TABLES, no_training, read_table, tiny_argv


@pytest.mark.parametrize(
    ("low", "high", "band", "n", "expected"),
    [
        (0.1, 0.3, (0.0, math.inf), 10, "reproduced"),
        (-0.3, -0.1, (0.0, math.inf), 10, "not reproduced"),
        (-0.1, 0.3, (0.0, math.inf), 10, "inconclusive"),
        (0.85, 0.95, (0.8, 1.0), 10, "reproduced"),
        (0.5, 0.7, (0.8, 1.0), 10, "not reproduced"),
        (0.7, 0.9, (0.8, 1.0), 10, "inconclusive"),
        (0.1, 0.3, (0.0, math.inf), 4, "inconclusive"),  # too few pairs
        (math.nan, 0.3, (0.0, math.inf), 10, "inconclusive"),
    ],
)
def test_verdict_band_rule(low, high, band, n, expected) -> None:
    assert verdict(low, high, band, n) == expected


def _grid(late: list[float], pro: list[float]) -> pd.DataFrame:
    rows = []
    for trial, (a, b) in enumerate(zip(late, pro, strict=True)):
        for design, mse in (("late", a), ("pro", b)):
            rows.append(
                {
                    "eta": 1.0,
                    "sigma2": 0.0,
                    "trial": trial,
                    "design": design,
                    "test_mse": mse,
                    "status": "ok",
                }
            )
    return pd.DataFrame(rows)


def test_figure7_claims_on_hand_checkable_pairs() -> None:
    # every pro MSE is 10% below late's: wins 100%, improvement exactly +10%
    late = [1.0, 2.0, 1.5, 0.5, 4.0, 3.0]
    grid = _grid(late, [0.9 * x for x in late])
    wins, mean_gain, ratio, direction = fig7.grid_claims(grid)
    assert wins.n == 6 and wins.mean == 1.0 and wins.verdict == "reproduced"
    assert mean_gain.mean == pytest.approx(10.0) and mean_gain.verdict == "reproduced"
    assert ratio.mean == pytest.approx(10.0) and ratio.ci_low == pytest.approx(10.0)
    assert direction.verdict == "reproduced"
    # pro worse by 10% everywhere: every claim is contradicted
    worse = fig7.grid_claims(_grid(late, [1.1 * x for x in late]))
    assert [c.verdict for c in worse] == ["not reproduced"] * 4


def test_the_two_readings_of_8_percent_differ_when_errors_vary() -> None:
    # pro halves the small errors and loses 10% on the large ones: the mean of per-pair
    # ratios is +20%, the ratio of mean MSEs is negative
    late = [0.1, 0.1, 0.1, 10.0, 10.0, 10.0]
    pro = [0.05, 0.05, 0.05, 11.0, 11.0, 11.0]
    _, per_pair, ratio, _ = fig7.grid_claims(_grid(late, pro))
    assert per_pair.mean == pytest.approx(20.0)
    expected = 100 * (np.mean(late) - np.mean(pro)) / np.mean(late)
    assert ratio.mean == pytest.approx(expected) and ratio.mean < 0
    assert "reading 1" in per_pair.effect and "reading 2" in ratio.effect


def test_claims_drop_nan_values() -> None:
    claim = verdicts.claim("7", "q", "e", (0.0, math.inf), np.array([1.0, np.nan, 2.0]))
    assert isinstance(claim, EmpiricalClaim) and claim.n == 2


@pytest.mark.slow
def test_report_end_to_end(tiny_run: Path, tiny_run_copy: Path, capsys, monkeypatch) -> None:
    out = tiny_run_copy  # the tables of progfusion figures with the same options
    monkeypatch.delenv("COLUMNS", raising=False)  # stdout is captured: 80 columns
    with no_training() as calls:
        assert main(tiny_argv(out, command=("report",))) == 0
    assert calls == []  # the figures' tables are reused
    printed = capsys.readouterr().out.splitlines()
    headline = [line for line in printed if not line.startswith("wrote ")]
    assert max(len(line) for line in headline) <= 80
    claims = [
        *fig4.table_claims(pd.read_csv(out / "figure4.csv")),
        *fig7.claims({"figure7": pd.read_csv(out / "figure7.csv")}),
        *fig8.claims({"figure8": pd.read_csv(out / "figure8.csv")}),
    ]
    rows_ = verdicts.judge(claims)  # claims that compute one statistic are one row
    assert sum(line.startswith(("4a ", "4b ", "7 ", "8 ")) for line in headline) == len(rows_)
    assert any(f"{len(rows_)} rows tested at once" in line for line in headline)
    assert all("inconclusive" in line for line in headline if line.startswith("4a "))  # n = 2
    for name in TABLES:
        pd.testing.assert_frame_equal(read_table(out, name), read_table(tiny_run, name))
    text = (out / "REPORT.md").read_text()
    assert not re.search(r"\{'\w+': ", text)  # no Python dict reprs
    models = len(read_table(out, "figure4")) + len(read_table(out, "figure7"))
    assert f"Models by status: {models} ok (" in text
    for heading in ("## Empirical claims", "## Theoretical claims", "## Errata"):
        assert heading in text
    assert "close to 90%" in text and "8%" in text
    verdict_words = ("reproduced", "not reproduced", "inconclusive")
    prefixes = ("| 4a |", "| 4b |", "| 7 |", "| 8 |")
    rows = [line for line in text.splitlines() if line.startswith(prefixes)]
    # 7 claims a Figure 4 panel; Figure 7: 4 + 3 (mechanism); Figure 8: 2 + 2 (per modality)
    assert len(rows) == len(rows_) < 2 * 7 + 4 + 3 + 2 + 2
    assert all(any(f"**{w}**" in row for w in verdict_words) for row in rows)
    # eight cells a row: a "|" inside a cell (as in |pro - late|) is escaped
    assert all(len(re.split(r"(?<!\\)\|", row)) == 10 for row in rows)
    assert any("\\|pro - late\\|" in row for row in rows)
    # n = 2 trials a Figure 4 point: no interval printed, as on the terminal
    fig4_rows = [row for row in rows if row.startswith(("| 4a |", "| 4b |"))]
    assert all("| 2 |" in row and "(too few for an interval)" in row for row in fig4_rows)
    for image in ("figure4.png", "figure7.png", "figure8.png"):
        assert f"]({image})" in text and (out / image).is_file()
