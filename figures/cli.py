"""The progfusion command line: the paper's figures, your studies, the theory verdicts.

    progfusion figures [--preset quick|paper] [options]   # Figures 4, 7 and 8
    progfusion figure 4|7|8|gap [options]
    progfusion study FILE.toml [--out DIR] [options]      # any study: its table
    progfusion plot TABLE                                  # redraw from a table
    progfusion theory [--markdown] [--write FILE] [--readme README.md] [--paper-report F]
    progfusion report [--preset quick|paper] [--out DIR]   # claims and verdicts
    progfusion report --readme README.md [--paper-report docs/paper-report.md]
                      [--results docs/results]  # published documents from tables

Exit codes: 0 done; 1 models failed (``study``: the table is written, their rows
hold the error, one line on stderr says how many; a rerun retries them); 2 bad
input (one line on stderr, before anything is trained or written: arguments, a
design or task that cannot be built or gives the wrong output shape, a device that
is not here, an ``--out`` that is empty, a file, not writable, damaged, or holding
results of another configuration, a scheduler that cannot be reached); 130 (SIGINT,
Ctrl-C) or 143 (SIGTERM): stopped, every finished result kept, and rerunning the
same command resumes. Ctrl-C lets the shards running on worker processes finish
(a second Ctrl-C abandons them); SIGTERM, what a batch scheduler sends shortly
before SIGKILL, abandons them at once. Progress bars are drawn only when stderr is
a terminal, unless ``--progress`` (``--quiet``: never).
"""

from __future__ import annotations

import argparse
import functools
import sys
import textwrap
from importlib import metadata
from pathlib import Path

__all__ = ["main", "build_parser"]


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


def _run_options(parser: argparse.ArgumentParser) -> None:
    """The options of the figure commands: sizes, seed, protocol, then how to run."""
    parser.add_argument(
        "--preset",
        default="quick",
        choices=["quick", "paper", "tiny", "cpu"],
        help="experiment sizes (default: quick): quick (minutes on a 2-core CPU: fewer "
        "trials, a coarser grid, shorter training), paper (the paper's scale, 30 trials a "
        "cell; sized for a GPU), tiny (seconds; for tests and trying the commands), cpu "
        "(figure gap only: the paper's setting on a 3 x 3 grid, 10 trials; under an hour "
        "on 2 cores)",
    )
    parser.add_argument(
        "--trials", type=_positive, metavar="N", help="trials per cell (default: the preset's)"
    )
    parser.add_argument("--seed", type=_seed, default=0, metavar="S", help="root seed (default: 0)")
    parser.add_argument(
        "--protocol",
        default="early-stopping",
        choices=["early-stopping", "fixed-steps"],
        help="training protocol of Figures 4, 7(a) and 8 (default: early-stopping; "
        "7(b) is always fixed-steps)",
    )
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
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bars (default: shown on a terminal)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="progfusion", description=__doc__.split("\n\n")[0], epilog=_EPILOG)
    parser.add_argument("--version", action="version", version=f"progfusion {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser(
        "figures", help="train and draw Figures 4, 7 and 8", description=_FIGURES_HELP
    )
    _run_options(p)
    p = sub.add_parser("figure", help="train and draw one figure", description=_FIGURE_HELP)
    p.add_argument(
        "number",
        choices=["4", "7", "8", "gap"],
        help="4: accuracy against width (lattice task); 7: improvement of pro over late "
        "fusion over the (eta, sigma2) grid, with 7(b) against training steps; 8: "
        "robustness of the same models (trains Figure 7(a)'s grid if it is not there); "
        "gap: the gap study (ours; its own protocols, so --protocol is ignored)",
    )
    _run_options(p)
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
    p = sub.add_parser(
        "plot",
        help="redraw a figure from its table, without training",
        description="Redraw a figure (PNG and PDF) from its results table alone. "
        "figure7.csv also draws 7(b) when figure7b.csv lies beside it.",
    )
    p.add_argument(
        "table",
        type=Path,
        help="figure4.csv, figure7.csv, figure7b.csv or figure8.csv of a figures run, or "
        "the <name>.csv of progfusion study (with its <name>.toml beside it)",
    )
    p.add_argument(
        "--out",
        type=_folder,
        help="a folder (PNG and PDF written there) or a file name ending in an image format "
        "such as .png, .pdf or .svg (that file only); default: the table's folder",
    )
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
    p = sub.add_parser(
        "report", help="write REPORT.md: claims, measurements, verdicts", description=_REPORT_HELP
    )
    _run_options(p)
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
        help="rewrite README's figures and headline blocks from the published tables "
        "(--publish DIR, else --results DIR), redrawing DIR's images first; without "
        "--publish nothing is trained and no REPORT.md is written (default: no README)",
    )  # fmt: skip
    p.add_argument(
        "--paper-report", type=Path, metavar="FILE",
        help="likewise rewrite the generated block of FILE, normally docs/paper-report.md "
        "(default: none)",
    )  # fmt: skip
    p.add_argument(
        "--results", type=Path, default=Path("docs/results"), metavar="DIR",
        help="the published tables --readme and --paper-report read when --publish is not "
        "given (default: docs/results)",
    )  # fmt: skip
    return parser


_FIGURES_HELP = """\
Train every model of Figures 4, 7 and 8 and draw them. Trains: Figure 4 (late,
early and pro-fusion on the lattice task, per width), Figure 7(a) (late and
pro-fusion over the (eta, sigma2) grid; Figure 8 evaluates these same models on
noisy inputs) and Figure 7(b) (the fixed-steps runs). Writes into --out:
figure4/7/8 .png and .pdf, the tables figure4.csv, figure7.csv, figure7b.csv and
figure8.csv (one row per model), their *.parts/ folders (rows written as each stack
finishes, so that Ctrl-C keeps them and a rerun resumes) and run.json. Prints each
figure's numbers beside the paper's, n, the 95% interval and the chance baseline."""

_FIGURE_HELP = """\
Train and draw one figure (see progfusion figures --help for what it writes).
figure 7 also trains 7(b), the fixed-steps runs, and its grid is the one Figure 8
evaluates: after figure 7, figure 8 trains nothing."""

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


def _resolve_device(parser: argparse.ArgumentParser, device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA GPU is available here (use --device cpu)")
    return device


def _figures(args: argparse.Namespace) -> list[str]:
    """The figures a command trains: ``figure N`` one, ``figures`` and ``report`` 4, 7, 8."""
    return [args.number] if args.command == "figure" else ["4", "7", "8"]


def _options(parser, args):
    """The preset and the :class:`~.runner.RunOptions` of a figure or study command."""
    from progfusion.experiments.executors import default_workers

    from .presets import PRESETS, get_preset
    from .runner import RunOptions

    preset = None
    if hasattr(args, "preset"):
        preset = get_preset(args.preset)
        if args.trials is not None:
            preset = preset.with_trials(args.trials)
        try:  # builds every study: refuses sizes beyond MAX_MODELS before anything runs
            preset.studies(seed=args.seed, protocol=args.protocol, figures=_figures(args))
        except ValueError as exc:
            option = "--preset" if preset.name not in PRESETS else f"--trials {args.trials}"
            parser.error(f"{option}: {exc}")
    device = _resolve_device(parser, args.device)
    if args.scheduler is not None:
        try:
            import dask.distributed  # noqa: F401
        except ImportError:
            parser.error('--scheduler needs Dask: pip install -e ".[dask]"')
    workers = args.workers or default_workers(device)
    chunk = args.chunk or (1_000_000 if device == "cuda" else 128)
    opts = RunOptions(
        out=args.out,
        protocol=getattr(args, "protocol", "early-stopping"),
        seed=args.seed or 0,
        device=device,
        workers=workers,
        scheduler=args.scheduler,
        chunk=chunk,
        compile=args.compile,
        quiet=args.quiet,
        force=args.force,
        command=args.argv,
    )
    return preset, opts


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return its exit code (see the module docstring)."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.argv = tuple(argv)  # recorded in run.json as the command
    if args.command in ("figures", "figure", "study", "plot", "report"):
        import matplotlib

        matplotlib.use("Agg")  # files only: the CLI never opens a window
    if args.command not in ("figures", "figure", "study", "report"):
        return _dispatch(parser, args)
    from progfusion.experiments.signals import Interrupted, stop_on_signals

    try:
        with stop_on_signals(lambda signum, running: _abandon(signum, running, args.out)):
            return _dispatch(parser, args)
    except Interrupted as exc:
        sys.stderr.write(f"\ninterrupted by {exc}: {_kept(args.out)}\n")
        return exc.exit_code
    except KeyboardInterrupt:  # a library's own Ctrl-C handling let it through
        sys.stderr.write(f"\ninterrupted: {_kept(args.out)}\n")
        return 130


def _kept(out) -> str:
    return f"finished results are kept in {out}; rerun the same command to resume"


def _abandon(signum: int, running: int, out) -> None:
    """SIGTERM, or a second Ctrl-C, while ``running`` shards run on workers: kill the
    workers and say so in one line (the process then exits)."""
    import os
    import signal

    from progfusion.experiments.executors import kill_workers

    kill_workers()
    name = signal.Signals(signum).name + (" again" if signum == signal.SIGINT else "")
    text = f"\n{name}: abandoned {running} running shard(s); {_kept(out)}\n"
    os.write(2, text.encode())


def _report(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``progfusion report``: REPORT.md (training what is missing), then publishing."""
    from .publish import publish, refresh, require_documents
    from .report import write_report

    documents = args.readme is not None or args.paper_report is not None
    try:  # a document without its markers is refused before anything is trained
        require_documents(args.readme, args.paper_report)
    except ValueError as exc:
        parser.error(f"report: {exc}")
    if not documents or args.publish is not None:
        preset, opts = _options(parser, args)
        print(f"wrote {write_report(preset, opts, gap_out=args.gap_out)}")
        if args.publish is not None:
            publish(opts.out, args.publish, gap_out=args.gap_out)
            print(f"published the tables of {opts.out} into {args.publish}")
    if documents or args.publish is not None:
        try:
            lines = refresh(
                args.publish or args.results, readme=args.readme, paper_report=args.paper_report
            )
        except (ValueError, FileNotFoundError) as exc:
            parser.error(f"report: {exc}")
        print("\n".join(lines))


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Run the parsed command; bad input becomes one line and exit code 2."""
    from progfusion.experiments.executors import SchedulerUnreachable
    from progfusion.experiments.folder import FolderError

    try:
        if args.command in ("figures", "figure"):
            from .runner import run_figures

            preset, opts = _options(parser, args)
            run_figures(_figures(args), preset, opts)
            print(f"wrote figures, tables and run.json to {opts.out}")
        elif args.command == "study":
            from .runner import run_study_file

            _, opts = _options(parser, args)
            try:
                table = run_study_file(args.file, opts, trials=args.trials, seed=args.seed)
            except (FolderError, SchedulerUnreachable):
                raise
            except (ValueError, TypeError) as exc:
                parser.error(f"study: {exc}")
            failed = int((table["status"] == "failed").sum())
            if failed:
                sys.stderr.write(
                    f"{parser.prog}: {failed} of {len(table)} models failed: see the error "
                    f"column of the table in {opts.out}\n"
                )
                return 1
        elif args.command == "plot":
            from .redraw import redraw

            try:
                written = redraw(args.table, args.out)
            except (FileNotFoundError, ValueError) as exc:
                parser.error(f"plot: {exc}")
            print("wrote " + ", ".join(str(p) for p in written))
        elif args.command == "theory":
            from progfusion.theory.render import run as run_theory

            from .readout import decide_theory

            decide_theory()
            return run_theory(
                markdown=args.markdown,
                write=args.write,
                readme=args.readme,
                paper_report=args.paper_report,
            )
        elif args.command == "report":
            _report(parser, args)
    except (FolderError, SchedulerUnreachable) as exc:  # not an option's misuse: no --help hint
        sys.stderr.write(f"{parser.prog}: error: {exc}\n")
        raise SystemExit(2) from None
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
