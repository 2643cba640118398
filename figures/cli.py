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
import sys

from .parser import build_parser

__all__ = ["main", "build_parser"]


def _resolve_device(parser: argparse.ArgumentParser, device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA GPU is available here (use --device cpu)")
    return device


def _figures(args: argparse.Namespace) -> list[str]:
    """The figures a command trains: ``figure NAME`` one; ``figures`` and ``report`` those
    that test the paper's claims."""
    from .parser import _paper_figures

    return [args.name] if args.command == "figure" else _paper_figures()


def _having(size: str) -> str:
    """``figure gap``: the figures that have ``size``."""
    from .registry import FIGURES

    return "figure " + ", ".join(n for n, f in FIGURES.items() if size in f.sizes)


def _options(parser, args):
    """The preset, the :class:`~.runner.RunOptions` and the studies (by table; None for
    ``study``) of a figure or study command."""
    from progfusion.experiments.executors import default_workers
    from progfusion.experiments.seeds import ROOT_SEED

    from .presets import get_preset
    from .runner import RunOptions

    preset, studies = None, None
    if hasattr(args, "preset"):
        preset = get_preset(args.preset)
        if args.trials is not None:
            preset = preset.with_trials(args.trials)
        try:  # builds every study once: refuses sizes beyond MAX_MODELS before anything runs
            studies = preset.studies(seed=args.seed, protocol=args.protocol, figures=_figures(args))
        except ValueError as exc:
            if "has no size" not in str(exc):
                parser.error(f"--trials {args.trials}: {exc}")
            parser.error(f"--preset: {exc}; {preset.name} is for {_having(preset.name)}")
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
        seed=args.seed if args.seed is not None else ROOT_SEED,
        device=device,
        workers=workers,
        scheduler=args.scheduler,
        chunk=chunk,
        compile=args.compile,
        quiet=args.quiet,
        force=args.force,
        command=args.argv,
        progress=True if args.progress else None,
    )
    return preset, opts, studies


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
        preset, opts, _ = _options(parser, args)
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

            preset, opts, studies = _options(parser, args)
            run_figures(_figures(args), preset, opts, studies=studies)
            print(f"wrote figures, tables and run.json to {opts.out}")
        elif args.command == "study":
            from progfusion.experiments.study_run import run_study_file

            _, opts, _ = _options(parser, args)
            try:
                table = run_study_file(
                    args.file, opts.out, trials=args.trials, seed=args.seed,
                    device=opts.device, workers=opts.workers, scheduler=opts.scheduler,
                    chunk=opts.chunk, compile=opts.compile, force=opts.force,
                    progress=False if opts.quiet else opts.progress,
                    command=opts.command or sys.argv[1:],
                )  # fmt: skip
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
