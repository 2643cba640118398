"""The gap study (issue 12): its studies, its tiny run end to end, and published numbers.

``gap_run`` (``tests/conftest.py``) runs ``progfusion figure gap --preset tiny`` once
per session (about 15 s on one core); the publishing tests copy the session's tiny
figures run and this run into a results folder of their own.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from progfusion.figures import gap, gap_headline, gap_mechanism, gap_studies, publish
from progfusion.figures.cli import main
from progfusion.figures.fig7 import GRID_PAPER
from progfusion.figures.gap import answer, gap_form, gap_markdown, settings_table
from progfusion.figures.registry import with_derived

from tests.runs import no_training


def _gap_studies(size: str) -> dict:
    return gap.FIGURE.studies(size, seed=0)


def test_paper_gap_studies_keep_7a_setting_and_change_one_factor() -> None:
    studies = _gap_studies("paper")
    steps, stopping = studies["gap-steps"], studies["gap-stopping"]
    for study in (steps, stopping):
        assert study.task == GRID_PAPER.task and dict(study.grid) == dict(GRID_PAPER.grid)
        assert study.trials == 30 and study.designs == gap.DESIGNS
    assert steps.protocol.record_steps == (100, 200, 400, 800, 1600, 3200, 6400, 12800)
    assert stopping.protocol == GRID_PAPER.protocol
    for factor, values in gap.FACTORS.items():
        study = studies[f"gap-{factor}"]
        assert list(study.grid) == [factor, "eta", "sigma2"] and study.grid[factor] == values
        assert study.trials == gap.FACTOR_TRIALS and study.designs == ("late", "pro")
        # 7(a)'s own value is one of the factor's values
        cell = study.cells()[0]
        base_task, base_protocol, base_params = GRID_PAPER.cell_settings(GRID_PAPER.cells()[0])
        reference = {**base_params, **vars(base_task), "lr": base_protocol.lr}
        assert reference[factor] in values
        assert cell.params[factor] == values[0]
    with pytest.raises(ValueError, match="size"):
        _gap_studies("huge")


def test_cpu_gap_size_is_the_paper_setting_on_the_factor_grid() -> None:
    paper, cpu = _gap_studies("paper"), _gap_studies("cpu")
    assert list(cpu) == list(paper)
    for name, study in cpu.items():
        reference = paper[name]
        assert study.task == reference.task and study.protocol == reference.protocol
        assert study.designs == reference.designs and study.params == reference.params
        assert study.trials == gap.FACTOR_TRIALS
        cells = {(c.params["eta"], c.params["sigma2"]) for c in study.cells()}
        grid = gap.FACTOR_GRID
        assert cells == {(e, s) for e in grid["eta"] for s in grid["sigma2"]}


def test_cpu_preset_is_refused_for_the_figures(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["figure", "4", "--preset", "cpu", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and len(err.splitlines()) == 1
    assert "--preset" in err and "figure gap" in err and not (tmp_path / "out").exists()


def test_gap_form_is_read_from_the_tables(gap_run: Path) -> None:
    paths = [p for p in gap_run.glob("gap-*.csv") if p.stem != "gap-settings"]
    tables = {p.stem: pd.read_csv(p) for p in paths}
    form = gap_form(tables)
    assert form == (
        "every study on 1 x 1 cells (eta 4; sigma2 0), 2 trials a cell, 256 training samples"
    )
    steps = tables["gap-steps"]
    wider = pd.concat([steps, steps.assign(eta=2.0), steps.assign(trial=steps["trial"] + 5)])
    form = gap_form({**tables, "gap-steps": wider})
    assert form.startswith("steps and stopping studies on 2 x 1 cells (eta 2, 4; sigma2 0), 2-4")
    assert "; factor studies on 1 x 1 cells (eta 4; sigma2 0), 2 trials a cell" in form
    assert f"Tables: {form}." in gap_markdown(settings_table(tables), form)


def test_gap_run_writes_tables_figure_and_a_generated_answer(gap_run: Path, tmp_path: Path) -> None:
    for name in ("gap.png", "gap.pdf", "gap.md", "gap-settings.csv", "gap-steps.csv"):
        assert (gap_run / name).is_file()
    (record,) = json.loads((gap_run / "run.json").read_text())["runs"]
    assert set(record["wall_seconds"]) == {"gap"} and set(record["preset"]["studies"]) == set(
        _gap_studies("tiny")
    )  # run.json records the gap studies it ran
    settings = pd.read_csv(gap_run / "gap-settings.csv")
    steps = settings[settings["study"] == "gap-steps"]
    assert sorted(set(steps["value"].astype(int))) == [25, 50, 100]
    assert set(zip(steps["new"], steps["base"], strict=True)) == set(gap.COMPARISONS)
    assert {"n_train = 1024", "standardize_y = False", "context = add"} <= set(settings["setting"])
    ok = settings["win_low"] <= settings["win_fraction"]
    assert (ok & (settings["win_fraction"] <= settings["win_high"])).all()
    # 2 trials per cell: every verdict is inconclusive by the report's rule
    assert set(settings["win_verdict"]) == {"inconclusive"}
    text = (gap_run / "gap.md").read_text()
    assert answer(settings) in text and "late-wide" in text and "iterative" in text
    # the mechanism section: one cell, so it says why it has no rows
    assert gap_mechanism.HEADING in text and "needs a grid with at least two values" in text
    rerun = Path(shutil.copytree(gap_run, tmp_path / "rerun"))  # gap_run stays read only
    with no_training() as calls:  # rerunning resumes: nothing is trained again
        argv = ["figure", "gap", "--preset", "tiny", "--out", str(rerun), "--quiet"]
        assert main([*argv, "--workers", "1"]) == 0
    assert calls == []


def test_tuned_studies_choose_every_designs_setting_on_validation(gap_run: Path) -> None:
    settings = pd.read_csv(gap_run / "gap-settings.csv")
    tuned = settings[settings["factor"] == "tuning"]
    assert set(tuned["setting"]) == {"tuned, early stopping", "tuned, fixed 100 steps"}
    trained = set(gap_studies.TUNED_DESIGNS)  # iterative-wide is not tuned
    pairs = {pair for pair in gap.COMPARISONS if set(pair) <= trained}
    assert set(zip(tuned["new"], tuned["base"], strict=True)) == pairs
    chosen = pd.read_csv(gap_run / "gap-chosen.csv")
    assert set(chosen["design"]) == trained
    assert (chosen["candidates"] == 9).all()  # 3 learning rates x 3 widths, every one ok
    assert set(chosen["lr"]) <= set(gap.TUNING["lr"]) and chosen["val_loss"].notna().all()
    full = pd.read_csv(gap_run / "gap-tuned.csv")
    best = full.groupby(["design", "trial"])["val_loss"].min()
    assert np.allclose(chosen[chosen["study"] == "gap-tuned"].set_index(["design", "trial"])[
        "val_loss"].sort_index(), best.sort_index())  # fmt: skip


def _row(setting, base, win, gain, **verdicts) -> dict:
    return {"study": "gap-steps", "setting": setting, "new": "pro", "base": base, "n": 30,
            "win_fraction": win, "mean_improvement": gain, "ci_low": gain - 1, "ci_high": gain + 1,
            "replicate": False, "narrow_win_verdict": "not reproduced", "factor": "steps",
            **verdicts}  # fmt: skip


def test_answer_names_the_settings_that_reproduce_both_bands_and_every_control_there() -> None:
    both = {"win_verdict": "reproduced", "improvement_verdict": "reproduced"}
    rows = [
        _row("fast", "late", 0.95, 8.0, **both, narrow_win_verdict="reproduced"),
        _row("slow", "late", 0.6, 1.0, win_verdict="no", improvement_verdict="no"),
        _row("lr = 0.001", "late", 0.7, 1.2, win_verdict="no", improvement_verdict="no",
             replicate=True),
        _row("fast", "late-wide", 0.2, -4.0),
        _row("fast", "late-wide-flops", 0.1, -6.0),
        _row("early stopping (7(a))", "late", 0.65, 1.0, win_verdict="no",
             improvement_verdict="no"),
        _row("early stopping (7(a))", "iterative", 0.6, 0.5),
    ]  # fmt: skip
    text = answer(pd.DataFrame(rows))
    assert text.startswith("Of 3 distinct configurations (4 settings, 1 of them")
    assert "which win in 70.0% to 70.0%" in text
    assert "1 reproduces both" in text and ": fast." in text and "slow" not in text
    assert "85% to 95%, 1 of them still reproduces both: fast" in text
    assert "At fast, pro-fusion against late-wide: -4.00%" in text
    assert "against late-wide-flops: -6.00% [-7.00%, -5.00%], wins 10.0%" in text
    assert "Under 7(a)'s early stopping, pro-fusion against iterative: +0.50%" in text


def test_answer_says_when_no_setting_reproduces_both() -> None:
    rows = [_row("slow", "late", 0.6, 1.0, win_verdict="no", improvement_verdict="no")]
    text = answer(pd.DataFrame(rows))
    assert text.startswith("None of 1 distinct configurations reproduces both")
    assert "closest: slow" in text


def _results(tiny_run: Path, gap_run: Path, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(tiny_run, out)
    for table in gap_run.glob("gap-*.csv"):
        if table.name != "gap-settings.csv":
            shutil.copy(table, out / table.name)
    return out


def test_readme_block_regenerates_from_tables_and_a_hand_edit_fails(
    tiny_run: Path, gap_run: Path, tmp_path: Path
) -> None:
    results = tmp_path / "results"
    publish.publish(_results(tiny_run, gap_run, tmp_path), results)
    readme = tmp_path / "README.md"
    readme.write_text(
        "# x\n<!-- report-headline:start -->\nold +8%\n<!-- report-headline:end -->\nkept\n"
    )
    report = tmp_path / "paper-report.md"
    report.write_text("# r\n<!-- paper-report:start -->\nold\n<!-- paper-report:end -->\n")
    argv = ["report", "--readme", str(readme), "--paper-report", str(report)]
    with no_training() as calls:
        assert main([*argv, "--results", str(results)]) == 0
    assert calls == []
    tables = publish.load_tables(results)
    assert publish.check_readme(readme, tables) == []
    text = readme.read_text()
    assert "kept" in text and "old +8%" not in text and "the gap study" in text
    assert "| Figure 7: trials where pro-fusion has the lower MSE |" in text
    assert "(the gap study, every study on 1 x 1" in text and "Tables: every study on" not in text
    settings = settings_table({k: v for k, v in tables.items() if k.startswith("gap-")})
    assert answer(settings) in text
    # the paragraph on tuning, the matched controls and the mechanism, as one paragraph
    survives = gap_headline.paragraph(with_derived(tables))
    assert f"\n\n{survives}\n\n" in text and "tuned alike" in survives
    assert "(matched in effective parameters)" in survives and "mechanism" in survives
    assert "](docs/paper-report.md)" in text
    # how the tables were made, from run.json, is in the paper report: the command (its
    # folders by name alone), the machine, the wall times
    made = report.read_text().split("## How the tables were made", 1)[1]
    assert "`progfusion figures --preset tiny" in made and "figure4 " in made and " min" in made
    assert "--out /" not in made and "--gap-out /" not in made
    # a hand edit of one number of the block is caught
    block = text.split("<!-- report-headline:start -->")[1]
    number = next(w for w in block.split() if w.endswith("%") and w[0].isdigit())
    readme.write_text(text.replace(number, "99.9%", 1))
    assert publish.check_readme(readme, tables) == ["headline"]


def test_readme_without_markers_or_tables_is_refused(tmp_path: Path, capsys) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("no markers\n")
    with pytest.raises(SystemExit) as exc:
        main(["report", "--readme", str(readme), "--results", str(tmp_path / "none")])
    assert exc.value.code == 2 and "report-headline:start" in capsys.readouterr().err
    readme.write_text("".join(f"{m}\n" for pair in publish.BLOCKS.values() for m in pair))
    with pytest.raises(SystemExit) as exc:
        main(["report", "--readme", str(readme), "--results", str(tmp_path / "none")])
    assert exc.value.code == 2 and "figure4" in capsys.readouterr().err


def test_published_readme_matches_committed_tables() -> None:
    root = Path(__file__).resolve().parents[1]
    results = root / publish.RESULTS_DIR
    if not (results / "figure7.csv.gz").is_file():
        pytest.skip("docs/results/ holds no published tables yet (see the README)")
    assert publish.check_readme(root / "README.md", publish.load_tables(results)) == []
