"""Appendix "Technical Analysis" (and the main text's Pro-Fusion section): the c = 0
identity, its claims T1-T3 and the slips in the definition of G^_i.

The computations are :func:`.identity.prove_identity` (``pro - base`` simplified to
zero under the stated conditions) and :func:`.identity.find_counterexample` (exact
numbers for which dropping one condition breaks the identity).
"""

from __future__ import annotations

from . import identity
from ._records import CORRECTED, FALSE, HOLDS, Claim, Decision, Typo

__all__ = ["CLAIMS"]

_TA = "Appendix, Technical Analysis"
#: The conditions each context form states, as :func:`.identity.find_counterexample`
#: drops them one at a time.
_DROPPABLE = {"add": ("bias",), "concat": ("bias", "reinit")}
#: Unroll steps checked with the back-projection zeroed (R = 1 is the base model).
_ZERO_STEPS = (1, 2, 3)


def _decide_identity(context: identity.Context) -> Decision:
    proof = identity.prove_identity(context, steps=1)
    found = [
        ce
        for ce in (
            identity.find_counterexample(context, dropped) for dropped in _DROPPABLE[context]
        )
        if ce.found
    ]
    if not proof.holds:
        return Decision(FALSE, f"pro - base does not simplify to 0: {proof.residual}")
    if not found:
        return Decision(
            HOLDS, f"pro - base simplifies to 0 ({proof.condition}); no counterexample found"
        )
    parts = "; ".join(f"{ce.dropped}: pro - base = {ce.difference}" for ce in found)
    return Decision(
        CORRECTED,
        f"pro - base simplifies to 0 under the conditions ({proof.condition}); dropping one "
        f"({identity.COUNTEREXAMPLE_SETTING}): {parts}",
    )


def _decide_zero_backprojection() -> Decision:
    results = {
        (c, r): identity.prove_identity(c, steps=r, zero_backprojection=True).holds
        for c in _DROPPABLE
        for r in _ZERO_STEPS
    }
    if not all(results.values()):
        bad = [k for k, v in results.items() if not v]
        return Decision(FALSE, f"pro - base is not 0 for (context, R) in {bad}")
    steps = ", ".join(map(str, _ZERO_STEPS))
    forms = " and ".join(repr(c) for c in _DROPPABLE)
    return Decision(
        HOLDS,
        f"with every W_i = 0, pro - base simplifies to 0 for R = {steps} in the {forms} "
        "context forms (so the base model is in pro-fusion's function class)",
    )


_READING = (
    Typo(
        f"{_TA}, definition of G^_i",
        "G^_i : X_i x R^{d_i}",
        "G^_i : X_i x R^{d_i} -> Z_i, with Z_i the codomain of G_i",
    ),
    Typo(
        f"{_TA}, definition of G^_i and eq. (7)",
        "G^_i(x_i, c) = G_j([x_i, W_i(c)]); G^_i(x_i, c_{t-1}) = G_j(x_i + W_i(c_{t-1}))",
        "G_i([x_i, W_i(c)]); G_i(x_i + W_i(c_{t-1})) (modality i's own encoder)",
    ),
)

CLAIMS: list[Claim] = [
    Claim(
        "T1",
        "G^_i(x_i, c) = G_j([x_i, W_i(c)]), where W_i represents a matrix/network [...] "
        "such that c = 0 => F^(x, c) = F(x)",
        f"{_TA}, definition of G^_i",
        "identity.prove_identity('concat'); identity.find_counterexample('concat', ...)",
        lambda: _decide_identity("concat"),
        typos=_READING,
    ),
    Claim(
        "T2",
        "G^_i(x_i, c_{t-1}) = G_j(x_i + W_i(c_{t-1})) [...] with the initial value c_0 = 0",
        f"{_TA}, eqs. 7-9",
        "identity.prove_identity('add'); identity.find_counterexample('add', 'bias')",
        lambda: _decide_identity("add"),
    ),
    Claim(
        "T3",
        "W(.) can be zeroed out and the overall model is no worse than the baseline model",
        "Pro-Fusion (main text)",
        "identity.prove_identity(c, steps=R, zero_backprojection=True), R = 1..3",
        _decide_zero_backprojection,
    ),
]
