"""Study files (TOML): every study round-trips, and every bad file is one named ValueError."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from progfusion.experiments import LatentTask, Protocol, Study, load_study, save_study
from progfusion.experiments.studyfile import study_from_dict, study_to_dict, study_to_toml
from progfusion.figures import fig4, fig7

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"
FIGURE_STUDIES = {
    f"{name}-{size}": study
    for name, sizes in (
        ("fig4", fig4.SIZES),
        ("fig7", fig7.GRID_SIZES),
        ("fig7b", fig7.STEPS_SIZES),
    )
    for size, study in sizes.items()
}


@pytest.mark.parametrize("key", sorted(FIGURE_STUDIES))
def test_every_figure_study_round_trips_through_toml(key: str, tmp_path: Path) -> None:
    study = FIGURE_STUDIES[key]
    path = save_study(study, tmp_path / "s.toml")
    again = load_study(path)
    assert again == study
    assert study_to_toml(again) == study_to_toml(study)


def test_the_example_study_loads_with_its_user_design_relative_to_the_file() -> None:
    study = load_study(EXAMPLES / "gated-study.toml")
    assert study.designs[:2] == ("late", "pro")
    assert study.designs[2] == f"{(EXAMPLES / 'gated_fusion.py').resolve()}:gated_pro"
    assert [c.key for c in study.cells()][:2] == [(512, 1), (512, 2)]
    assert study.task == LatentTask(eta=3.0, sigma2=0.25, n_val=256, n_test=1024)


def test_a_study_with_an_importable_user_design_round_trips(tmp_path: Path) -> None:
    study = load_study(EXAMPLES / "gated-study.toml")
    assert load_study(save_study(study, tmp_path / "again.toml")) == study


def test_an_unimportable_design_cannot_be_written() -> None:
    study = Study(name="x", task=LatentTask(), designs=(lambda dims, out: None,))
    with pytest.raises(ValueError, match="define it at module level"):
        study_to_toml(study)
    assert study_to_dict(study, strict=False)["designs"][0].endswith("<lambda>")


def _spec(**changes) -> dict:
    spec = {
        "name": "s",
        "designs": ["late", "pro"],
        "task": {"name": "latent", "n_train": 256},
        "grid": {"R": [1, 2]},
        "protocol": {"max_steps": 100},
    }
    spec.update(changes)
    return {k: v for k, v in spec.items() if v is not None}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"designs": ["late", "fancy"]}, r"designs: unknown design 'fancy' \(allowed: late"),
        ({"designs": ["nomodule:f"]}, r"designs: cannot import 'nomodule:f'"),
        ({"task": {"name": "latent", "n_train": -5}}, r"task.n_train must be an integer >= 1"),
        ({"task": {"name": "latent", "widht": 3}}, r"task: unknown parameter 'widht'"),
        ({"task": {"name": "mnist"}}, r"task.name must be one of lattice, latent"),
        ({"task": None}, r"task: missing"),
        ({"name": None}, r"name: missing"),
        ({"protocol": {"name": "patience"}}, r"protocol.name must be one of early-stopping"),
        ({"protocol": {"steps": 3}}, r"protocol: unknown field 'steps'"),
        ({"trials": -1}, r"trials must be an integer >= 1"),
        ({"grid": {"R": 2}}, r"grid.R must be a non-empty list"),
        ({"grid": {"hidden": [2]}}, r"'hidden' is not a parameter"),
        ({"colour": "red"}, r"unknown field 'colour'"),
    ],
)
def test_bad_study_data_is_one_value_error_naming_the_field(changes, message) -> None:
    with pytest.raises(ValueError, match=message):
        study_from_dict(_spec(**changes))


def test_a_file_that_is_not_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("name = \n")
    with pytest.raises(ValueError, match=r"broken.toml: not valid TOML"):
        load_study(path)
    with pytest.raises(ValueError, match=r"cannot read study file"):
        load_study(tmp_path / "missing.toml")


def test_toml_text_is_the_documented_shape() -> None:
    study = Study(
        name="s",
        task=LatentTask(n_train=256),
        grid={"panel": {"a": {"R": 1}, "b": {"R": 3}}},
        protocol=Protocol(name="fixed-steps", max_steps=50, record_steps=(10, 50)),
    )
    parsed = tomllib.loads(study_to_toml(study))
    assert parsed["task"]["name"] == "latent" and parsed["task"]["n_train"] == 256
    assert parsed["grid"] == {"panel": {"a": {"R": 1}, "b": {"R": 3}}}
    assert parsed["protocol"]["record_steps"] == [10, 50]
