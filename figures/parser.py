"""The command line's parser, one function per command, its choices read from the registry.

The figures a command can name, the sizes ``--preset`` offers and the tables each
command writes come from :data:`~.registry.FIGURES`, so that a registered figure
appears in ``--help`` with no other edit. Errors are one line and exit code 2.
"""

from __future__ import annotations

import argparse
import functools
import sys
import textwrap
from importlib import metadata
from pathlib import Path

from progfusion.experiments.seeds import ROOT_SEED

__all__ = ["build_parser"]


class _Formatter(argparse.HelpFormatter):
    """Fills each paragraph (blank-line separated) of a description on its own."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = [" ".join(p.split()) for p in text.split("\n\n")]
        fill = functools.partial(
            textwrap.fill, width=width, initial_indent=indent, subsequent_indent=indent
        )
        return "\n\n".join(fill(p) for p in paragraphs)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit code 2, and whose
    descriptions are plain paragraphs, filled to the terminal's width."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        raise SystemExit(2)


def _int_at_least(minimum: int, allowed: str):
    """An argparse type: an integer >= ``minimum``, else a one-line error."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {allowed}, got {text!r}")
        return value

    return parse


def _folder(text: str) -> Path:
    """An argparse type: a non-empty path (an empty one would mean the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a folder name, got {text!r}")
    return Path(text)


_positive = _int_at_least(1, "a positive integer")
_seed = _int_at_least(0, "an integer >= 0")


def _compile_mode(text: str) -> str:
    """An argparse type: one of the trainer's ``COMPILE_MODES``, else a one-line error.

    The modes are read from the trainer when ``--compile`` is given (importing torch),
    so that ``--help`` stays light.
    """
    from progfusion.models.training import COMPILE_MODES

    if text not in COMPILE_MODES:
        raise argparse.ArgumentTypeError(
            f"expected a torch.compile mode ({', '.join(COMPILE_MODES)}), got {text!r}"
        )
    return text


def _version() -> str:
    try:
        return metadata.version("progfusion")
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


def _version() -> str:
    try:
        return metadata.version("progfusion")
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


#: What each size is, for ``--preset``'s help.
_SIZE_HELP = {
    "tiny": "seconds; for tests and trying the commands",
    "quick": "minutes on a 2-core CPU: fewer trials, a coarser grid, shorter training",
    "cpu": "the paper's setting on a 3 x 3 grid, 10 trials; under an hour on 2 cores",
    "paper": "the paper's scale, 30 trials a cell; sized for a GPU",
}


def _run_options(parser: argparse.ArgumentParser, names: list[str] | None) -> None:
    """The options of the figure commands: sizes, seed, protocol, then how to run.

    ``names``: the figures the command runs (None: any, ``figure NAME``); a size only
    some of them have says which.
    """
    from .registry import FIGURES, sizes

    figures = names if names is not None else list(FIGURES)
    offered = sizes(figures)

    def described(size: str) -> str:
        having = [n for n in figures if size in FIGURES[n].sizes]
        only = "" if len(having) == len(figures) else f"; figure {', '.join(having)} only"
        return f"{size} ({_SIZE_HELP.get(size, 'a size of its own')}{only})"

    parser.add_argument(
        "--preset", default="quick", choices=offered,
        help="experiment sizes (default: quick): " + ", ".join(described(s) for s in offered),
    )  # fmt: skip
    parser.add_argument(
        "--trials", type=_positive, metavar="N", help="trials per cell (default: the preset's)"
    )
    parser.add_argument(
        "--seed", type=_seed, default=ROOT_SEED, metavar="S",
        help=f"root seed (default: {ROOT_SEED})",
    )  # fmt: skip
    following = [n for n in figures if FIGURES[n].follows_protocol]
    parser.add_argument(
        "--protocol", default="early-stopping", choices=["early-stopping", "fixed-steps"],
        help="training protocol (default: early-stopping) of the tables that follow it: "
        f"figure {', '.join(following)} (7(b) and the gap study keep their own)",
    )  # fmt: skip
    _machine_options(parser)


def _machine_options(parser: argparse.ArgumentParser) -> None:
    """How to run (any command that trains): device, processes, stacks, output."""
    parser.add_argument(
        "--device",
        default="auto",
        choices=["cpu", "cuda", "auto"],
        help="where to train (default: auto, cuda when a GPU is available, else cpu)",
    )
    parser.add_argument(
        "--workers",
        type=_positive,
        help="local processes, one thread each (default: one per core on cpu, 1 on cuda)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the stacks of models on the Dask cluster at ADDRESS, e.g. "
        "tcp://host:8786 (default: local processes; needs the dask extra)",
    )
    parser.add_argument(
        "--chunk", type=_positive, help="models per stack (default: 128 on cpu, all on cuda)"
    )
    parser.add_argument(
        "--compile",
        metavar="MODE",
        type=_compile_mode,
        help="torch.compile the training step in this mode: default, reduce-overhead (CUDA "
        "graphs on a GPU) or another of torch.compile's (default: off, eager; compiling "
        "costs seconds to a minute per model architecture and process)",
    )
    parser.add_argument(
        "--out",
        type=_folder,
        default=Path("progfusion-out"),
        help="output folder (default ./progfusion-out)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="if --out holds results of another seed, preset, protocol or version, "
        "discard them (default: refuse)",
    )
    bars = parser.add_mutually_exclusive_group()
    bars.add_argument(
        "--progress", action="store_true",
        help="progress bars even when stderr is not a terminal (default: on a terminal only)",
    )  # fmt: skip
    bars.add_argument(
        "--quiet", action="store_true", help="no progress bars (default: on a terminal only)"
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``progfusion`` parser: one subcommand per function below."""
    parser = _Parser(prog="progfusion", description=_DESCRIPTION, epilog=_EPILOG)
    parser.add_argument("--version", action="version", version=f"progfusion {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for add in (_figures, _figure, _study, _plot, _theory, _report):
        add(sub)
    return parser


_DESCRIPTION = (
    "The progfusion command line: the paper's figures, your studies, the theory verdicts."
)


def _paper_figures() -> list[str]:
    """The figures ``progfusion figures`` runs: those that test the paper's claims."""
    from .registry import FIGURES

    return [name for name, f in FIGURES.items() if f.has_claims]


def _figures(sub) -> None:
    from .registry import FIGURES

    names = _paper_figures()
    tables = [t for n in names for t in (*FIGURES[n].tables, *FIGURES[n].derived)]
    images = [FIGURES[n].image for n in names]
    description = (
        f"Train every model of {', '.join(FIGURES[n].title.split(':')[0] for n in names)} "
        f"and draw them. Writes into --out: {', '.join(dict.fromkeys(images))} .png and .pdf, "
        f"the tables {', '.join(f'{t}.csv' for t in dict.fromkeys(tables))} (one row per "
        "model), their *.parts/ folders (rows written as each stack finishes, so that "
        "Ctrl-C keeps them and a rerun resumes) and run.json. Prints each figure's numbers "
        "beside the paper's, n, the 95% interval and the chance baseline."
    )
    p = sub.add_parser(
        "figures", help="train and draw the paper's figures", description=description
    )
    _run_options(p, names)


def _figure(sub) -> None:
    from .registry import FIGURES

    p = sub.add_parser(
        "figure", help="train and draw one figure",
        description="Train and draw one figure (see progfusion figures --help for what it "
        "writes). A table two figures share is trained once: after figure 7, figure 8 trains "
        "nothing.",
    )  # fmt: skip
    p.add_argument(
        "name", choices=list(FIGURES),
        help="; ".join(f"{f.title} (trains {', '.join(f.tables)})" for f in FIGURES.values()),
    )  # fmt: skip
    _run_options(p, None)


def _study(sub) -> None:
    p = sub.add_parser(
        "study",
        help="run a study file (TOML): any task, grid and designs; writes its table",
        description="Train every model of a study file and write <out>/<name>.csv (one row "
        "per model), the study as run (<name>.toml) and a summary. Rerunning resumes.",
    )
    p.add_argument("file", type=Path, help="the study file (see progfusion.experiments.studyfile)")
    p.add_argument("--trials", type=_positive, help="trials per cell (default: the file's)")
    p.add_argument("--seed", type=_seed, help="root seed (default: the file's)")
    _machine_options(p)


def _plot(sub) -> None:
    from .registry import FIGURES

    tables = [f"{t}.csv" for f in FIGURES.values() for t in (*f.tables, *f.derived)]
    p = sub.add_parser(
        "plot", help="redraw a figure from its table, without training",
        description="Redraw a figure (PNG and PDF) from its results table alone, with the "
        "figure's other tables found beside it.",
    )  # fmt: skip
    p.add_argument(
        "table", type=Path,
        help=f"a figure's table ({', '.join(tables)}), or the <name>.csv of progfusion "
        "study (with its <name>.toml beside it)",
    )  # fmt: skip
    p.add_argument(
        "--out",
        type=_folder,
        help="a folder (PNG and PDF written there) or a file name ending in an image format "
        "such as .png, .pdf or .svg (that file only); default: the table's folder",
    )


def _theory(sub) -> None:
    p = sub.add_parser(
        "theory",
        help="decide the paper's theoretical claims with sympy",
        description="Decide every claim of the appendix by exact computation (sympy, about "
        "15 s on one core; nothing is trained) and print the verdicts, fitted to the "
        "terminal's width (80 columns when the output is not a terminal).",
    )
    p.add_argument(
        "--markdown",
        action="store_true",
        help="print the full Markdown table instead (default: plain text fitted to the terminal)",
    )
    p.add_argument(
        "--write", type=Path, metavar="FILE", help="write the Markdown table to FILE (default: no)"
    )
    p.add_argument(
        "--readme",
        type=Path,
        metavar="README",
        help="replace the table between README's theory-table markers (default: no)",
    )
    p.add_argument(
        "--paper-report",
        type=Path,
        metavar="FILE",
        help="replace the claims table and the errata between FILE's theory-table and errata "
        "markers, normally docs/paper-report.md (default: no)",
    )


def _report(sub) -> None:
    p = sub.add_parser(
        "report", help="write REPORT.md: claims, measurements, verdicts", description=_REPORT_HELP
    )
    _run_options(p, _paper_figures())
    p.add_argument(
        "--publish", type=Path, metavar="DIR",
        help="after REPORT.md, copy the run's tables (and run.json) into DIR as .csv.gz, "
        "normally docs/results, and draw figure4/7/8.png (gap.png with gap tables) into DIR "
        "from the copies (default: nothing published)",
    )  # fmt: skip
    p.add_argument(
        "--gap-out", type=Path, metavar="DIR",
        help="the folder of progfusion figure gap's tables when they were trained in another "
        "--out (another preset, such as cpu): REPORT.md's gap section and --publish take "
        "them from there (default: --out)",
    )  # fmt: skip
    p.add_argument(
        "--readme", type=Path, metavar="README",
        help="rewrite README's headline block (what the published figures measured, beside "
        "the paper, and whether pro's gain survives tuning and the gap study's controls) "
        "from the published tables (--publish DIR, else --results DIR), "
        "redrawing DIR's images first; without --publish nothing is trained and no "
        "REPORT.md is written (default: no README)",
    )  # fmt: skip
    p.add_argument(
        "--paper-report", type=Path, metavar="FILE",
        help="likewise rewrite the generated block of FILE, normally docs/paper-report.md: "
        "every number, the verdicts, the images and how the tables were made (default: none)",
    )  # fmt: skip
    p.add_argument(
        "--results", type=Path, default=Path("docs/results"), metavar="DIR",
        help="the published tables --readme and --paper-report read when --publish is not "
        "given (default: docs/results)",
    )  # fmt: skip


_REPORT_HELP = """\
Write REPORT.md into --out: the figures, each claim of the paper with its measured
effect, n, 95% interval and verdict, the theory table and the errata. Reuses the
tables of an earlier progfusion figures run with the same options in --out
(trains only what is missing), then decides the theory claims (about 15 s).
Prints the headline verdict table.

Publishing: --publish DIR copies the tables into DIR and draws the figures there
from the copies; --readme and --paper-report rewrite those documents' generated
blocks from the published tables (of --publish, else --results) without training,
after redrawing the images, so that every published number and image comes from
the published tables."""

_EPILOG = """\
Run "progfusion COMMAND --help" for a command's options and defaults.
Bad arguments print one line and exit with code 2; Ctrl-C keeps every finished
result, and rerunning the same command resumes."""
