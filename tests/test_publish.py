"""Published images and documents (issue 12, item 7): the gap figure redrawn by
``progfusion plot``, images drawn from the published tables, and the paper report's
generated block. The tiny runs are the session's (``tests/conftest.py``), copied."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread
from progfusion.figures import paper_report, publish
from progfusion.figures.cli import main

from tests.runs import no_training

ROOT = Path(__file__).resolve().parents[1]


def _published(tiny_run: Path, gap_run: Path, tmp_path: Path) -> Path:
    """A results folder published from copies of the tiny figures and gap runs."""
    run = Path(shutil.copytree(tiny_run, tmp_path / "run"))
    for table in gap_run.glob("gap-*.csv"):
        shutil.copy(table, run / table.name)
    results = tmp_path / "docs" / "results"
    publish.publish(run, results)
    return results


def test_gap_tables_publish_from_their_own_folder(
    tiny_run: Path, gap_run: Path, tmp_path: Path
) -> None:
    results = tmp_path / "results"
    written = publish.publish(tiny_run, results, gap_out=gap_run)
    names = {p.name for p in written}
    assert {"figure7.csv.gz", "gap-steps.csv.gz", "run.json", "gap-run.json"} <= names
    # the gap folder's run.json, published with its commands' folders by name alone
    source, published = (
        json.loads(p.read_text()) for p in (gap_run / "run.json", results / "gap-run.json")
    )
    assert published["configuration"] == source["configuration"]
    assert published["runs"] == [paper_report.portable_run(run) for run in source["runs"]]
    (run,) = published["runs"]
    assert f" --out {gap_run.name} " in run["command"] and run["options"]["out"] == gap_run.name
    assert str(gap_run) not in (results / "gap-run.json").read_text()
    report = tmp_path / "paper-report.md"
    report.write_text(_REPORT)
    publish.refresh(results, paper_report=report)
    text = report.read_text()
    configurations = "(preset `tiny`, protocol `early-stopping`, root_seed `0`; gap study: preset"
    assert configurations + " `tiny`" in text
    assert "Tables: every study on 1 x 1 cells" in text


def test_plot_redraws_the_gap_figure_from_settings_or_study_tables(
    gap_run: Path, tmp_path: Path, capsys
) -> None:
    with no_training() as calls:
        settings = str(gap_run / "gap-settings.csv")
        assert main(["plot", settings, "--out", str(tmp_path / "a.png")]) == 0
        assert main(["plot", str(gap_run / "gap-steps.csv"), "--out", str(tmp_path / "b")]) == 0
    assert calls == []
    assert (tmp_path / "b" / "gap.png").is_file() and (tmp_path / "b" / "gap.pdf").is_file()
    # the settings table and the study tables beside it give the same picture
    assert np.array_equal(imread(tmp_path / "a.png"), imread(tmp_path / "b" / "gap.png"))
    bad = tmp_path / "gap-settings.csv"
    pd.read_csv(gap_run / "gap-settings.csv").drop(columns="win_fraction").to_csv(bad)
    with pytest.raises(SystemExit) as exc:
        main(["plot", str(bad)])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and "'win_fraction'" in err and len(err.splitlines()) == 1


def test_plot_reads_published_tables(tiny_run: Path, gap_run: Path, tmp_path: Path) -> None:
    results = _published(tiny_run, gap_run, tmp_path)
    for name in ("figure7", "gap-stopping"):
        out = tmp_path / f"{name}.png"
        assert main(["plot", str(results / f"{name}.csv.gz"), "--out", str(out)]) == 0
        assert out.stat().st_size > 0
    cut = tmp_path / "cut" / "figure4.csv.gz"
    cut.parent.mkdir()
    cut.write_bytes(gzip.compress((results / "figure4.csv.gz").read_bytes()[:-40]))
    with pytest.raises(SystemExit) as exc:
        main(["plot", str(cut)])
    assert exc.value.code == 2


def test_publishing_draws_the_images_from_the_published_tables(
    tiny_run: Path, gap_run: Path, tmp_path: Path
) -> None:
    results = _published(tiny_run, gap_run, tmp_path)
    with no_training() as calls:
        lines = publish.refresh(results)
    assert calls == [] and "gap.png" in lines[0]
    images = {name: (results / f"{name}.png").read_bytes() for name in ("figure4", "figure7")}
    assert (results / "figure8.png").is_file() and (results / "gap.png").is_file()
    # change the published Figure 7 table: its image follows, Figure 4's stays as it was
    table = pd.read_csv(results / "figure7.csv.gz")
    pro = table["design"] == "pro"
    table.loc[pro, "test_mse"] = table.loc[pro, "test_mse"] * 3.0
    table.to_csv(results / "figure7.csv.gz", index=False)
    publish.refresh(results)
    assert (results / "figure7.png").read_bytes() != images["figure7"]
    assert (results / "figure4.png").read_bytes() == images["figure4"]


_REPORT = (
    "# report\n\nHand-written prose, kept.\n\n<!-- paper-report:start -->\nold 68.5%\n"
    "<!-- paper-report:end -->\n\n## Theory\n\nkept too\n"
)


def test_paper_report_block_regenerates_and_a_hand_edit_fails(
    tiny_run: Path, gap_run: Path, tmp_path: Path
) -> None:
    results = _published(tiny_run, gap_run, tmp_path)
    report = tmp_path / "docs" / "paper-report.md"
    report.write_text(_REPORT)
    readme = tmp_path / "README.md"
    readme.write_text("<!-- report-headline:start -->\n<!-- report-headline:end -->\n")
    argv = ["report", "--readme", str(readme), "--paper-report", str(report)]
    with no_training() as calls:
        assert main([*argv, "--results", str(results)]) == 0
    assert calls == []
    tables = publish.load_tables(results)
    assert paper_report.check_paper_report(report, tables, results) == []
    assert publish.check_readme(readme, tables) == []
    text = report.read_text()
    assert "Hand-written prose, kept." in text and "kept too" in text and "old 68.5%" not in text
    assert "## Empirical claims" in text and "## The gap study" in text
    for image in ("figure4", "figure7", "figure8", "gap"):  # links resolve from the report
        assert f"](results/{image}.png)" in text and (report.parent / "results" / f"{image}.png")
    assert "](docs/paper-report.md)" in readme.read_text()
    row = next(line for line in text.splitlines() if line.startswith("| 7 |"))
    report.write_text(text.replace(row, row.replace("[", "[0", 1)))
    assert paper_report.check_paper_report(report, tables, results) == ["paper-report"]


def test_document_without_markers_is_refused_before_training(tmp_path: Path, capsys) -> None:
    report = tmp_path / "paper-report.md"
    report.write_text("no markers\n")
    with no_training() as calls, pytest.raises(SystemExit) as exc:
        main(["report", "--preset", "tiny", "--out", str(tmp_path / "out"),
              "--publish", str(tmp_path / "results"), "--paper-report", str(report)])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and calls == [] and not (tmp_path / "out").exists()
    assert "paper_report" in err and "paper-report:start" in err and len(err.splitlines()) == 1


def test_published_paper_report_matches_committed_tables() -> None:
    results = ROOT / publish.RESULTS_DIR
    if not (results / "figure7.csv.gz").is_file():
        pytest.skip("docs/results/ holds no published tables yet (see the README)")
    report = ROOT / paper_report.PAPER_REPORT
    tables = publish.load_tables(results)
    assert paper_report.check_paper_report(report, tables, results) == [], (
        "docs/paper-report.md is out of date: run `progfusion report --readme README.md "
        "--paper-report docs/paper-report.md`"
    )
