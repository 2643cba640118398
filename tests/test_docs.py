"""The documentation site (``mkdocs.yml``, ``docs/``): it builds, and its pages cannot rot.

- the site builds with ``mkdocs build --strict`` (any warning fails it: a broken
  link or anchor, a page left out of the navigation, a public name without an API
  entry or a docstring, a study-file field without a description, an include whose
  source is gone), when MkDocs is installed (the ``docs`` extra; CI installs it);
- the checks ``docs/hooks.py`` runs during the build, run here without MkDocs too:
  every public name has an API entry and a docstring, the study-file tables describe
  every field, the command-line page every command and option, every include resolves;
- every ```python block of the pages runs, page by page, in a fresh temporary
  folder (the tutorial runs as its notebook, ``tests/test_notebook.py``);
- every relative link of the README resolves to a file of the repository.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: A ```python block whose first line starts so is shown on the site, not run here.
SKIP_MARKER = "# docs-test: skip ("
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
#: Pages whose code runs elsewhere: the tutorial is executed as its notebook.
NOT_HERE = {"tutorial.md"}
#: The strict build took about 10 s on 2 busy cores; the margin is for a loaded machine.
BUILD_BUDGET_S = 120.0


def _hooks():
    spec = importlib.util.spec_from_file_location("progfusion_docs_hooks", DOCS / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hooks = _hooks()


def _pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if p.name not in NOT_HERE)


def python_blocks(text: str) -> list[str]:
    """The bodies of the ```python fenced blocks of a Markdown text, in order."""
    return FENCE.findall(text)


# --------------------------------------------------------------------- the build


def _mkdocs_available() -> bool:
    needed = ("mkdocs", "material", "mkdocstrings_handlers.python", "mkdocs_jupyter")
    return all(importlib.util.find_spec(name.split(".")[0]) is not None for name in needed)


@pytest.mark.skipif(
    not _mkdocs_available(),
    reason="MkDocs is not installed (pip install -e '.[docs]'); CI installs it",
)
def test_site_builds_in_strict_mode(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's end-of-life notice
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    elapsed = time.perf_counter() - start
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{output[-6000:]}"
    assert "WARNING" not in output, output[-6000:]
    assert elapsed < BUILD_BUDGET_S, f"the site took {elapsed:.0f} s to build"
    # the generated pages are there, and the API pages rendered every entry
    cli = (site / "cli" / "index.html").read_text(encoding="utf-8")
    for name in hooks.subcommands(_parser()):
        assert f"progfusion {name}" in cli
    rendered = "".join(p.read_text(encoding="utf-8") for p in (site / "api").rglob("index.html"))
    missing = [name for name in hooks.api_entries() if f'id="{name}"' not in rendered]
    assert not missing, f"API entries not rendered: {missing}"
    assert (site / "tutorial" / "index.html").exists()


# --------------------------------------------------------------------- the API pages


def test_every_public_name_has_an_api_entry() -> None:
    entries = hooks.api_entries()
    names = hooks.public_names()
    assert set(names) == {
        f"progfusion.{p}" for p in ("models", "synthetic", "theory", "experiments")
    }
    missing = [
        f"{package}.{name}"
        for package, members in names.items()
        for name in members
        if f"{package}.{name}" not in entries
    ]
    assert not missing, f"public names on no page under docs/api/: {missing}"


def test_api_entries_name_real_objects() -> None:
    import importlib

    for dotted in hooks.api_entries():
        module_name, _, attr = dotted.rpartition(".")
        try:
            module = importlib.import_module(dotted)
        except ImportError:
            module = None
        if module is None:
            assert hasattr(importlib.import_module(module_name), attr), dotted


def test_every_public_name_has_a_docstring() -> None:
    pytest.importorskip("griffe", reason="griffe comes with the docs extra")
    assert hooks.undocumented(hooks.public_names()) == []


def test_the_griffe_extension_reads_comments_and_sphinx_roles(tmp_path: Path) -> None:
    griffe = pytest.importorskip("griffe", reason="griffe comes with the docs extra")
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        '#: Documented by a comment.\nA = 1\nB = 2\nC = 3\n"""Documented by a string."""\n'
        'def f():\n    """Calls :func:`~.mod.g` and :class:`pkg.K`."""\n'
    )
    extension = griffe.load_extensions(f"{DOCS / 'griffe_comments.py'}:CommentDocstrings")
    module = griffe.load("pkg", search_paths=[str(tmp_path)], extensions=extension)
    assert module["A"].docstring.value == "Documented by a comment."
    assert module["B"].docstring is None
    assert module["C"].docstring.value == "Documented by a string."
    assert module["f"].docstring.value == "Calls `g` and `pkg.K`."  # Sphinx roles as code


# --------------------------------------------------------------------- generated pages


def _parser() -> argparse.ArgumentParser:
    from progfusion.figures.cli import build_parser

    return build_parser()


def test_cli_page_names_every_command_and_option() -> None:
    parser = _parser()
    page = hooks.cli_markdown(parser)
    commands = hooks.subcommands(parser)
    assert {"figures", "figure", "study", "plot", "theory", "report"} <= set(commands)
    for name, (_, sub) in commands.items():
        section = page.split(f"## progfusion {name}\n", 1)[1].split("\n## ", 1)[0]
        for action in sub._actions:
            for option in action.option_strings or [action.dest]:
                assert f"`{option}`" in section, f"progfusion {name}: {option} not on the page"
            for choice in action.choices or ():
                assert f"`{choice}`" in section, f"progfusion {name} {action.dest}: {choice}"


def test_study_file_page_describes_every_field() -> None:
    from progfusion.experiments import LatentTask, LatticeTask, Protocol, Study, studyfile

    page = (DOCS / "study-file.md").read_text(encoding="utf-8")
    tables = {}
    for name in hooks.GENERATED.findall(page):
        text, problems = hooks.generated(name)
        assert problems == [], problems
        tables[name] = text
    for name, cls in [
        ("study-fields", Study),
        ("protocol-fields", Protocol),
        ("latent-fields", LatentTask),
        ("lattice-fields", LatticeTask),
    ]:
        for field in dataclasses.fields(cls):
            assert f"| `{field.name}` |" in tables[name], f"{cls.__name__}.{field.name}"
    for field in studyfile._FIELDS:  # the file's own list of top-level fields
        assert f"| `{field}` |" in tables["study-fields"], field
    assert "`late-wide`" in tables["design-parameters"]


def test_a_new_field_without_a_description_is_a_problem() -> None:
    @dataclasses.dataclass(frozen=True)
    class Extended:
        n_train: int = 1
        brand_new: float = 0.5

    rows, problems = hooks.field_table(Extended, hooks.TASK_FIELDS, "task")
    assert len(problems) == 1 and "brand_new" in problems[0]
    assert any("`brand_new` | `0.5`" in row for row in rows)


def test_every_include_of_the_pages_resolves() -> None:
    found = 0
    for page in _pages():
        for match in hooks.INCLUDE.finditer(page.read_text(encoding="utf-8")):
            text = hooks.include(match.group(0), page.parent)
            assert text.strip(), f"{page.name}: {match.group(0)} includes nothing"
            found += 1
    assert found >= 8


def test_include_takes_a_block_a_section_and_rows_and_moves_links(tmp_path: Path) -> None:
    source = ROOT / "docs" / "paper-report.md"
    text = hooks.include(
        '<!-- include: docs/paper-report.md#paper-report section="Empirical claims" '
        'rows="8" only="tables" -->',
        DOCS / "figures",
    )
    rows = text.splitlines()
    assert len(rows) >= 3 and all(r.startswith("|") for r in rows)
    assert all(r.split("|")[1].strip() == "8" for r in rows[2:])
    assert source.exists()
    assert hooks._rebase("![a](results/x.png)", DOCS, DOCS / "figures") == "![a](../results/x.png)"
    assert hooks.literal_brackets('"[a b][c d]" `x][y`') == '"[a b]\\[c d]" `x][y`'
    with pytest.raises(ValueError, match="no heading"):
        hooks.include('<!-- include: docs/paper-report.md section="No such" -->', DOCS)


# --------------------------------------------------------------------- code blocks


def _runnable(page: Path) -> list[str]:
    blocks = python_blocks(page.read_text(encoding="utf-8"))
    return [b for b in blocks if not b.startswith(SKIP_MARKER)]


def test_blocks_that_are_not_run_say_why() -> None:
    for page in _pages():
        for block in python_blocks(page.read_text(encoding="utf-8")):
            first = block.splitlines()[0] if block.strip() else ""
            if first.startswith("# docs-test"):
                assert first.startswith(SKIP_MARKER) and first.endswith(")"), (
                    f"{page.name}: write the marker as '{SKIP_MARKER}reason)', got {first!r}"
                )


@pytest.mark.parametrize(
    "page",
    [p for p in _pages() if _runnable(p)],
    ids=lambda p: p.relative_to(DOCS).as_posix(),
)
def test_python_blocks_run(page: Path, tmp_path: Path, monkeypatch) -> None:
    """Each page's ```python blocks, in order, in one namespace, in an empty folder."""
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    for number, code in enumerate(_runnable(page), start=1):
        name = f"{page.relative_to(DOCS)}, python block {number}"
        exec(compile(code, name, "exec", dont_inherit=True), namespace)  # noqa: S102


def test_the_block_collector_finds_blocks_in_order() -> None:
    text = "x\n```python\na = 1\n```\n```bash\nls\n```\n```python\nb = a + 1\n```\n"
    assert python_blocks(text) == ["a = 1\n", "b = a + 1\n"]


# --------------------------------------------------------------------- the README

_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)


def relative_links(markdown: str) -> list[str]:
    """The relative link targets of a Markdown text, outside code (fragments dropped)."""
    text = re.sub(r"^```.*?^```[ \t]*$", "", markdown, flags=re.DOTALL | re.MULTILINE)
    text = re.sub(r"`[^`\n]*`", "", text)
    targets = _LINK.findall(text) + _REFERENCE.findall(text)
    found = []
    for target in targets:
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL, or an anchor of the same file
        found.append(unquote(target.split("#", 1)[0]))
    return found


def test_link_collector() -> None:
    text = (
        "[a](docs/a.md) ![i](docs/i.png) [w](https://x.org) [s](#here) [f](b.md#part)\n"
        "`[c](not/a/link.md)`\n```\n[d](in/code.md)\n```\n[r]: docs/ref.md\n"
    )
    assert relative_links(text) == ["docs/a.md", "docs/i.png", "b.md", "docs/ref.md"]


def test_readme_relative_links_resolve() -> None:
    links = relative_links((ROOT / "README.md").read_text(encoding="utf-8"))
    assert links, "the README links to nothing in the repository?"
    missing = [link for link in links if not (ROOT / link).exists()]
    assert not missing, f"README.md links to files that are not in the repository: {missing}"
