"""Exact (sympy) analysis of the paper's appendix: "Technical Analysis", "Linear
Model" and "Multiplicative Nonlinearity".

The models, computed exactly:

- :mod:`.identity`: the c = 0 identity, proved, and counterexamples;
- :mod:`.linear`: effective matrices of early, late and pro fusion, block
  expansions, constraints, image dimensions, ranks;
- :mod:`.product_net`: the pairwise-product network and its exact forward pass;
- :mod:`.multiplicative`: its monomials by multidegree, Jacobian dimensions of
  parts, feature and monomial counts.

One module per appendix section holds that section's claims (quote, location),
the functions that decide them and the errata those decisions find:
:mod:`.identity_claims`, :mod:`.linear_claims`, :mod:`.multiplicative_claims`,
:mod:`.counting_claims`. The linear section's are split by job: its claims
(:mod:`.linear_claims`), the printed expressions (:mod:`.linear_paper`), the grid
of sizes (:mod:`.linear_grid`) and the decisions (:mod:`.linear_decisions`).
:mod:`.claims` runs them all and numbers the errata;
:mod:`.render` draws the tables and is the ``progfusion theory`` command.

This subpackage imports nothing else of ``progfusion`` (sympy and numpy only).
"""

from ._records import Claim, ClaimResult, Erratum
from .claims import CLAIMS, errata, evaluate_claims
from .counting_claims import printed_counts
from .identity import Counterexample, IdentityProof, find_counterexample, prove_identity
from .linear import (
    block_expansion,
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
)
from .linear_paper import compare_block_expansion, paper_block_expansion, paper_example_matrix
from .multiplicative import (
    MonomialCounts,
    jacobian_dimension,
    jacobian_dimensions,
    monomial_counts,
    monomials_by_multidegree,
    output_polynomial,
    support_by_multidegree,
    symbolic_absent,
)
from .product_net import ProductNet
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
