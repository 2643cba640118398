"""The ``progfusion`` command line.

    progfusion figures [--preset quick|paper] [options]   # Figures 4, 7 and 8
    progfusion figure 4|7|8|gap [options]
    progfusion study FILE.toml [--out DIR] [options]      # any study: its table
    progfusion plot TABLE                                  # redraw from a table
    progfusion theory [--markdown] [--write FILE] [--readme README.md]  # theory verdicts
    progfusion report [--preset quick|paper] [--out DIR]   # claims and verdicts
    progfusion report --readme README.md [--results docs/results]  # README from tables

Bad arguments print one line and exit with code 2; Ctrl-C keeps every finished
result, and rerunning the same command resumes.
"""

from __future__ import annotations

import argparse
import sys
from importlib import metadata
from pathlib import Path

__all__ = ["main", "build_parser"]


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit code 2."""

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
        choices=["quick", "paper", "tiny"],
        help="experiment sizes: quick (default, minutes on a laptop CPU), "
        "paper (the paper's scale), tiny (seconds, for tests)",
    )
    parser.add_argument("--trials", type=_positive, help="trials per cell (default: the preset's)")
    parser.add_argument("--seed", type=_seed, default=0, help="root seed (default 0)")
    parser.add_argument(
        "--protocol",
        default="early-stopping",
        choices=["early-stopping", "fixed-steps"],
        help="training protocol of Figures 4, 7(a) and 8 (7(b) is always fixed-steps)",
    )
    _machine_options(parser)


def _machine_options(parser: argparse.ArgumentParser) -> None:
    """How to run (any command that trains): device, processes, stacks, output."""
    parser.add_argument(
        "--device",
        default="auto",
        choices=["cpu", "cuda", "auto"],
        help="auto: cuda when a GPU is available, else cpu",
    )
    parser.add_argument(
        "--workers",
        type=_positive,
        help="local processes, one thread each (default: one per core on cpu, 1 on cuda)",
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="run shards on a Dask cluster (needs the dask extra)"
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
        type=Path,
        default=Path("progfusion-out"),
        help="output folder (default ./progfusion-out)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="progfusion", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"progfusion {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("figures", help="regenerate Figures 4, 7 and 8")
    _run_options(p)
    p = sub.add_parser("figure", help="regenerate one figure")
    p.add_argument(
        "number",
        choices=["4", "7", "8", "gap"],
        help="gap: the gap study (ours; its own protocols, so --protocol is ignored)",
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
    p = sub.add_parser("plot", help="redraw a figure from its table, without training")
    p.add_argument("table", type=Path, help="figure4.csv, figure7.csv or figure8.csv")
    p.add_argument("--out", type=Path, help="where to save (default: the table's folder)")
    p = sub.add_parser("theory", help="decide the paper's theoretical claims with sympy")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.add_argument("--write", type=Path, metavar="FILE", help="write the Markdown table to FILE")
    p.add_argument("--readme", type=Path, metavar="README", help="refresh the table in README")
    p = sub.add_parser("report", help="write REPORT.md: claims, measurements, verdicts")
    _run_options(p)
    p.add_argument(
        "--publish", type=Path, metavar="DIR",
        help="also copy the run's tables into DIR as .csv.gz (normally docs/results)",
    )  # fmt: skip
    p.add_argument(
        "--readme", type=Path, metavar="README",
        help="rewrite README's figures and headline blocks from the published tables "
        "(--publish DIR, else --results); without --publish nothing is trained",
    )  # fmt: skip
    p.add_argument(
        "--results", type=Path, default=Path("docs/results"), metavar="DIR",
        help="the published tables --readme reads (default docs/results)",
    )  # fmt: skip
    return parser


def _resolve_device(parser: argparse.ArgumentParser, device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA GPU is available here (use --device cpu)")
    return device


def _options(parser, args):
    """The preset and the :class:`~.runner.RunOptions` of a figure or study command."""
    from progfusion.experiments.executors import default_workers

    from .presets import get_preset
    from .runner import RunOptions

    preset = None
    if hasattr(args, "preset"):
        preset = get_preset(args.preset)
        if args.trials is not None:
            preset = preset.with_trials(args.trials)
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
    )
    return preset, opts


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("figures", "figure", "study", "plot", "report"):
        import matplotlib

        matplotlib.use("Agg")  # files only: the CLI never opens a window
    try:
        if args.command in ("figures", "figure"):
            from .runner import run_figures

            preset, opts = _options(parser, args)
            figures = ["4", "7", "8"] if args.command == "figures" else [args.number]
            run_figures(figures, preset, opts)
            print(f"wrote figures, tables and run.json to {opts.out}")
        elif args.command == "study":
            from .runner import run_study_file

            _, opts = _options(parser, args)
            try:
                run_study_file(args.file, opts, trials=args.trials, seed=args.seed)
            except ValueError as exc:
                parser.error(f"study: {exc}")
        elif args.command == "plot":
            from .redraw import redraw

            try:
                written = redraw(args.table, args.out)
            except (FileNotFoundError, ValueError) as exc:
                parser.error(f"plot: {exc}")
            print("wrote " + ", ".join(str(p) for p in written))
        elif args.command == "theory":
            from progfusion.theory.render import run as run_theory

            return run_theory(markdown=args.markdown, write=args.write, readme=args.readme)
        elif args.command == "report":
            from .publish import publish, refresh_readme
            from .report import write_report

            if args.readme is None or args.publish is not None:
                preset, opts = _options(parser, args)
                print(f"wrote {write_report(preset, opts)}")
                if args.publish is not None:
                    publish(opts.out, args.publish)
                    print(f"published the tables of {opts.out} into {args.publish}")
            if args.readme is not None:
                try:
                    done, line = refresh_readme(args.readme, args.publish or args.results)
                except (ValueError, FileNotFoundError) as exc:
                    parser.error(f"report: {exc}")
                print(line, file=sys.stdout if done else sys.stderr)
                return 0 if done else 1
    except ConnectionError as exc:
        from progfusion.experiments.executors import SchedulerUnreachable

        if not isinstance(exc, SchedulerUnreachable):
            raise
        parser.error(str(exc))
    except KeyboardInterrupt:
        out = getattr(args, "out", None)
        sys.stderr.write(
            f"\ninterrupted: finished results are kept in {out}; rerun the same command to resume\n"
        )
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
