"""The errata: every mathematical correction comes from a claim's computation, differs
from the printed expression and equals a value recomputed here, independently of the
section modules that found it."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import sympy as sp
from progfusion.theory import (
    ClaimResult,
    Erratum,
    counting_claims,
    errata,
    evaluate_claims,
    linear,
    linear_claims,
    multiplicative,
    render_errata,
)
from progfusion.theory.counting_claims import D_sym, n_sym
from progfusion.theory.multiplicative import ProductNet

NET = {"n": 2, "D": 2, "width1": 3, "width2": 3}
KINDS = {"typographical", "mathematical"}


@pytest.fixture(scope="module")
def items() -> list[Erratum]:
    return errata()


def _by_key(items: list[Erratum]) -> dict[str, Erratum]:
    return {e.key: e for e in items}


def _equal(a: object, b: object) -> bool:
    """Equality of the objects errata compare: sympy matrices and expressions up to
    expansion (binomials expanded), dicts entrywise, anything else with ==."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, sp.MatrixBase) and isinstance(b, sp.MatrixBase):
        return a.shape == b.shape and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, sp.Basic) and isinstance(b, sp.Basic):
        return sp.expand(sp.expand_func(a) - sp.expand_func(b)) == 0
    return a == b


# ------------------------------------------------------------ recomputations
def _early_entry() -> sp.Expr:
    return linear.block_expansion("early")[1, 0]


def _rank_relations() -> set[str]:
    rels = set()
    for D in range(1, 4):
        for d in range(1, 4):
            for K in range(1, 5):
                early = linear.generic_rank("early", D=D, d=d, K=K)
                late = linear.generic_rank("late", D=D, d=d, K=K)
                assert early == late == min(2 * d, K, 2 * D)
                rels.add(">" if early > late else "<" if early < late else "=")
    return rels


def _example_matrix() -> sp.Matrix:
    return linear.effective_matrix("late", D=2, d=1, K=2)[0]


def _late_bidegrees() -> set[tuple[int, ...]]:
    net = ProductNet("late", **NET)
    realised = {k for k in multiplicative.monomials_by_multidegree(net) if sum(k) == 4}
    possible = {k for k in multiplicative.support_by_multidegree(net) if sum(k) == 4}
    assert realised == possible  # decided: every possible bidegree is realised
    return realised


def _concat_first_design() -> str:
    total = multiplicative.part_size(ProductNet("early", **NET), "degree4")
    full = [
        design
        for design in ("early", "late")
        if multiplicative.jacobian_dimension(ProductNet(design, **NET), "degree4") == total
    ]
    assert len(full) == 1
    return full[0]


COUNT_SIZES = [(2, 2), (3, 2), (2, 3), (4, 1), (1, 5)]


def _counts_match(kind: str) -> Callable[[dict, dict], None]:
    def check(printed: dict, corrected: dict) -> None:
        for n, D in COUNT_SIZES:
            c = multiplicative.monomial_counts(n, D)
            pc = counting_claims.printed_counts(n, D)
            at = {n_sym: n, D_sym: D}
            for design in ("early", "late"):
                key = f"{design}_{kind}"
                assert corrected[key].subs(at) == getattr(c, key)
                assert corrected[key + "_distinct"].subs(at) == getattr(c, key + "_distinct")
                assert sp.expand_func(printed[key].subs(at)) == pc[key]

    return check


def _pro_check(printed: sp.Matrix, corrected: sp.Matrix) -> None:
    f = sp.Matrix(2, 2, sp.symbols("F11 F12 F21 F22", commutative=False))
    assert _equal((f * corrected).applyfunc(sp.expand), linear.block_expansion("pro", "add"))
    g = set(sp.symbols("G11 G12 G21 G22", commutative=False))
    assert g <= printed.free_symbols and not (g & corrected.free_symbols)


def _values(expected_printed: object, expected_corrected: Callable[[], object]):
    def check(printed: object, corrected: object) -> None:
        assert _equal(printed, expected_printed)
        assert _equal(corrected, expected_corrected())

    return check


#: key -> check(printed_value, corrected_value) with independently recomputed values
RECOMPUTE: dict[str, Callable[[object, object], None]] = {
    "E4": _values(linear_claims.paper_block_expansion("early")[1, 0], _early_entry),
    "E5": _values({">"}, _rank_relations),
    "E6": _values((4, 2), lambda: tuple(_example_matrix().shape)),
    "E7": _values(linear_claims.paper_example_matrix(), _example_matrix),
    "E8": _pro_check,
    "E10": _values({(2, 2)}, _late_bidegrees),
    "E11": _values("late", _concat_first_design),
    "E13": _counts_match("features"),
    "E14": _counts_match("pairs"),
}


# ------------------------------------------------------------------ tests
def test_records_are_complete(items: list[Erratum]) -> None:
    assert [e.key for e in items] == [f"E{i + 1}" for i in range(len(items))]
    for e in items:
        assert e.kind in KINDS
        assert e.location.startswith("Appendix, ")
        assert e.printed and e.corrected and e.found_by
        assert e.printed != e.corrected
        if e.kind == "typographical":
            assert e.found_by.startswith("found by reading")
            assert e.printed_value is None and e.corrected_value is None
        else:
            assert "reading" not in e.found_by
            assert e.printed_value is not None and e.corrected_value is not None


def test_both_kinds_occur_and_typographical_ones_are_few(items: list[Erratum]) -> None:
    kinds = [e.kind for e in items]
    assert kinds.count("mathematical") >= kinds.count("typographical") >= 1


def test_every_mathematical_erratum_is_recomputed(items: list[Erratum]) -> None:
    math_keys = {e.key for e in items if e.kind == "mathematical"}
    assert math_keys == set(RECOMPUTE)


@pytest.mark.parametrize("key", sorted(RECOMPUTE, key=lambda k: int(k[1:])))
def test_printed_differs_and_correction_is_recomputed(items: list[Erratum], key: str) -> None:
    e = _by_key(items)[key]
    assert e.kind == "mathematical"
    if isinstance(e.printed_value, dict):
        assert all(not _equal(v, e.corrected_value[k]) for k, v in e.printed_value.items())
    else:
        assert not _equal(e.printed_value, e.corrected_value)
    RECOMPUTE[key](e.printed_value, e.corrected_value)


def test_early_block_erratum_names_the_entry(items: list[Erratum]) -> None:
    e = _by_key(items)["E4"]
    assert "entry (2,1)" in e.location
    assert e.printed == "F21 W11 + F21 W22" and e.corrected == "F21 W11 + F22 W21"


def test_count_corrections_are_polynomials_in_n_and_D(items: list[Erratum]) -> None:
    for key in ("E13", "E14"):
        for poly in _by_key(items)[key].corrected_value.values():
            assert poly.free_symbols <= {n_sym, D_sym}
            p = sp.Poly(sp.expand(poly), n_sym, D_sym)  # raises if not a polynomial
            assert p.total_degree() <= 8 and all(c.is_rational for c in p.coeffs())


def _cells(row: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def test_markdown_table_has_one_row_per_erratum(items: list[Erratum]) -> None:
    text = render_errata(markdown=True)
    lines = text.splitlines()
    assert lines[0] == "| # | Where | Printed | Corrected | Kind | Found by |"
    assert set(lines[1]) <= {"|", "-"}
    rows = [line for line in lines if line.startswith("| E")]
    assert len(rows) == len(items)
    for row, e in zip(rows, items, strict=True):
        cells = _cells(row)
        assert len(cells) == 6
        assert cells[0] == e.key and cells[4] == e.kind


def test_published_errata_are_the_rendered_ones() -> None:
    root = Path(__file__).resolve().parents[1]
    text = (root / "docs/paper-report.md").read_text(encoding="utf-8")
    assert render_errata(markdown=True).strip() in text, (
        "docs/paper-report.md is out of date: run `progfusion theory --paper-report "
        "docs/paper-report.md`"
    )


def test_plain_text_lists_every_erratum(items: list[Erratum]) -> None:
    text = render_errata()
    for e in items:
        assert f"{e.key} [{e.kind}]" in text
    assert f"{len(items)} errata" in text


def test_report_renders_errata_through_render() -> None:
    from progfusion.theory import render

    assert render.render_errata is render_errata


# ------------------------------------------------------- derived, never restated
@pytest.fixture(scope="module")
def results() -> list[ClaimResult]:
    return evaluate_claims()


def test_each_mathematical_erratum_is_a_correction_of_its_claim(
    items: list[Erratum], results: list[ClaimResult]
) -> None:
    by_claim = {r.key: r for r in results}
    math = [e for e in items if e.kind == "mathematical"]
    assert sum(len(r.corrections) for r in results) == len(math)
    for e in math:
        result = by_claim[e.claim]
        assert result.verdict != "holds", e.key
        assert e.found_by == f"claim {e.claim}: {result.computation}"
        assert e.location.startswith(result.location)
        assert any(
            (c.printed, c.corrected) == (e.printed, e.corrected)
            and c.corrected_value is e.corrected_value
            for c in result.corrections
        )


def test_errata_follow_the_claims_table(items: list[Erratum], results: list[ClaimResult]) -> None:
    order = [r.key for r in results]
    positions = [order.index(e.claim) for e in items]
    assert positions == sorted(positions)
    # per claim, the slips found by reading come before the computed corrections
    for key in {e.claim for e in items}:
        kinds = [e.kind for e in items if e.claim == key]
        assert kinds == sorted(kinds, key=lambda k: k != "typographical")


def test_claims_that_hold_imply_no_erratum(results: list[ClaimResult]) -> None:
    assert all(not r.corrections for r in results if r.verdict == "holds")
