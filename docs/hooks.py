"""MkDocs hooks of the documentation site (``mkdocs.yml``: ``hooks``).

What the site generates at build time, so that no page can drift from the code:

- ``cli.md``, the command-line reference: every command and option, from
  :func:`progfusion.figures.cli.build_parser` (:func:`cli_markdown`);
- the tables of ``study-file.md`` (``<!-- generated: NAME -->``): every field of a
  study file, of ``[protocol]`` and of each built-in task, with its default, read
  from the dataclasses; the named designs' parameters, read from their signatures;
  the metrics, from ``SCORES`` (:func:`generated`). A field without a description
  here (a new one) is a build warning, so ``mkdocs build --strict`` fails;
- ``<!-- include: PATH#BLOCK key="value" -->``: the text between ``<!-- BLOCK:start -->``
  and ``<!-- BLOCK:end -->`` of a generated file (the published tables' blocks, the
  theory table), its links made relative to the including page (:func:`include`).

And what it checks: every name of the ``__all__`` of ``progfusion.models``,
``.synthetic``, ``.theory`` and ``.experiments`` has a ``::: progfusion.PKG.NAME``
entry on a page under ``docs/api/`` and a docstring (:func:`api_problems`); a
problem is a build warning, so the strict build fails on an undocumented public name.

mkdocstrings reads the source through ``build/docs-api-src/progfusion/``, folders of
links to the code folders (:func:`api_shim`): the code installs as
``progfusion.models`` and so on from folders named ``models/``, ..., which griffe
cannot find by itself. ``tests/test_docs.py`` imports this file to run the same
checks without MkDocs.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import inspect
import logging
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CODE_FOLDERS = ("models", "synthetic", "theory", "experiments", "figures")
API_PACKAGES = ("models", "synthetic", "theory", "experiments")
SHIM = ROOT / "build" / "docs-api-src"

log = logging.getLogger("mkdocs.plugins.progfusion_docs")


# --------------------------------------------------------------------- MkDocs events


def on_startup(command, dirty):
    api_shim()  # before any plugin's on_config: mkdocstrings drops a search path not there


def on_files(files, config):
    from mkdocs.structure.files import File

    files.append(File.generated(config, "cli.md", content=cli_markdown()))
    for problem in api_problems():
        log.warning(problem)
    return files


#: Pages written by code (docs/results' tables, the theory computations), shown as they are.
GENERATED_PAGES = {"paper-report.md"}


def on_page_markdown(markdown: str, page, config, files) -> str:
    page_dir = (Path(config["docs_dir"]) / page.file.src_uri).parent
    if page.file.src_uri in GENERATED_PAGES:
        markdown = literal_brackets(markdown)
    markdown = INCLUDE.sub(lambda m: _include_or_warn(m, page_dir, page.file.src_uri), markdown)
    return GENERATED.sub(lambda m: _generated_or_warn(m, page.file.src_uri), markdown)


# --------------------------------------------------------------------- the API shim


def api_shim(root: Path = SHIM) -> Path:
    """``root/progfusion/<folder>`` links to each code folder; returns ``root``."""
    package = root / "progfusion"
    package.mkdir(parents=True, exist_ok=True)
    for name in CODE_FOLDERS:
        link, target = package / name, ROOT / name
        if link.is_symlink() and link.resolve() == target:
            continue
        temporary = package / f".{name}.{os.getpid()}"
        temporary.symlink_to(target, target_is_directory=True)
        os.replace(temporary, link)  # atomic: two builds at once both succeed
    return root


# --------------------------------------------------------------------- the API check


def api_entries(api_dir: Path = DOCS / "api") -> set[str]:
    """The objects named by a ``::: dotted.name`` line on the API pages."""
    names: set[str] = set()
    for page in sorted(api_dir.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        names.update(re.findall(r"^:::[ \t]+([\w.]+)", text, flags=re.MULTILINE))
    return names


def public_names() -> dict[str, list[str]]:
    """``progfusion.PKG`` -> its ``__all__``, for each package of the API reference."""
    found = {}
    for package in API_PACKAGES:
        module = importlib.import_module(f"progfusion.{package}")
        found[f"progfusion.{package}"] = list(module.__all__)
    return found


def undocumented(names: dict[str, list[str]]) -> list[str]:
    """The public names whose object has no docstring, as griffe (mkdocstrings) reads it.

    Constants count as documented by a string after the assignment or by ``#:``
    comments above it (``docs/griffe_comments.py``, the extension the site uses).
    """
    import griffe

    extension = griffe.load_extensions(f"{DOCS / 'griffe_comments.py'}:CommentDocstrings")
    collection = griffe.ModulesCollection()
    missing = []
    for package, members in names.items():
        module = griffe.load(
            package,
            search_paths=[str(api_shim())],
            extensions=extension,
            modules_collection=collection,
            docstring_parser="numpy",
        )
        for name in members:
            obj = module[name]
            try:
                docstring = obj.docstring
            except griffe.AliasResolutionError:
                docstring = None
            if docstring is None or not docstring.value.strip():
                missing.append(f"{package}.{name}")
    return missing


def api_problems() -> list[str]:
    """Every public name without an API entry or without a docstring, in words."""
    names = public_names()
    entries = api_entries()
    problems = [
        f"{package}.{name} is public (in __all__) but on no API page: add "
        f"'::: {package}.{name}' to a page under docs/api/"
        for package, members in names.items()
        for name in members
        if f"{package}.{name}" not in entries
    ]
    problems += [
        f"{name} is public but has no docstring (a constant: a '#:' comment above it)"
        for name in undocumented(names)
    ]
    return problems


# --------------------------------------------------------------------- cli.md


@contextlib.contextmanager
def _columns(width: int) -> Iterator[None]:
    """argparse wraps help to $COLUMNS: the same width on every machine."""
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def subcommands(parser: argparse.ArgumentParser) -> dict[str, tuple[str, argparse.ArgumentParser]]:
    """Each subcommand's name -> (its one-line help, its parser), in the parser's order."""
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                found[name] = (helps.get(name, ""), sub)
    return found


_MD_SPECIAL = re.compile(r"([\\`*_<>\[\]|])")


def md_text(text: str) -> str:
    """Plain text as Markdown: paragraphs re-flowed, Markdown's special characters escaped."""
    paragraphs = [" ".join(p.split()) for p in text.split("\n\n")]
    return "\n\n".join(_MD_SPECIAL.sub(r"\\\1", p) for p in paragraphs if p)


def _option_row(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    names = ", ".join(f"`{s}`" for s in action.option_strings) or f"`{action.dest}`"
    if action.choices is not None and not isinstance(action, argparse._SubParsersAction):
        value = " \\| ".join(f"`{c}`" for c in action.choices)
    elif action.nargs == 0:
        value = "(a flag)"
    else:
        metavar = action.metavar or (action.dest.upper() if action.option_strings else action.dest)
        value = f"`{metavar}`"
    helptext = parser._get_formatter()._expand_help(action) if action.help else ""
    return f"| {names} | {value} | {md_text(helptext)} |"


def _options_table(parser: argparse.ArgumentParser) -> list[str]:
    rows = ["| option | value | what it does (and its default) |", "| --- | --- | --- |"]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) or action.help == argparse.SUPPRESS:
            continue
        rows.append(_option_row(parser, action))
    return rows


def cli_markdown(parser: argparse.ArgumentParser | None = None) -> str:
    """The command-line reference page, from the parser (every command, every option)."""
    if parser is None:
        from progfusion.figures.cli import build_parser

        parser = build_parser()
    lines = [
        "# Command line",
        "",
        "<!-- Generated at build time by docs/hooks.py from "
        "progfusion.figures.cli.build_parser(); there is no cli.md file to edit. -->",
        "",
        "Every command and option of `progfusion`, generated from the command's own "
        "parser when the site is built, so it says what `--help` says. "
        "`progfusion COMMAND --help` prints the same on a terminal.",
        "",
    ]
    with _columns(88):
        lines += ["```text", parser.format_help().rstrip(), "```", ""]
        lines += ["Options of `progfusion` itself:", "", *_options_table(parser), ""]
        for name, (summary, sub) in subcommands(parser).items():
            lines += [f"## progfusion {name}", ""]
            if summary:
                lines += [f"*{md_text(summary[0].upper() + summary[1:])}.*", ""]
            lines += ["```text", sub.format_usage().rstrip(), "```", ""]
            if sub.description:
                lines += [md_text(sub.description), ""]
            lines += [*_options_table(sub), ""]
            if sub.epilog:
                lines += [md_text(sub.epilog), ""]
    return "\n".join(lines)


# --------------------------------------------------------------------- includes

#: ``<!-- include: docs/paper-report.md#paper-report section="..." rows="7,8" -->``
INCLUDE = re.compile(
    r"^<!-- include: (?P<path>[^\s#]+)(?:#(?P<block>[\w-]+))?(?P<attrs>(?:\s+\w+=\"[^\"]*\")*)"
    r"\s*-->[ \t]*$",
    flags=re.MULTILINE,
)
_ATTR = re.compile(r"(\w+)=\"([^\"]*)\"")
_LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)(\))")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")


_CODE_SPAN = re.compile(r"(`+[^`]*`+)")
_REFERENCE_LIKE = re.compile(r"\](\s?)\[")


def literal_brackets(text: str) -> str:
    """``[a][b]`` and ``[a] [b]`` outside code kept as text, not read as references.

    The generated tables quote the paper (``"[F11 F12; F21 F22][W11 W12; W21 W22]"``,
    ``"[x1, x2, x3, x4] [...]"``), which GitHub shows as written but Python-Markdown
    and mkdocs-autorefs read as reference links (and warn about).
    """
    out, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced:
            parts = _CODE_SPAN.split(line)
            parts[::2] = [_REFERENCE_LIKE.sub(r"]\1\\[", p) for p in parts[::2]]
            line = "".join(parts)
        out.append(line)
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def _block(text: str, block: str, path: str) -> str:
    start, end = f"<!-- {block}:start -->", f"<!-- {block}:end -->"
    if start not in text or end not in text:
        raise ValueError(f"{path} has no {start} ... {end} block")
    return text[text.index(start) + len(start) : text.index(end)]


def _section(text: str, title: str, path: str) -> str:
    """The lines under the heading ``title`` up to the next heading as high or higher.

    ``title`` ending in ``*``: the first heading that starts with the rest.
    """
    lines = text.splitlines()
    prefix = title[:-1] if title.endswith("*") else None
    for i, line in enumerate(lines):
        match = _HEADING.match(line)
        if match and (
            match.group(2) == title if prefix is None else match.group(2).startswith(prefix)
        ):
            level = len(match.group(1))
            body = []
            for other in lines[i + 1 :]:
                found = _HEADING.match(other)
                if found and len(found.group(1)) <= level:
                    break
                body.append(other)
            return "\n".join(body)
    raise ValueError(f"{path} has no heading {title!r} there")


def _rows(text: str, keep: set[str]) -> str:
    """Tables keep their header and the rows whose first cell is in ``keep``."""
    out, in_table = [], 0
    for line in text.splitlines():
        if line.startswith("|"):
            in_table += 1
            first = line.strip("|").split("|")[0].strip()
            if in_table <= 2 or first in keep:
                out.append(line)
        else:
            in_table = 0
            out.append(line)
    return "\n".join(out)


def _rebase(text: str, source_dir: Path, page_dir: Path) -> str:
    """Relative links of ``text`` (written in ``source_dir``) made relative to ``page_dir``."""

    def move(match: re.Match) -> str:
        target = match.group(2)
        if re.match(r"^([a-z]+:|#|/)", target):
            return match.group(0)
        moved = os.path.relpath(source_dir / target, page_dir)
        return f"{match.group(1)}{Path(moved).as_posix()}{match.group(3)}"

    return _LINK.sub(move, text)


def include(directive: str, page_dir: Path) -> str:
    """The text an include directive stands for (see the module docstring).

    Attributes: ``code="toml"`` shows the whole file as a code block of that language;
    ``section="Heading"`` keeps that heading's lines (without the heading; ``"Head*"``:
    the first heading starting with ``Head``);
    ``rows="4a,4b"`` keeps the table rows whose first cell is one of them;
    ``only="tables"`` keeps the tables' lines alone. A first-level title of the
    included text is dropped (the page has its own).
    """
    match = INCLUDE.fullmatch(directive.strip())
    if match is None:
        raise ValueError(f"not an include directive: {directive!r}")
    path = match.group("path")
    text = (ROOT / path).read_text(encoding="utf-8")
    attrs = dict(_ATTR.findall(match.group("attrs") or ""))
    unknown = set(attrs) - {"section", "rows", "only", "code"}
    if unknown:
        raise ValueError(f"unknown include attribute {sorted(unknown)[0]!r}")
    if "code" in attrs:
        return f"```{attrs['code']}\n{text.rstrip()}\n```"
    if match.group("block"):
        text = _block(text, match.group("block"), path)
    if "section" in attrs:
        text = _section(text, attrs["section"], path)
    if "rows" in attrs:
        text = _rows(text, {r.strip() for r in attrs["rows"].split(",")})
    if attrs.get("only") == "tables":
        text = "\n".join(line for line in text.splitlines() if line.startswith("|"))
    elif "only" in attrs:
        raise ValueError(f'only={attrs["only"]!r}: the one choice is only="tables"')
    text = "\n".join(line for line in text.splitlines() if not re.match(r"^# ", line))
    return literal_brackets(_rebase(text.strip("\n"), (ROOT / path).parent, page_dir))


def _include_or_warn(match: re.Match, page_dir: Path, page: str) -> str:
    try:
        return include(match.group(0), page_dir)
    except (OSError, ValueError) as exc:
        log.warning(f"{page}: {exc}")
        return match.group(0)


# --------------------------------------------------------------------- generated tables

GENERATED = re.compile(r"^<!-- generated: (?P<name>[\w-]+) -->[ \t]*$", flags=re.MULTILINE)

#: A study file's top-level fields (and the Study's): what each is, and what is allowed.
STUDY_FIELDS = {
    "name": "Names the table (`<name>.csv`) and enters every seed: renaming a study "
    "redraws it. A non-empty string without `/`.",
    "task": 'The `[task]` table: `name` (`latent`, `lattice`, or a `"file.py:Class"` / '
    '`"module:Class"` reference to a task of your own) and any of that task\'s fields '
    "(below). In Python, a task instance.",
    "designs": "The designs compared, the first being the one the others are compared "
    'against: names (below), or `"file.py:function"` / `"module:function"` references '
    "to factories of your own. At least one; distinct names.",
    "params": "Fixed design parameters for every model (`width`, `depth`, `head_hidden`, "
    "`R`, `p`, `context`, or your factory's own keywords), each taken by at least one "
    "design. A table; a task or training parameter belongs in `[task]` or `[protocol]`.",
    "grid": "The axes crossed, in order (the first varies slowest): each a list of values "
    "of one parameter (`R = [1, 2, 3]`) or a table of named settings, each setting one or "
    "more parameters (`panel = { a = { head_hidden = 0 }, b = { head_hidden = 64 } }`). "
    "An axis may set a task field, a design parameter (of at least one design) or a "
    "training parameter (below); never a column the engine writes (below).",
    "protocol": "The `[protocol]` table: how every model trains (below).",
    "trials": "Trials per grid cell; each (cell, trial) trains every design on the same "
    "data with the same seed. An integer >= 1; `--trials` overrides it.",
    "seed": "The root seed every data and model seed derives from. An integer >= 0; "
    "`--seed` overrides it.",
    "noise_levels": "Test-time corruption: Gaussian noise of each level times the training "
    "inputs' per-feature standard deviation, on every modality; one column "
    "`<metric>_noise_<level>` per level (`mse_noise_0.5`; robustness, as in Figure 8). "
    "Strictly increasing, each >= 0; empty: none.",
    "labels": 'Constant columns written first in every row (`figure = "7"`). A table.',
    "design_params": "Per design (by its name in the table's `design` column), parameters "
    "of its own: design parameters (`[design_params.pro]` `R = 3`) or training ones (any "
    "`[protocol]` field but `name`: `lr = 3e-3`). They replace `params` and `protocol` for "
    "that design only; not a grid axis, not a task field (every design of a cell trains on "
    "the same data). Each row records the values its model trained with.",
    "metrics": "Extra test metrics, one `test_<name>` column each: `mae`, `rmse`, `r2` "
    '(regression), `macro_f1` (classification), or `"file.py:function"` / '
    '`"module:function"` references to functions `(y_true, y_pred) -> float`.',
    "per_modality": "`true`: also evaluate each modality changed alone, the others clean: "
    "corrupted at each of `noise_levels` (`<metric>_x<m>_noise_<level>`, m from 1) and "
    "missing, zeroed or replaced by its training mean (`<metric>_x<m>_missing_zero`, "
    "`..._mean`). Default `false`.",
}

#: ``[protocol]`` fields.
PROTOCOL_FIELDS = {
    "name": '`"early-stopping"`: evaluate on the validation split every `eval_every` steps, '
    "keep the best weights, stop after `patience` evaluations without improvement or at "
    '`max_steps`; `"fixed-steps"`: exactly `max_steps` steps, final weights.',
    "lr": "Adam's learning rate. A finite number > 0.",
    "batch_size": "Minibatch size. An integer >= 1, at most the training split's size.",
    "max_steps": "The most training steps (fixed-steps: exactly these). An integer >= 1.",
    "eval_every": "Steps between validation evaluations (early stopping). An integer >= 1.",
    "patience": "Evaluations without improvement before stopping. An integer >= 1.",
    "record_steps": "Steps after which each model's test metric is also recorded (one "
    "column `<metric>_step_<s>` per step: the curve of Figure 7(b)). Integers from 1 to "
    "`max_steps`.",
}

#: Fields of the built-in tasks (``[task]``), by field name.
TASK_FIELDS = {
    "n_train": "Training samples. An integer >= 1.",
    "n_val": "Validation samples (early stopping); 0: no validation split.",
    "n_test": "Test samples. An integer >= 1.",
    "eta": "How strongly X1 is corrupted by the part of the signal X2 explains (X1 holds "
    "-2 abs(eta) sin(W2 Z)). A finite number.",
    "sigma2": "X2's own noise (its scale factor). A number >= 0.",
    "dz": "Width of the latent variable z. An integer >= 1.",
    "dx": "Width of each modality. An integer >= 1.",
    "dy": "Width of the target. An integer >= 1.",
    "noise_scale": "Scale of every noise term eps. A number >= 0.",
    "lrelu_slope": "Negative slope of the leaky ReLU. A finite number.",
    "standardize": "Inputs standardised with the training split's statistics. `true` or `false`.",
    "standardize_y": "Targets standardised too (with `standardize`); `false`: raw targets, "
    "every MSE in Y's units. `true` or `false`.",
    "D": "Lattice intervals (X1 has D + 1 values). An integer >= 1.",
    "n_freq": "Frequencies of each sample's random function. An integer >= 1.",
    "embed_dim": "Entries of the position embedding X2. An integer >= 2.",
}

#: Parameters of the named designs.
DESIGN_PARAMETERS = {
    "width": "Hidden width per modality (h of Figures 7 and 8, d of Figure 4). An integer >= 1.",
    "depth": "Encoder layers: 2 for the latent task's three-layer MLPs, 1 for the lattice "
    "task's two-layer ones. An integer >= 1.",
    "head_hidden": "A hidden layer of this width in the head; 0: a linear head.",
    "R": "Unroll steps of pro-fusion (and its relatives); 1 is the base model. An integer >= 1.",
    "p": "Width of the back-projected context. An integer >= 1.",
    "context": 'How the context enters each encoder: `"concat"` ([x_i, W_i c], the '
    'appendix) or `"add"` (x_i + W_i c, eq. 7).',
}


def _toml(value: Any) -> str:
    """A default as a study file writes it."""
    import tomli_w

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return "its defaults (below)"
    if isinstance(value, Mapping) and not value:
        return "`{}` (none)"
    if isinstance(value, tuple | list) and not value:
        return "`[]` (none)"

    def scalar(v: Any) -> str:
        return tomli_w.dumps({"x": v}).partition("=")[2].strip()

    if isinstance(value, tuple | list):
        return f"`[{', '.join(scalar(v) for v in value)}]`"
    return f"`{scalar(value)}`"


def _default(field: dataclasses.Field) -> str:
    if field.default is not dataclasses.MISSING:
        return _toml(field.default)
    if field.default_factory is not dataclasses.MISSING:
        return _toml(field.default_factory())
    return "required"


def field_table(cls: type, described: Mapping[str, str], what: str) -> tuple[list[str], list[str]]:
    """A Markdown table of ``cls``'s fields, and the problems (fields not described)."""
    rows = ["| field | default | what it is, and what is allowed |", "| --- | --- | --- |"]
    problems = []
    for field in dataclasses.fields(cls):
        text = described.get(field.name)
        if text is None:
            problems.append(
                f"{what}: field {field.name!r} of {cls.__name__} has no description in "
                f"docs/hooks.py"
            )
            text = "(not documented yet)"
        rows.append(f"| `{field.name}` | {_default(field)} | {text} |")
    return rows, problems


def design_table() -> tuple[list[str], list[str]]:
    """The named designs' parameters and defaults, read from their signatures."""
    from progfusion.experiments import DESIGNS

    takes: dict[str, dict[str, Any]] = {}
    for design, factory in DESIGNS.items():
        for p in inspect.signature(factory).parameters.values():
            if p.kind is p.KEYWORD_ONLY:
                takes.setdefault(p.name, {})[design] = p.default
    rows = [
        "| parameter | designs (default) | what it is, and what is allowed |",
        "| --- | --- | --- |",
    ]
    problems = []
    for name, defaults in takes.items():
        text = DESIGN_PARAMETERS.get(name)
        if text is None:
            problems.append(f"design parameter {name!r} has no description in docs/hooks.py")
            text = "(not documented yet)"
        designs = ", ".join(f"`{d}` ({_toml(v)})" for d, v in defaults.items())
        rows.append(f"| `{name}` | {designs} | {text} |")
    return rows, problems


def generated(name: str) -> tuple[str, list[str]]:
    """The Markdown a ``<!-- generated: NAME -->`` line stands for, and its problems."""
    from progfusion.experiments import LatentTask, LatticeTask, Protocol, Study, studyfile
    from progfusion.experiments import study as study_module
    from progfusion.experiments.scores import SCORES

    problems: list[str] = []
    if name == "study-fields":
        rows, problems = field_table(Study, STUDY_FIELDS, "study")
        in_file = set(getattr(studyfile, "_FIELDS", ()))
        in_study = {f.name for f in dataclasses.fields(Study)}
        if in_file and in_file != in_study:
            problems.append(
                f"the study file's fields {sorted(in_file ^ in_study)} differ from Study's: "
                "document them in docs/study-file.md"
            )
    elif name == "protocol-fields":
        rows, problems = field_table(Protocol, PROTOCOL_FIELDS, "protocol")
    elif name == "latent-fields":
        rows, problems = field_table(LatentTask, TASK_FIELDS, "task latent")
    elif name == "lattice-fields":
        rows, problems = field_table(LatticeTask, TASK_FIELDS, "task lattice")
    elif name == "design-parameters":
        rows, problems = design_table()
    elif name == "grid-training-keys":
        keys = getattr(study_module, "_PROTOCOL_KEYS", None)
        if not keys:
            return "", ["experiments.study._PROTOCOL_KEYS is gone: update docs/hooks.py"]
        rows = ["| grid or design_params key | sets `[protocol]` field |", "| --- | --- |"]
        rows += [f"| `{key}` | `{field}` |" for key, field in keys.items()]
    elif name == "metrics":
        rows = ["| name | for | column |", "| --- | --- | --- |"]
        rows += [f"| `{m}` | {objective} | `test_{m}` |" for m, (_, objective) in SCORES.items()]
    elif name == "reserved-columns":
        reserved = sorted(getattr(study_module, "RESERVED", ()))
        rows = [", ".join(f"`{c}`" for c in reserved)]
    else:
        return "", [f"unknown generated table {name!r}"]
    return "\n".join(rows), problems


def _generated_or_warn(match: re.Match, page: str) -> str:
    text, problems = generated(match.group("name"))
    for problem in problems:
        log.warning(f"{page}: {problem}")
    return text
