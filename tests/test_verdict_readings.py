"""Figure 4's verdict rows measure what their sentences say (issue 12, item 4).

Synthetic tables whose gaps are set by hand: a sentence about widths is decided
across widths, and a sentence that reads two ways gets two rows that can disagree.
"""

from __future__ import annotations

import pandas as pd
import pytest
from progfusion.figures import fig4

WIDTHS = (2, 8, 32)


def _table(early_gap: dict[int, float], pro_gap: dict[int, float], trials: int = 6):
    rows = []
    for trial in range(trials):
        jitter = 0.002 * (trial % 3 - 1)  # spread across trials, the same for every width
        for width in WIDTHS:
            late = 0.5 + 0.01 * trial
            accuracy = {
                "late": late,
                "early": late + early_gap[width] + jitter,
                "pro": late + pro_gap[width] + jitter,
            }
            for design, value in accuracy.items():
                rows.append(
                    {"panel": "b", "width": width, "trial": trial, "design": design,
                     "test_accuracy": value, "status": "ok"}
                )  # fmt: skip
    return pd.DataFrame(rows)


def _verdicts(table: pd.DataFrame) -> dict[tuple[str, str], str]:
    claims = fig4.table_claims(table)
    return {(c.quote[:20], c.effect.split(":")[0]): c.verdict for c in claims}


def test_width_sentences_are_decided_across_widths() -> None:
    # early's advantage is positive at d = 2 but grows with width; pro's shrinks to 0
    table = _table({2: 0.01, 8: 0.05, 32: 0.10}, {2: 0.20, 8: 0.10, 32: 0.0})
    got = _verdicts(table)
    assert got["early fusion is more", "reading 1"] == "reproduced"  # early > late at d = 2
    assert got["early fusion is more", "reading 2, across widths"] == "not reproduced"
    assert got["the effect of progre", "reading 1, across widths"] == "reproduced"
    assert got["the effect of progre", "reading 2, over all widths"] == "reproduced"
    assert got["for a large enough h", "accuracy early - late at d = 32"] == "not reproduced"


def test_a_gap_that_changes_sign_reads_two_ways() -> None:
    # pro is worse than late at d = 2 and level at d = 32: the signed gap grows with
    # width (reading 1 contradicted) while its size shrinks (reading 2 holds)
    table = _table({2: 0.1, 8: 0.1, 32: 0.0}, {2: -0.20, 8: -0.10, 32: 0.0})
    got = _verdicts(table)
    assert got["the gap between the ", "reading 1, signed gap"] == "not reproduced"
    assert got["the gap between the ", "reading 2, size of the gap"] == "reproduced"
    assert got["the effect of progre", "reading 2, over all widths"] == "not reproduced"
    assert got["for a large enough h", "accuracy early - late at d = 32"] == "reproduced"


def test_slope_is_per_doubling_of_width() -> None:
    gaps = pd.DataFrame([[0.3, 0.2, 0.1]], columns=[2, 4, 8])  # -0.1 per doubling
    assert fig4._slope(gaps)[0] == pytest.approx(-0.1)
