"""Every claim of the appendix with its computed verdict, and the errata they imply.

The claims live with their appendix section, each with the computation that
decides it:

- :mod:`.identity_claims`: "Technical Analysis", the c = 0 identity (T1-T3);
- :mod:`.linear_claims`: "Linear Model" (L1-L11);
- :mod:`.multiplicative_claims`: "Multiplicative Nonlinearity" (M1-M6);
- :mod:`.counting_claims`: its feature and parameter counts (C1-C4).

This module runs them (each once per process) and numbers the errata: for every
claim in table order, the slips found by reading beside it, then the corrections
its computation found. No verdict and no corrected expression is written here.
Tables and the command line are in :mod:`.render`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable
from dataclasses import replace

from . import counting_claims, identity_claims, linear_claims, multiplicative_claims
from ._records import Claim, ClaimResult, Erratum

__all__ = ["CLAIMS", "errata", "evaluate_claims"]

#: Every claim of the appendix, in the order of the table (T, L, M, C).
CLAIMS: list[Claim] = [
    *identity_claims.CLAIMS,
    *linear_claims.CLAIMS,
    *multiplicative_claims.CLAIMS,
    *counting_claims.CLAIMS,
]
_BY_KEY = {c.key: c for c in CLAIMS}
BY_READING = "found by reading"


@functools.cache
def _result(key: str) -> ClaimResult:
    claim = _BY_KEY[key]
    start = time.process_time()
    decision = claim.decide()
    return ClaimResult(
        key=claim.key,
        quote=claim.quote,
        location=claim.location,
        computation=claim.computation,
        verdict=decision.verdict,
        evidence=decision.evidence,
        seconds=time.process_time() - start,
        corrections=decision.corrections,
    )


def evaluate_claims(keys: Iterable[str] | None = None) -> list[ClaimResult]:
    """Decide every claim (or those with the given keys), in table order.

    Each claim is computed once per process; ``seconds`` is the CPU time that took
    (the computations are single-threaded, so this is the time on one core).
    """
    wanted = set(_BY_KEY) if keys is None else set(keys)
    if unknown := wanted - set(_BY_KEY):
        raise ValueError(f"unknown claim keys {sorted(unknown)}; known: {list(_BY_KEY)}")
    return [_result(c.key) for c in CLAIMS if c.key in wanted]


def errata() -> list[Erratum]:
    """Every erratum, numbered E1, E2, ... in claim order (decides every claim).

    Per claim: its typographical slips (found by reading, typed in), then the
    mathematical corrections its computation found, located at the claim.
    """
    items = []
    for claim, result in zip(CLAIMS, evaluate_claims(), strict=True):
        for typo in claim.typos:
            found_by = BY_READING + (f"; {typo.note}" if typo.note else "")
            items.append(
                Erratum(
                    "",
                    typo.location,
                    typo.printed,
                    typo.corrected,
                    "typographical",
                    found_by,
                    claim=claim.key,
                )
            )
        for c in result.corrections:
            items.append(
                Erratum(
                    key="",
                    location=claim.location + (f", {c.where}" if c.where else ""),
                    printed=c.printed,
                    corrected=c.corrected,
                    kind="mathematical",
                    found_by=f"claim {claim.key}: {claim.computation}",
                    printed_value=c.printed_value,
                    corrected_value=c.corrected_value,
                    claim=claim.key,
                )
            )
    return [replace(e, key=f"E{i + 1}") for i, e in enumerate(items)]
