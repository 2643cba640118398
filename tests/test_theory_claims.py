"""Every claim's verdict is recomputed here and compared with the published tables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from progfusion.theory import claims

ROOT = Path(__file__).resolve().parents[1]
VERDICTS = {"holds", "holds with a correction", "false as written"}


@pytest.fixture(scope="module")
def results() -> list[claims.ClaimResult]:
    return claims.evaluate_claims()


def _published(text: str) -> dict[str, str]:
    """Claim key -> verdict from a Markdown claims table (in the README: the table
    between the theory-table markers; other tables there have verdicts too)."""
    start, end = "<!-- theory-table:start -->", "<!-- theory-table:end -->"
    if start in text:
        text = text[text.index(start) : text.index(end)]
    rows = re.findall(r"^\| (\w+) \| .*?\| \*\*([a-z ]+)\*\* \|", text, flags=re.MULTILINE)
    return dict(rows)


def test_every_claim_is_decided(results: list[claims.ClaimResult]) -> None:
    assert [r.key for r in results] == [c.key for c in claims.CLAIMS]
    assert len({r.key for r in results}) == len(results)
    for r in results:
        assert r.verdict in VERDICTS, r.key
        assert r.evidence and "WARNING" not in r.evidence and "UNDECIDED" not in r.evidence
        assert r.quote and r.location and r.computation


def test_table_is_fast_enough(results: list[claims.ClaimResult]) -> None:
    assert sum(r.seconds for r in results) < 120


def test_all_three_verdicts_occur(results: list[claims.ClaimResult]) -> None:
    assert {r.verdict for r in results} == VERDICTS


@pytest.mark.parametrize("path", ["docs/theory_table.md", "README.md"])
def test_published_verdicts_match_computation(results: list[claims.ClaimResult], path: str) -> None:
    published = _published((ROOT / path).read_text(encoding="utf-8"))
    assert published == {r.key: r.verdict for r in results}, (
        f"{path} is out of date: run `python -m progfusion.theory --write "
        "docs/theory_table.md --readme README.md`"
    )


def test_single_claim_selection() -> None:
    (only,) = claims.evaluate_claims(["C1"])
    assert only.key == "C1" and only.verdict == "holds"


def test_renderings(results: list[claims.ClaimResult], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(claims, "evaluate_claims", lambda keys=None: results)
    text = claims.render_claims_table()
    markdown = claims.render_claims_table(markdown=True)
    for r in results:
        assert re.search(rf"^{r.key}\s+\|", text, flags=re.MULTILINE)
        assert f"| {r.key} |" in markdown
    assert _published(markdown) == {r.key: r.verdict for r in results}
    counts = claims.render_counts_table()
    assert len(counts.splitlines()) == 1 + len(claims.COUNT_GRID)
    assert "10 / 6 / 1" in counts  # n = 2, D = 2: early features enumerated / distinct / printed


def test_update_readme(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- theory-table:start -->\nold\n<!-- theory-table:end -->\nend\n")
    assert claims.update_readme(readme, table="| new |")
    assert readme.read_text() == (
        "intro\n<!-- theory-table:start -->\n| new |\n<!-- theory-table:end -->\nend\n"
    )
    bare = tmp_path / "bare.md"
    bare.write_text("no markers\n")
    assert not claims.update_readme(bare, table="x")
    assert bare.read_text() == "no markers\n"
