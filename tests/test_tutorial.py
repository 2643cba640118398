"""The tutorial's shape, and any python example of the README, executed.

The tutorial itself is executed as the notebook generated from it
(``tests/test_notebook.py``: every ```python block, in order, in one kernel), and the
documentation pages' blocks by ``tests/test_docs.py``. The README holds no python
block today (its examples moved to the pages); one added there runs here.
"""

from __future__ import annotations

import re
from pathlib import Path

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial.md"
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def python_blocks(text: str) -> list[str]:
    """The bodies of the ```python fenced blocks of a Markdown text, in order."""
    return FENCE.findall(text)


def test_collector_finds_blocks_in_order() -> None:
    text = "x\n```python\na = 1\n```\n```bash\nls\n```\n```python\nb = a + 1\n```\n"
    assert python_blocks(text) == ["a = 1\n", "b = a + 1\n"]


def test_tutorial_has_numbered_sections_and_code() -> None:
    text = TUTORIAL.read_text(encoding="utf-8")
    sections = re.findall(r"^## (\d+)\. ", text, flags=re.MULTILINE)
    assert sections == [str(i) for i in range(1, len(sections) + 1)] and len(sections) >= 6
    assert len(python_blocks(text)) >= 8
    assert ">>>" not in text  # outputs are comments, not doctest prompts


def test_readme_python_examples_run() -> None:
    """The README's python blocks run too (except one that needs a SLURM cluster)."""
    readme = TUTORIAL.parents[1] / "README.md"
    blocks = [
        b for b in python_blocks(readme.read_text(encoding="utf-8")) if "dask_jobqueue" not in b
    ]
    for number, code in enumerate(blocks, start=1):
        exec(
            compile(code, f"README.md, python block {number}", "exec", dont_inherit=True),
            {"__name__": "readme"},
        )  # noqa: S102


def test_the_tutorial_is_run_locally_not_from_a_placeholder_address() -> None:
    """The tutorial and its notebook say how to open it locally, and ask the reader to
    fill in no address (the repository's public address is not known here)."""
    text = TUTORIAL.read_text(encoding="utf-8")
    notebook = (TUTORIAL.parent / "tutorial.ipynb").read_text(encoding="utf-8")
    for source in (text, notebook):
        assert "jupyter lab docs/tutorial.ipynb" in " ".join(source.split())
        assert "git+URL" not in source and "Colab" not in source
