"""The paper's mechanism in the gap study (issue 26, item 3), on tables built by hand.

Per trial the gain of pro over late is ``a * eta - b * sigma2 + 0.5 * trial`` percent
(late's MSE 1, pro's ``1 - gain / 100``), and late-wide's MSE is 2, so pro's gain over
late-wide is ``50 + gain / 2``: every reading is known. Against late: the slope along
eta is ``a``, minus the slope along sigma2 ``b``, the eta control ``a * max(eta)``;
against late-wide, half of each.
"""

from __future__ import annotations

import pandas as pd
import pytest
from progfusion.figures import gap_mechanism
from progfusion.figures.gap_mechanism import (
    at_match_steps,
    markdown,
    match_steps,
    mechanism,
    mechanism_rows,
    row_verdict,
)

from tests.helpers import assert_close

ETAS, SIGMAS, TRIALS = (0.0, 2.0, 4.0), (0.0, 1.0, 2.0), 8
#: The steps the fixed-steps table records; at 200 (the paper's match) the gain has
#: slopes (a, b) = AT_200, elsewhere others.
STEPS, AT_200 = (100, 200, 400), (3.0, 1.0)


def _mse(design: str, gain: float) -> float:
    return {"late": 1.0, "pro": 1.0 - gain / 100, "late-wide": 2.0}[design]


def _table(a: float, b: float, *, steps: bool = False) -> pd.DataFrame:
    rows = []
    for trial in range(TRIALS):
        for eta in ETAS:
            for sigma2 in SIGMAS:
                gain = a * eta - b * sigma2 + 0.5 * trial
                for design in ("late", "pro", "late-wide"):
                    row = {"eta": eta, "sigma2": sigma2, "trial": trial, "design": design,
                           "status": "ok", "test_mse": _mse(design, gain)}  # fmt: skip
                    if steps:  # at 200 steps the gain of AT_200; at 100 and 400 another
                        at_200 = AT_200[0] * eta - AT_200[1] * sigma2 + 0.5 * trial
                        row |= {f"mse_step_{s}": _mse(design, gain) for s in STEPS}
                        row["mse_step_200"] = _mse(design, at_200)
                    rows.append(row)
    return pd.DataFrame(rows)


def _readings(claims) -> list[float]:
    return [c.mean for c in claims]


def test_match_steps_is_the_papers_or_the_largest_below_it() -> None:
    assert match_steps([100, 200, 400]) == 200
    assert match_steps((25, 50, 100)) == 100  # the tiny preset's
    assert match_steps([400, 800]) is None


def test_readings_against_late_and_a_control_are_the_hand_computed_ones() -> None:
    a, b = 1.5, 2.0
    table = _table(a, b)
    late, wide = mechanism(table, "late"), mechanism(table, "late-wide")
    assert_close(_readings(late), [a, b, a * max(ETAS)], dtype="float64")
    assert_close(_readings(wide), [a / 2, b / 2, a * max(ETAS) / 2], dtype="float64")
    assert all(c.n == TRIALS for c in late + wide)
    assert {c.verdict for c in late + wide} == {"reproduced"}


def test_fixed_steps_are_read_at_the_step_that_matches_the_paper() -> None:
    tables = {"gap-steps": _table(-1.0, -1.0, steps=True), "gap-stopping": _table(1.0, 0.5)}
    steps, table = at_match_steps(tables)
    assert steps == 200 and (table["test_mse"] == table["mse_step_200"]).all()
    rows = mechanism_rows(tables)
    assert [(r.setting, r.base) for r in rows] == [
        ("early stopping (7(a))", "late"),
        ("early stopping (7(a))", "late-wide"),
        ("fixed, 200 steps", "late"),
        ("fixed, 200 steps", "late-wide"),
    ]  # the controls the tables hold, in CONTROLS' order; none other
    a, b = AT_200
    assert_close(_readings(rows[2].claims), [a, b, a * max(ETAS)], dtype="float64")
    assert_close(_readings(rows[0].claims), [1.0, 0.5, 4.0], dtype="float64")


def test_a_gain_that_falls_with_eta_is_not_the_mechanism() -> None:
    (row, _) = mechanism_rows({"gap-stopping": _table(-1.0, 1.0)})
    assert row.along_eta.verdict == "not reproduced" and row.along_sigma.verdict == "reproduced"
    assert row.verdict == "not reproduced"


def test_row_verdict_needs_every_reading_above_zero() -> None:
    assert row_verdict(["reproduced"] * 3) == "reproduced"
    assert row_verdict(["reproduced", "inconclusive", "reproduced"]) == "inconclusive"
    assert row_verdict(["reproduced", "inconclusive", "not reproduced"]) == "not reproduced"
    assert row_verdict([]) == "inconclusive"


def test_markdown_has_one_row_per_setting_and_comparison_with_intervals() -> None:
    tables = {"gap-steps": _table(0.0, 0.0, steps=True), "gap-stopping": _table(1.0, 0.5)}
    text = markdown(tables)
    assert text.startswith(gap_mechanism.HEADING)
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + 1 + 4  # header, rule, 2 settings x 2 comparisons
    stopping_late = table[2].split(" | ")
    assert stopping_late[:3] == ["| early stopping (7(a))", "pro vs late", str(TRIALS)]
    # every reading's mean lies in its interval; this one is exact (no spread: [1, 1])
    assert stopping_late[3] == "+1.00 [+1.00, +1.00]" and stopping_late[5].startswith("+4.00")
    assert stopping_late[6:] == ["reproduced", "reproduced |"]
    assert "over this table's 12 readings" in text


def test_markdown_says_why_a_one_cell_grid_has_no_rows() -> None:
    table = _table(1.0, 1.0)
    one_cell = table[(table["eta"] == 4.0) & (table["sigma2"] == 0.0)]
    assert mechanism_rows({"gap-stopping": one_cell}) == []
    assert "needs a grid with at least two values" in markdown({"gap-stopping": one_cell})


def test_few_trials_give_no_interval_and_no_verdict() -> None:
    table = _table(1.0, 1.0)
    rows = mechanism_rows({"gap-stopping": table[table["trial"] < 2]})
    assert {r.verdict for r in rows} == {"inconclusive"}
    assert "(no interval)" in markdown({"gap-stopping": table[table["trial"] < 2]})


@pytest.mark.parametrize("base", ["late", "late-wide"])
def test_the_control_reading_is_the_difference_of_two_cells(base: str) -> None:
    table = _table(0.7, 0.3)
    (_, _, control) = mechanism(table, base)
    p = table[table["sigma2"] == 0.0].pivot_table(
        index=["trial", "eta"], columns="design", values="test_mse"
    )
    gain = 100 * (p[base] - p["pro"]) / p[base]
    by_eta = gain.unstack("eta")
    assert_close(control.mean, (by_eta[4.0] - by_eta[0.0]).mean(), dtype="float64")
