"""The paper's figures as plug-ins, the report and the ``progfusion`` command line.

Each figure is a :class:`~.figure.Figure` in its own module (:mod:`.fig4`,
:mod:`.fig7`, :mod:`.fig8`, :mod:`.gap`), and :data:`FIGURES` (:mod:`.registry`) is
the registry the command line, ``plot``, the report and publishing loop over. A new
figure is one module that builds a ``Figure`` and registers it
(:func:`~.registry.register`); nothing else names it.

Imports ``progfusion.experiments``, ``progfusion.synthetic``, ``progfusion.models``
and ``progfusion.theory``; nothing there imports this package. ``FIGURES`` is
imported on first use, so that ``progfusion --help``'s import of the command line
stays light until it is needed.
"""

__all__ = ["FIGURES", "Figure", "register"]


def __getattr__(name: str):
    if name in ("FIGURES", "register"):
        from . import registry

        return getattr(registry, name)
    if name == "Figure":
        from .figure import Figure

        return Figure
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
