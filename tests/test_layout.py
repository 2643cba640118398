"""The import direction of SPEC section 2, read from the source of every module.

theory, synthetic, models   import nothing of ours
experiments                 imports synthetic and models
figures                     imports experiments, synthetic, models and theory
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {
    "theory": set(),
    "synthetic": set(),
    "models": set(),
    "experiments": {"synthetic", "models"},
    "figures": {"experiments", "synthetic", "models", "theory"},
}


def _imported_packages(path: Path) -> set[str]:
    """The ``progfusion`` subpackages a module imports (absolute imports)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "progfusion" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_only_what_the_spec_allows(package: str) -> None:
    modules = sorted((ROOT / package).glob("*.py"))
    assert modules
    for module in modules:
        extra = _imported_packages(module) - ALLOWED[package] - {package}
        assert not extra, f"{module.relative_to(ROOT)} imports progfusion.{sorted(extra)}"


def test_the_checker_sees_an_import() -> None:
    assert _imported_packages(ROOT / "figures" / "runner.py") >= {"experiments"}
