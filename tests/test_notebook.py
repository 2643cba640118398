"""The tutorial notebook: generated from docs/tutorial.md, and it runs top to bottom.

The notebook is never edited by hand: ``docs/make_notebook.py`` builds it from the
Markdown, and the first test fails when the committed file differs from what the
Markdown gives today (run the script to refresh it). The second executes it in a
fresh Python kernel (nbclient), as a reader in Jupyter would.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
# About 40 s on 2 idle cores (kernel start, sympy, seconds-long training); 78 s measured
# with four test suites sharing the 2 cores, hence the margin.
BUDGET_S = 150.0


def _generator():
    spec = importlib.util.spec_from_file_location("make_notebook", DOCS / "make_notebook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_notebook_is_the_one_generated_from_the_markdown() -> None:
    make = _generator()
    generated = make.build_notebook(make.SOURCE.read_text(encoding="utf-8"))
    committed = make.NOTEBOOK.read_text(encoding="utf-8")
    assert committed == generated, "docs/tutorial.ipynb is stale: run docs/make_notebook.py"
    assert make.build_notebook(make.SOURCE.read_text(encoding="utf-8")) == generated  # stable


def test_the_generator_keeps_code_as_code_and_shows_shell_blocks() -> None:
    import nbformat

    text = "# T\n\nintro\n\n```python\nx = 1\n```\n\nmore\n\n```bash\nprogfusion figures\n```\n"
    notebook = nbformat.reads(_generator().build_notebook(text), as_version=4)
    kinds = [(c.cell_type, c.source) for c in notebook.cells]
    assert ("code", "x = 1") in kinds
    assert ("markdown", "```bash\nprogfusion figures\n```") in kinds  # shown, never run
    assert not any(c.cell_type == "code" and "progfusion" in c.source for c in notebook.cells)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # jupyter_client / zmq internals
def test_notebook_runs_top_to_bottom(monkeypatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")  # no path-migration warning
    notebook = nbformat.read(DOCS / "tutorial.ipynb", as_version=4)
    start = time.perf_counter()
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute(cwd=str(DOCS))
    elapsed = time.perf_counter() - start
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code)
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert errors == []
    assert elapsed < BUDGET_S, f"the notebook took {elapsed:.0f} s (budget {BUDGET_S:.0f} s)"
