"""Experiments, metrics, plots, reports and the ``progfusion`` command line.

Imports ``progfusion.synthetic``, ``progfusion.models`` and ``progfusion.theory``;
nothing there imports this package.
"""
