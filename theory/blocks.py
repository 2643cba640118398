"""Generated blocks inside hand-written Markdown files.

A block is the text between a start and an end marker (HTML comments, invisible
when rendered), for example ``<!-- figures:start -->`` and ``<!-- figures:end -->``.
Code writes the text between them; everything outside is the author's. The theory
table (:mod:`.render`) and the figures' published blocks in the README and
``docs/paper-report.md`` (``progfusion.figures.publish``, ``.paper_report``) use the
same operations: :func:`replace_blocks` rewrites them, :func:`stale_blocks` names
those whose text differs from what code gives, so a test fails on a hand edit. It
lives here, in the package every other imports and which imports nothing of ours,
so that both may use it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "Markers",
    "check_file",
    "missing_markers",
    "replace_blocks",
    "require_markers",
    "rewrite_file",
    "stale_blocks",
]

#: Block name -> (start marker, end marker).
Markers = Mapping[str, tuple[str, str]]


def _pattern(start: str, end: str) -> re.Pattern:
    return re.compile(re.escape(start) + r"\n(.*?)\n?" + re.escape(end), re.DOTALL)


def missing_markers(text: str, markers: Markers) -> list[str]:
    """The markers of ``markers`` that ``text`` lacks, in order."""
    return [m for pair in markers.values() for m in pair if m not in text]


def replace_blocks(text: str, bodies: Mapping[str, str], markers: Markers) -> str:
    """``text`` with each named block's text replaced by ``bodies[name]``.

    A ``ValueError`` (naming the markers) when ``text`` lacks one of them.
    """
    missing = missing_markers(text, {name: markers[name] for name in bodies})
    if missing:
        raise ValueError(f"text: missing the markers {', '.join(missing)}")
    for name, body in bodies.items():
        start, end = markers[name]
        block = f"{start}\n{body.strip()}\n{end}"
        text = _pattern(start, end).sub(lambda _m, block=block: block, text, count=1)
    return text


def stale_blocks(text: str, bodies: Mapping[str, str], markers: Markers) -> list[str]:
    """Names of the blocks whose text in ``text`` differs from ``bodies`` (or are missing)."""
    stale = []
    for name, body in bodies.items():
        found = _pattern(*markers[name]).search(text)
        if found is None or found.group(1).strip() != body.strip():
            stale.append(name)
    return stale


def require_markers(path: Path, markers: Markers, parameter: str) -> str:
    """The text of the file at ``path``; a ValueError naming ``parameter`` (the option or
    argument that gave ``path``) when there is no such file or it lacks a marker."""
    if not Path(path).is_file():
        raise ValueError(f"{parameter}: no such file: {path}")
    text = Path(path).read_text(encoding="utf-8")
    missing = missing_markers(text, markers)
    if missing:
        raise ValueError(f"{parameter}: {path} lacks the markers {', '.join(missing)}")
    return text


def rewrite_file(path: Path, bodies: Mapping[str, str], markers: Markers, parameter: str) -> None:
    """Rewrite the blocks of the file at ``path`` (see :func:`require_markers` for the errors;
    nothing is written then)."""
    text = require_markers(path, {name: markers[name] for name in bodies}, parameter)
    Path(path).write_text(replace_blocks(text, bodies, markers), encoding="utf-8")


def check_file(path: Path, bodies: Mapping[str, str], markers: Markers) -> list[str]:
    """Names of the blocks of the file at ``path`` that differ from ``bodies`` (or are missing)."""
    return stale_blocks(Path(path).read_text(encoding="utf-8"), bodies, markers)
