"""How the printed summaries state a number: beside its n, its interval and its comparison.

Every mean the figures print goes through :func:`estimate`, so it reads the same
everywhere: ``+1.01% [95% CI +0.93, +1.10], n = 2430``. With fewer than
:data:`~progfusion.experiments.metrics.MIN_PAIRS` values the interval is left out
and a warning takes its place (a percentile bootstrap of 2-4 values is too narrow
to trust). Lines are kept within 80 columns.

Written by hand rather than with ``rich``: a few aligned columns need no dependency,
and progress comes from ``tqdm``, which hides itself off a terminal (README,
"Choices this package makes").
"""

from __future__ import annotations

import math

from progfusion.experiments.metrics import MIN_PAIRS

__all__ = ["comparison_rows", "decide_theory", "estimate", "too_few", "pct", "frac"]


def pct(x: float) -> str:
    """A signed percentage, ``+1.01%``."""
    return f"{x:+.2f}%" if math.isfinite(x) else "n/a"


def frac(x: float) -> str:
    """A fraction in [0, 1] as a percentage, ``68.5%``."""
    return f"{100 * x:.1f}%" if math.isfinite(x) else "n/a"


def too_few(n: int, what: str = "paired trials") -> str | None:
    """The warning for ``n`` values (``what``: their name), or None when there are enough
    for an interval."""
    if n >= MIN_PAIRS:
        return None
    return f"only {n} {what}: too few for a 95% interval (need {MIN_PAIRS})"


def estimate(
    mean: float, low: float, high: float, n: int, fmt=pct, *, show_n=True, label=True
) -> str:
    """``mean [95% CI low, high], n = N`` (``mean, n = N (no interval)`` when n < 5).

    ``fmt`` formats one number (:func:`pct`, :func:`frac`, or e.g. ``"{:.3f}".format``);
    ``label=False`` leaves out "95% CI" (for a column headed by it).
    """
    size = f", n = {n}" if show_n else ""
    if n < MIN_PAIRS:
        return f"{fmt(mean)}{size} (no interval)"
    ci = "95% CI " if label else ""
    return f"{fmt(mean)} [{ci}{fmt(low)}, {fmt(high)}]{size}"


def comparison_rows(rows: list[tuple[str, str, str, str]], indent: int = 2) -> list[str]:
    """Aligned lines ``what | measured [95% CI] | paper | baseline`` under a header.

    ``rows``: (what was measured, the estimate, the paper's value, the baseline), all
    already formatted; columns are as wide as their widest cell.
    """
    header = ("", "measured [95% CI]", "paper", "baseline")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    pad = " " * indent
    return [
        pad + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [header, *rows]
    ]


def decide_theory(*, quiet: bool = False, progress: bool | None = None) -> None:
    """Decide every theory claim with a progress bar on stderr (one step per claim).

    The results are cached for the process, so the renderers that follow print at
    once. The bar shows only on a terminal (tqdm's ``disable=None``), always with
    ``progress=True`` (``--progress``), never with ``quiet`` or ``progress=False``;
    the computations take about 15 s on one core.
    """
    from progfusion.theory import claims
    from tqdm.auto import tqdm

    keys = [c.key for c in claims.CLAIMS]
    disable = True if quiet or progress is False else (None if progress is None else False)
    bar = tqdm(keys, desc="theory: deciding claims", unit="claim", disable=disable)
    for key in bar:
        bar.set_postfix_str(key)
        claims.evaluate_claims([key])
