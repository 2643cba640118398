"""Generate docs/tutorial.ipynb from docs/tutorial.md, the one source of the tutorial.

Run from the repository root after editing the tutorial::

    .venv/bin/python docs/make_notebook.py

Each ```python block becomes a code cell and the prose between them markdown cells
(jupytext's Markdown reader); shell blocks stay shown, not run. The notebook is
written without outputs, with fixed cell ids and a plain Python 3 kernel, so that
the same Markdown always gives the same file: tests/test_notebook.py checks that the
committed notebook is the generated one, and executes it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext
import nbformat

DOCS = Path(__file__).resolve().parent
SOURCE = DOCS / "tutorial.md"
NOTEBOOK = DOCS / "tutorial.ipynb"

HOW_TO_RUN = """\
**Running this notebook.** It is generated from `docs/tutorial.md` (edit that file,
then run `python docs/make_notebook.py`). Run it locally, in the package's environment
(the README's set-up command, "Set-up and tests"): from the repository's root,
`.venv/bin/pip install jupyterlab && .venv/bin/jupyter lab docs/tutorial.ipynb`, or open
the file in VS Code and choose `.venv/bin/python` as the kernel. Then run the cells in
order; everything below takes under a minute on one CPU core."""

KERNEL = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def build_notebook(markdown: str) -> str:
    """The notebook (nbformat 4 JSON text) of the tutorial's Markdown text."""
    read = jupytext.reads(markdown, fmt="md")
    cells = []
    for cell in read.cells:
        source = cell.source
        if cell.cell_type == "code" and source.startswith("%%"):  # a shell block: show it
            magic, _, body = source.partition("\n")
            cells.append(nbformat.v4.new_markdown_cell(f"```{magic[2:]}\n{body}\n```"))
        elif cell.cell_type == "code":
            cells.append(nbformat.v4.new_code_cell(source))
        else:
            cells.append(nbformat.v4.new_markdown_cell(source))
    cells.insert(1, nbformat.v4.new_markdown_cell(HOW_TO_RUN))
    for number, cell in enumerate(cells):
        cell["id"] = f"cell-{number:03d}"
    notebook = nbformat.v4.new_notebook(cells=cells, metadata=KERNEL)
    nbformat.validate(notebook)
    return nbformat.writes(notebook)


def main() -> int:
    NOTEBOOK.write_text(build_notebook(SOURCE.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {NOTEBOOK}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
