"""The (D, d, K) grid on which the linear claims are decided.

:func:`grid_rows` computes, once, the generic rank and the image dimension of each
design at every size of :data:`GRID` (Jacobian rank and closed form, pro fusion in
each of :data:`PRO_VARIANTS`); the other functions summarise it in the words the
evidence lines of :mod:`.linear_decisions` use.
"""

from __future__ import annotations

import functools

from . import linear
from .linear_paper import EXAMPLE

__all__ = [
    "GRID",
    "PRO_VARIANTS",
    "example_row",
    "full_elsewhere",
    "grid_label",
    "grid_note",
    "grid_rows",
    "narrow",
    "size_of",
]

#: The (D, d, K) grid of the linear claims: every size with D, d <= 3 and K <= 4.
GRID = [(D, d, K) for D in range(1, 4) for d in range(1, 4) for K in range(1, 5)]
#: Pro-fusion variants checked on the grid: (context, p, steps).
PRO_VARIANTS = [("add", None, 2), ("concat", None, 2), ("add", 1, 2), ("concat", 2, 3)]


@functools.cache
def grid_rows() -> tuple[dict, ...]:
    """Ranks and image dimensions (Jacobian and closed form) on :data:`GRID`."""
    rows = []
    for D, d, K in GRID:
        row = {"D": D, "d": d, "K": K}
        for design in ("early", "late"):
            row[design] = linear.image_dimension(design, D=D, d=d, K=K)
            row[f"{design}_closed"] = linear.image_dimension_closed_form(design, D=D, d=d, K=K)
            row[f"{design}_rank"] = linear.generic_rank(design, D=D, d=d, K=K)
            row[f"{design}_rank_closed"] = linear.generic_rank_closed_form(design, D=D, d=d, K=K)
        row["pro"] = [
            linear.image_dimension("pro", D=D, d=d, K=K, p=p, steps=r, context=c)
            for c, p, r in PRO_VARIANTS
        ]
        row["pro_closed"] = linear.image_dimension_closed_form("pro", D=D, d=d, K=K)
        rows.append(row)
    return tuple(rows)


def grid_note() -> str:
    """Whether every Jacobian rank on the grid equals its closed form, in words."""
    agree = all(
        r["early"] == r["early_closed"]
        and r["late"] == r["late_closed"]
        and all(v == r["pro_closed"] for v in r["pro"])
        and r["early_rank"] == r["early_rank_closed"]
        and r["late_rank"] == r["late_rank_closed"]
        for r in grid_rows()
    )
    if agree:
        return f"Jacobian ranks = closed forms in all {len(GRID)} cases"
    return "WARNING: a Jacobian rank differs from its closed form"


def grid_label(sep: str = "") -> str:
    """The grid's extent, e.g. ``D,d<=3, K<=4``."""
    top = {name: max(size[i] for size in GRID) for i, name in enumerate("DdK")}
    if top["D"] == top["d"]:
        return f"D,{sep}d{sep}<={sep}{top['D']}, K{sep}<={sep}{top['K']}"
    return f"D{sep}<={sep}{top['D']}, d{sep}<={sep}{top['d']}, K{sep}<={sep}{top['K']}"


def example_row() -> dict:
    """The grid row of the paper's worked example (:data:`.linear_paper.EXAMPLE`)."""
    return next(
        r for r in grid_rows() if (r["D"], r["d"], r["K"]) == tuple(EXAMPLE[k] for k in "DdK")
    )


def size_of(r: dict) -> tuple[int, int, int]:
    """A grid row's size ``(D, d, K)``."""
    return r["D"], r["d"], r["K"]


def narrow(r: dict) -> bool:
    """d < min(K, D): the sizes where a per-modality block cannot have full rank."""
    return r["d"] < min(r["K"], r["D"])


def full_elsewhere(*designs: str) -> bool:
    """Outside :func:`narrow`, each design reaches every K x 2D matrix (dim 2DK)."""
    for r in grid_rows():
        if not narrow(r):
            dims = [v for x in designs for v in (r[x] if x == "pro" else [r[x]])]
            if any(v != 2 * r["D"] * r["K"] for v in dims):
                return False
    return True
