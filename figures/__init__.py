"""The paper's figures (each a Study plus a plot), the report and the ``progfusion`` CLI.

Imports ``progfusion.experiments``, ``progfusion.synthetic``, ``progfusion.models`` and
``progfusion.theory``; nothing there imports this package.
"""
