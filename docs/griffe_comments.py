"""A griffe extension: ``#:`` comments above a module attribute become its docstring.

The package documents its constants the way Sphinx reads them::

    #: The named designs.
    DESIGNS: dict[str, Callable[..., nn.Module]] = {...}

griffe reads only a string literal *after* an assignment, so without this extension
the API pages (mkdocstrings, ``mkdocs.yml``) would show those constants undocumented.
An attribute that already has a docstring keeps it.
"""

from __future__ import annotations

from typing import Any

import griffe


def comment_docstring(attr: griffe.Attribute) -> str | None:
    """The text of the ``#:`` lines right above ``attr``'s first line, or None."""
    try:
        lines = attr.module.lines
    except Exception:  # no source (an inspected or generated module)
        return None
    if not lines or not attr.lineno:
        return None
    found: list[str] = []
    index = attr.lineno - 2  # the line above the assignment, 0-based
    while index >= 0 and lines[index].strip().startswith("#:"):
        found.append(lines[index].strip()[2:].strip())
        index -= 1
    return "\n".join(reversed(found)) or None


class CommentDocstrings(griffe.Extension):
    """Give an undocumented attribute the ``#:`` comment above it as its docstring."""

    def on_attribute_instance(self, *, attr: griffe.Attribute, **kwargs: Any) -> None:
        if attr.docstring is not None:
            return
        text = comment_docstring(attr)
        if text:
            attr.docstring = griffe.Docstring(text, lineno=attr.lineno, parent=attr)
