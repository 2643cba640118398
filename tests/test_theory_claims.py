"""Every claim's verdict is recomputed here and compared with the published tables;
the renderings and the command line are checked on the computed results."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from progfusion.theory import (
    ClaimResult,
    claims,
    counting_claims,
    identity_claims,
    linear_claims,
    multiplicative_claims,
    render,
)

ROOT = Path(__file__).resolve().parents[1]
VERDICTS = {"holds", "holds with a correction", "false as written"}
SECTIONS = {
    "T": identity_claims,
    "L": linear_claims,
    "M": multiplicative_claims,
    "C": counting_claims,
}


@pytest.fixture(scope="module")
def results() -> list[ClaimResult]:
    return claims.evaluate_claims()


def _published(text: str) -> dict[str, str]:
    """Claim key -> verdict from a Markdown claims table (in a report: the table
    between the theory-table markers; other tables there have verdicts too)."""
    if render.README_START in text:
        text = text[text.index(render.README_START) : text.index(render.README_END)]
    rows = re.findall(r"^\| (\w+) \| .*?\| \*\*([a-z ]+)\*\* \|", text, flags=re.MULTILINE)
    return dict(rows)


def test_every_claim_is_decided(results: list[ClaimResult]) -> None:
    assert [r.key for r in results] == [c.key for c in claims.CLAIMS]
    assert len({r.key for r in results}) == len(results) == 24
    for r in results:
        assert r.verdict in VERDICTS, r.key
        assert r.evidence and "WARNING" not in r.evidence and "UNDECIDED" not in r.evidence
        assert r.quote and r.location and r.computation


def test_each_claim_lives_in_its_section_module() -> None:
    for prefix, module in SECTIONS.items():
        keys = [c.key for c in module.CLAIMS]
        assert keys and all(k.startswith(prefix) for k in keys), module.__name__
    assert [c.key for c in claims.CLAIMS] == [
        c.key for module in SECTIONS.values() for c in module.CLAIMS
    ]


def test_table_is_fast_enough(results: list[ClaimResult]) -> None:
    assert sum(r.seconds for r in results) < 120


def test_all_three_verdicts_occur(results: list[ClaimResult]) -> None:
    assert {r.verdict for r in results} == VERDICTS


@pytest.mark.parametrize("path", ["docs/theory_table.md", "docs/paper-report.md"])
def test_published_verdicts_match_computation(results: list[ClaimResult], path: str) -> None:
    published = _published((ROOT / path).read_text(encoding="utf-8"))
    assert published == {r.key: r.verdict for r in results}, (
        f"{path} is out of date: run `progfusion theory --write docs/theory_table.md "
        "--paper-report docs/paper-report.md`"
    )


def test_published_table_is_the_rendered_one(results: list[ClaimResult]) -> None:
    table = render.render_claims_table(markdown=True, results=results).strip()
    assert table in (ROOT / "docs/theory_table.md").read_text(encoding="utf-8")
    assert table in (ROOT / "docs/paper-report.md").read_text(encoding="utf-8"), (
        "docs/paper-report.md is out of date: run `progfusion theory --paper-report "
        "docs/paper-report.md`"
    )


def test_paper_report_sections_are_rewritten_from_the_computation(
    results: list[ClaimResult], tmp_path
) -> None:
    table = render.render_claims_table(markdown=True, results=results)
    report = tmp_path / "paper-report.md"
    report.write_text("no markers\n")
    assert not render.update_theory_sections(report, table)
    assert report.read_text() == "no markers\n"
    markers = (render.README_START, render.README_END, render.ERRATA_START, render.ERRATA_END)
    report.write_text("# r\n{}\nold **holds**\n{}\nkept\n{}\nE1 edited\n{}\n".format(*markers))
    assert render.update_theory_sections(report, table)
    text = report.read_text()
    assert table.strip() in text and render.render_errata(True).strip() in text
    assert "kept" in text and "old **holds**" not in text and "E1 edited" not in text


def test_single_claim_selection() -> None:
    (only,) = claims.evaluate_claims(["C1"])
    assert only.key == "C1" and only.verdict == "holds"
    with pytest.raises(ValueError, match="unknown claim keys"):
        claims.evaluate_claims(["Z9"])


def test_renderings(results: list[ClaimResult]) -> None:
    text = render.render_claims_table(results=results)
    markdown = render.render_claims_table(markdown=True, results=results)
    for r in results:
        assert re.search(rf"^{r.key}\s+\[{r.verdict}\]", text, flags=re.MULTILINE)
        assert f"| {r.key} |" in markdown
    assert _published(markdown) == {r.key: r.verdict for r in results}
    tally = {v: sum(r.verdict == v for r in results) for v in VERDICTS}
    assert f"{len(results)} claims: {tally['holds']} hold" in markdown
    counts = render.render_counts_table(width=200)
    assert len(counts.splitlines()) == 1 + len(counting_claims.COUNT_GRID)
    assert "10 / 6 / 1" in counts  # n = 2, D = 2: early features enumerated / distinct / printed


@pytest.mark.parametrize("width", [60, 80, 120])
def test_plain_text_fits_the_width(results: list[ClaimResult], width: int) -> None:
    text = render.render_claims_table(results=results, width=width)
    text += render.render_errata(width=width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert "holds with a correction" in text  # verdicts are never broken across lines
    narrow = render.render_counts_table(width=60)
    assert len(narrow.split("\n\n")) == 2  # columns split into two tables, keys repeated
    assert all(t.startswith("n  D") for t in narrow.split("\n\n"))


def test_terminal_width_is_80_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert render.terminal_width() == 80  # pytest captures stdout: not a terminal
    monkeypatch.setenv("COLUMNS", "132")
    assert render.terminal_width() == 132


def test_update_readme(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- theory-table:start -->\nold\n<!-- theory-table:end -->\nend\n")
    assert render.update_readme(readme, table="| new |")
    assert readme.read_text() == (
        "intro\n<!-- theory-table:start -->\n| new |\n<!-- theory-table:end -->\nend\n"
    )
    bare = tmp_path / "bare.md"
    bare.write_text("no markers\n")
    assert not render.update_readme(bare, table="x")
    assert bare.read_text() == "no markers\n"


def test_command_line_writes_the_same_table(
    results: list[ClaimResult], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"a\n{render.README_START}\nold\n{render.README_END}\nb\n")
    docs = tmp_path / "table.md"
    assert render.main(["--write", str(docs), "--readme", str(readme), "--markdown"]) == 0
    table = render.render_claims_table(markdown=True, results=results)
    assert capsys.readouterr().out == table
    assert docs.read_text().endswith(table) and table.strip() in readme.read_text()
    bare = tmp_path / "bare.md"
    bare.write_text("no markers\n")
    assert render.run(readme=bare) == 2
    assert render.run(paper_report=bare) == 2 and bare.read_text() == "no markers\n"
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("--readme: no theory-table") and err[1].startswith("--paper-report")
