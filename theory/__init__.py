"""Exact (sympy) analysis of the paper's appendix claims; see :mod:`.claims`."""
