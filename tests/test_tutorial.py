"""Execute every ```python block of docs/tutorial.md, in order, in one namespace.

Later blocks use the variables of earlier ones, as a reader pasting them into one
session would. A failure names the block's number and its first line. The whole
tutorial must stay quick (it is a 20-minute read with a seconds-long experiment).
"""

from __future__ import annotations

import re
import time
import traceback
from pathlib import Path

import pytest

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial.md"
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
BUDGET_S = 60.0  # on a 2-core machine; the tutorial takes well under this


def python_blocks(text: str) -> list[str]:
    """The bodies of the ```python fenced blocks of a Markdown text, in order."""
    return FENCE.findall(text)


def _first_line(code: str) -> str:
    return next((line.strip() for line in code.splitlines() if line.strip()), "")


def test_collector_finds_blocks_in_order() -> None:
    text = "x\n```python\na = 1\n```\n```bash\nls\n```\n```python\nb = a + 1\n```\n"
    assert python_blocks(text) == ["a = 1\n", "b = a + 1\n"]


def test_tutorial_has_numbered_sections_and_code() -> None:
    text = TUTORIAL.read_text(encoding="utf-8")
    sections = re.findall(r"^## (\d+)\. ", text, flags=re.MULTILINE)
    assert sections == [str(i) for i in range(1, len(sections) + 1)] and len(sections) >= 6
    assert len(python_blocks(text)) >= 8
    assert ">>>" not in text  # outputs are comments, not doctest prompts


def test_tutorial_runs() -> None:
    blocks = python_blocks(TUTORIAL.read_text(encoding="utf-8"))
    namespace: dict[str, object] = {"__name__": "tutorial"}
    start = time.perf_counter()
    for number, code in enumerate(blocks, start=1):
        try:
            compiled = compile(
                code, f"docs/tutorial.md, python block {number}", "exec", dont_inherit=True
            )
            exec(compiled, namespace)  # noqa: S102 - executing our own documentation
        except Exception:  # report which block failed, with its traceback
            pytest.fail(
                f"tutorial python block {number} (first line: {_first_line(code)!r}) failed:\n"
                + traceback.format_exc(),
                pytrace=False,
            )
    elapsed = time.perf_counter() - start
    assert elapsed < BUDGET_S, f"the tutorial took {elapsed:.0f} s (budget {BUDGET_S:.0f} s)"


def test_readme_python_examples_run() -> None:
    """The README's python blocks run too (except the SLURM one, which needs a cluster)."""
    readme = TUTORIAL.parents[1] / "README.md"
    blocks = [
        b for b in python_blocks(readme.read_text(encoding="utf-8")) if "dask_jobqueue" not in b
    ]
    assert blocks, "the README should show how to use the models"
    for number, code in enumerate(blocks, start=1):
        exec(
            compile(code, f"README.md, python block {number}", "exec", dont_inherit=True),
            {"__name__": "readme"},
        )  # noqa: S102
