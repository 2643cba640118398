"""The records of the theory package, and the text helpers evidence is written with.

A :class:`Claim` is a sentence of the paper (quote, location), the computation
that decides it (``decide``) and the typographical slips found by reading beside
it. Deciding a claim gives a :class:`Decision`: a verdict, an evidence line built
from computed values, and the :class:`Correction` s the computation found (an
expression printed one way that computes to another). :mod:`.claims` turns the
corrections and the slips into the numbered :class:`Erratum` list, so an erratum is
never written apart from the computation that found it.

Verdicts:

- ``holds``: the computation confirms the statement as written;
- ``holds with a correction``: it confirms a corrected statement (a condition
  added, an index or label fixed, a restriction to the cases where it is true);
  the evidence names the correction;
- ``false as written``: the computation contradicts it; the evidence gives the
  counterexample.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

import sympy as sp

__all__ = [
    "CORRECTED",
    "FALSE",
    "HOLDS",
    "Claim",
    "ClaimResult",
    "Correction",
    "Decision",
    "Erratum",
    "Kind",
    "Typo",
    "Verdict",
    "fmt",
    "fmt_matrix",
    "fmt_tuples",
]

Verdict = Literal["holds", "holds with a correction", "false as written"]
HOLDS: Verdict = "holds"
CORRECTED: Verdict = "holds with a correction"
FALSE: Verdict = "false as written"
Kind = Literal["typographical", "mathematical"]


@dataclass(frozen=True)
class Correction:
    """An expression as printed and as computed, found while deciding a claim.

    ``printed_value`` and ``corrected_value`` are the objects compared (sympy
    expressions, matrices, shapes, sets); ``where`` narrows the claim's location
    (e.g. ``"entry (2,1)"``), empty for the claim's own place.
    """

    printed: str
    corrected: str
    printed_value: object
    corrected_value: object
    where: str = ""


@dataclass(frozen=True)
class Typo:
    """A typographical slip found by reading (no computation decides it)."""

    location: str
    printed: str
    corrected: str
    note: str = ""


@dataclass(frozen=True)
class Decision:
    """What deciding a claim gives: verdict, one-line evidence, corrections found."""

    verdict: Verdict
    evidence: str
    corrections: tuple[Correction, ...] = ()


@dataclass(frozen=True)
class Claim:
    """A claim of the paper, the computation that decides it, and slips beside it."""

    key: str
    quote: str
    location: str
    computation: str
    decide: Callable[[], Decision]
    typos: tuple[Typo, ...] = ()


@dataclass(frozen=True)
class ClaimResult:
    """A decided claim: the record plus the computed verdict and evidence.

    ``seconds``: the CPU time its computation took; ``corrections``: the expressions
    it found misprinted (they become errata).
    """

    key: str
    quote: str
    location: str
    computation: str
    verdict: Verdict
    evidence: str
    seconds: float
    corrections: tuple[Correction, ...] = ()


@dataclass(frozen=True)
class Erratum:
    """One erratum: where, what is printed, the correction, its kind, how found.

    Mathematical errata come from a claim's :class:`Correction` (``claim`` names
    it, ``found_by`` is its computation); typographical ones from a :class:`Typo`
    (``found_by`` starts with "found by reading", no values).
    """

    key: str
    location: str
    printed: str
    corrected: str
    kind: Kind
    found_by: str
    printed_value: object = None
    corrected_value: object = None
    claim: str = ""


# ------------------------------------------------------------------ text helpers
def fmt(e: object) -> str:
    """A sympy expression as compact text: ``F21*W11`` -> ``F21 W11``.

    In a non-commutative sum, terms with fewer factors come first
    (``W11 + G11 W11``, as the paper writes them).
    """
    if isinstance(e, sp.Add) and not e.is_commutative:
        terms = sorted(sp.Add.make_args(e), key=lambda t: len(t.args) if t.is_Mul else 1)
        return " + ".join(fmt(t) for t in terms)
    return str(e).replace("**", "^").replace("*", " ")


def fmt_matrix(m: sp.MatrixBase) -> str:
    """``[[a, b]; [c, d]]`` with every entry through :func:`fmt`."""
    rows = ["[" + ", ".join(fmt(x) for x in m.row(i)) + "]" for i in range(m.rows)]
    return "[" + "; ".join(rows) + "]"


def fmt_tuples(items: Iterable[tuple[int, ...]], sep: str = ", ") -> str:
    """Multidegrees as ``(4,0), (2,2)`` (no spaces inside a tuple)."""
    return sep.join("(" + ",".join(map(str, t)) + ")" for t in items)
