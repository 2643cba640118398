"""The paper's mechanism as claims of ours (issue 26, item 3), on grids built by hand.

Per trial the gain of pro over late is ``a * eta - b * sigma2 + c`` percent, so every
reading is known exactly: the slope along eta at the smallest sigma2 is ``a``, minus
the slope along sigma2 at the largest eta is ``b``, and the gain at the largest eta
minus the gain at eta = 0 (the control) is ``a * max(eta)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from progfusion.figures import fig7

ETAS, SIGMAS = (0.0, 2.0, 4.0), (0.0, 1.0)


def _grid(a: float, b: float, trials: int = 6) -> pd.DataFrame:
    rows = []
    for trial in range(trials):
        for eta in ETAS:
            for sigma2 in SIGMAS:
                gain = a * eta - b * sigma2 + 0.5 * trial  # percent
                for design, mse in (("late", 1.0), ("pro", 1.0 - gain / 100)):
                    rows.append({"eta": eta, "sigma2": sigma2, "trial": trial, "design": design,
                                 "test_mse": mse, "status": "ok"})  # fmt: skip
    return pd.DataFrame(rows)


def test_each_reading_is_the_hand_computed_one() -> None:
    along_eta, along_sigma, control = fig7.mechanism_claims(_grid(a=1.5, b=2.0))
    assert along_eta.mean == pytest.approx(1.5) and along_eta.ours
    assert along_sigma.mean == pytest.approx(2.0)
    assert control.mean == pytest.approx(1.5 * max(ETAS))
    assert {c.verdict for c in (along_eta, along_sigma, control)} == {"reproduced"}


def test_a_gain_that_falls_with_eta_is_not_the_mechanism() -> None:
    along_eta, _, control = fig7.mechanism_claims(_grid(a=-1.0, b=0.0))
    assert along_eta.mean == pytest.approx(-1.0) and along_eta.verdict == "not reproduced"
    assert control.verdict == "not reproduced"


def test_no_mechanism_rows_on_a_grid_with_one_sigma2() -> None:
    grid = _grid(a=1.0, b=1.0)
    assert fig7.mechanism_claims(grid[grid["sigma2"] == 0.0]) == []
    assert np.isfinite(fig7.mechanism_claims(grid)[0].ci_low)
