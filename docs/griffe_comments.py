"""A griffe extension: the package's Sphinx-style docstring habits, read for mkdocstrings.

- ``#:`` comments above a module attribute become its docstring. The package
  documents its constants the way Sphinx reads them::

      #: The named designs.
      DESIGNS: dict[str, Callable[..., nn.Module]] = {...}

  griffe reads only a string literal *after* an assignment, so without this the API
  pages (mkdocstrings, ``mkdocs.yml``) would show those constants undocumented. An
  attribute that already has a docstring keeps it.
- Sphinx roles (``:class:`~.tasks.LatentTask```, ``:func:`run_study```) become inline
  code (``LatentTask``, ``run_study``), as Sphinx shows them, instead of the literal
  role that Markdown would print.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

#: ``:role:`target```, ``:role:`~a.b.target``` or ``:role:`title <target>```.
ROLE = re.compile(r":(?:py:)?[a-z]+:`(?P<tilde>~?)(?P<text>[^`<]+?)(?:\s*<(?P<target>[^>`]+)>)?`")


def plain_roles(text: str) -> str:
    """Sphinx cross-reference roles as the inline code Sphinx would show."""

    def show(match: re.Match) -> str:
        shown = match.group("text").strip()
        if match.group("target") is None:
            shown = shown.lstrip(".")
            if match.group("tilde"):
                shown = shown.rpartition(".")[2]
        return f"`{shown}`"

    return ROLE.sub(show, text)


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
    """``#:`` comments as docstrings, and Sphinx roles as inline code (module docstring)."""

    def on_attribute_instance(self, *, attr: griffe.Attribute, **kwargs: Any) -> None:
        if attr.docstring is not None:
            return
        text = comment_docstring(attr)
        if text:
            attr.docstring = griffe.Docstring(plain_roles(text), lineno=attr.lineno, parent=attr)

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None and ":" in obj.docstring.value:
            obj.docstring.value = plain_roles(obj.docstring.value)
