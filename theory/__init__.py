"""Exact (sympy) analysis of the paper's appendix: "Linear Model", "Multiplicative
Nonlinearity" and "Technical Analysis".

- :mod:`.linear`: effective matrices of early, late and pro fusion, block
  expansions against the printed ones, constraints, image dimensions, ranks;
- :mod:`.multiplicative`: the pairwise-product network, its monomials by
  multidegree, Jacobian dimensions of parts, feature and monomial counts;
- :mod:`.identity`: the c = 0 identity, proved, and counterexamples;
- :mod:`.claims`: every claim with its computed verdict (``progfusion theory``);
- :mod:`.errata`: the appendix's typographical and mathematical errata, each with
  its corrected expression (computed for the mathematical ones).

This subpackage imports nothing else of ``progfusion`` (sympy and numpy only).
"""

from .claims import (
    CLAIMS,
    Claim,
    ClaimResult,
    evaluate_claims,
)
from .errata import Erratum, errata
from .identity import Counterexample, IdentityProof, find_counterexample, prove_identity
from .linear import (
    block_expansion,
    compare_block_expansion,
    early_constraints,
    effective_matrix,
    evaluate_effective_matrix,
    generic_rank,
    generic_rank_closed_form,
    image_dimension,
    image_dimension_closed_form,
    implicitize,
    is_early_reachable,
    is_late_reachable,
    late_constraints,
    maximum_rank,
    paper_block_expansion,
    paper_example_matrix,
)
from .multiplicative import (
    MonomialCounts,
    ProductNet,
    jacobian_dimension,
    jacobian_dimensions,
    monomial_counts,
    monomials_by_multidegree,
    output_polynomial,
    printed_counts,
    support_by_multidegree,
    symbolic_absent,
)
from .render import render_claims_table, render_counts_table, render_errata, update_readme

__all__ = [
    "CLAIMS",
    "Claim",
    "ClaimResult",
    "Counterexample",
    "Erratum",
    "IdentityProof",
    "MonomialCounts",
    "ProductNet",
    "block_expansion",
    "compare_block_expansion",
    "early_constraints",
    "effective_matrix",
    "errata",
    "evaluate_claims",
    "evaluate_effective_matrix",
    "find_counterexample",
    "generic_rank",
    "generic_rank_closed_form",
    "image_dimension",
    "image_dimension_closed_form",
    "implicitize",
    "is_early_reachable",
    "is_late_reachable",
    "jacobian_dimension",
    "jacobian_dimensions",
    "late_constraints",
    "maximum_rank",
    "monomial_counts",
    "monomials_by_multidegree",
    "output_polynomial",
    "paper_block_expansion",
    "paper_example_matrix",
    "printed_counts",
    "prove_identity",
    "render_claims_table",
    "render_counts_table",
    "render_errata",
    "support_by_multidegree",
    "symbolic_absent",
    "update_readme",
]
