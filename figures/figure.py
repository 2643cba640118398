"""A figure as a plug-in: what it trains at each size, how it draws, prints and is judged.

Each figure module (:mod:`.fig4`, :mod:`.fig7`, :mod:`.fig8`, :mod:`.gap`) exports one
:class:`Figure`, and :data:`FIGURES` (the registry, name -> Figure, in
:mod:`.registry`) is the one list that the command line, ``plot``, the report and
publishing loop over. A new figure is one module that builds a ``Figure`` and one
:func:`~.registry.register` call; nothing else names it.

What a figure provides:

``name``, ``title``
    ``progfusion figure NAME``; one line for ``--help`` and the report's heading.
``sizes``
    Per size (``tiny``, ``quick``, ``paper``, and ``cpu`` where it has one), the
    study of each table it trains, by table name. Tables of the same name in two
    figures are one table (Figure 8 reads Figure 7's), trained once per command.
``follows_protocol``
    The tables whose protocol is the command's ``--protocol``; the others keep
    their own (Figure 7(b) always trains fixed steps).
``derived``, ``derive``
    The names of the tables it computes from the trained ones, and how (Figure 8's
    robustness table, the gap study's settings); written beside them. ``derive``
    computes those it can that are not among the tables given (some need tables a
    run may lack, such as the gap study's tuned models).
``published``
    The derived tables published with the trained ones (the others are computed
    again from those).
``draw(tables, style, width_in)``
    The image, from the tables alone (trained and derived, by name), in a style
    (:data:`~.style.PAPER` or :data:`~.style.SLIDES`) and a width in inches.
``image``, ``metric``
    Its image's file name (default ``figure<name>``); the column its trained tables
    must have (``plot`` refuses a table without it in one line).
``summary(tables)``
    The lines printed after a run (at most 80 columns).
``claims(tables)``
    The paper's claims this figure tests, as :class:`~.verdicts.EmpiricalClaim`.
``bands``
    How its claims' bands read the paper's words (one clause, for the report).
``report(tables)``
    Further Markdown lines of its section in REPORT.md (optional).
``readme(tables)``
    Its rows of the README's table of what the published figures show (optional).
``write(tables, out)``, ``written``
    Further files it writes beside its image, and their names (optional; the gap
    study's ``gap.md``), which ``--force`` discards with the rest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from progfusion.experiments import Study

__all__ = ["Figure", "Tables", "apply_size"]

#: Tables by name (``figure4``, ``figure7``, ...), each one row per model.
Tables = Mapping[str, pd.DataFrame]


def _nothing(_tables: Tables) -> list:
    return []


def _no_tables(_tables: Tables) -> dict[str, pd.DataFrame]:
    return {}


def _no_files(_tables: Tables, _out: Path) -> list[Path]:
    return []


def apply_size(study: Study, *, seed: int, trials: int | None, protocol: str | None) -> Study:
    """The one rule from a size's study to a run's: the run's root seed, its trials per
    cell when given (else the size's own), and its protocol's name when given."""
    changes: dict[str, Any] = {"seed": seed, "trials": trials or study.trials}
    if protocol is not None:
        changes["protocol"] = dataclasses.replace(study.protocol, name=protocol)
    return study.with_(**changes)


@dataclass(frozen=True)
class Figure:
    """One figure (see the module docstring for each field)."""

    name: str
    title: str
    sizes: Mapping[str, Mapping[str, Study]]
    draw: Callable[..., plt.Figure]
    summary: Callable[[Tables], list[str]]
    image: str = ""  # its image's file name without extension; default figure<name>
    metric: str = "test_mse"  # the column every table it trains must have
    follows_protocol: tuple[str, ...] = ()
    derived: tuple[str, ...] = ()
    published: tuple[str, ...] = ()
    derive: Callable[[Tables], dict[str, pd.DataFrame]] = _no_tables
    claims: Callable[[Tables], list] = _nothing
    bands: str = ""
    report: Callable[[Tables], list[str]] = _nothing
    readme: Callable[[Tables], list[str]] = _nothing
    write: Callable[[Tables, Path], list[Path]] = _no_files
    written: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.image:
            object.__setattr__(self, "image", f"figure{self.name}")
        names = {size: tuple(studies) for size, studies in self.sizes.items()}
        if len(set(names.values())) > 1:
            raise ValueError(f"figure {self.name}: every size must train the same tables")

    @property
    def tables(self) -> tuple[str, ...]:
        """The tables it trains, by name, in training order."""
        return tuple(next(iter(self.sizes.values())))

    def studies(
        self,
        size: str,
        *,
        seed: int,
        trials: int | None = None,
        protocol: str | None = None,
    ) -> dict[str, Study]:
        """The study of each of its tables at ``size``, for a run (:func:`apply_size`).

        ``protocol`` applies to the tables in ``follows_protocol`` only. A
        ValueError names the sizes it has when it has no ``size``.
        """
        if size not in self.sizes:
            raise ValueError(
                f"figure {self.name} has no size {size!r} (it has {', '.join(self.sizes)})"
            )
        return {
            table: apply_size(
                study,
                seed=seed,
                trials=trials,
                protocol=protocol if table in self.follows_protocol else None,
            )  # fmt: skip
            for table, study in self.sizes[size].items()
        }

    @property
    def has_claims(self) -> bool:
        """Whether it tests claims of the paper (the report trains those figures)."""
        return self.claims is not _nothing

    def with_derived(self, tables: Tables) -> dict[str, pd.DataFrame]:
        """``tables`` and the derived tables it can compute from them (those not given)."""
        tables = dict(tables)
        if any(name not in tables for name in self.derived):
            tables.update({k: v for k, v in self.derive(tables).items() if k not in tables})
        return tables
