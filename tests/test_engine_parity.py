"""The study engine reproduces the tables of the engine it replaced, bit for bit.

Before Figures 4, 7 and 8 became Studies (issue 11), ``progfusion figures --preset
tiny`` and ``--preset quick`` (root seed 0, torch 2.13.0 on a CPU) were run on the
old code and a checksum of each table recorded here. A checksum covers every
column the old table had, except the wall time (``shard_seconds``) and the store's
configuration hash (``config``, a hash of how the configuration is described,
which changed with it), as the CSV text written (every digit), rows in ``job_id``
order. The new tables have more columns (every parameter, ``n_params``); the old
columns must hold exactly the old values.

Figure 4's checksums were recorded again when the stacked trainer began taking the
cross-entropy with the classes on dimension 1 (issue 17: 4-5x faster on a CPU, the
same loss values; the backward's float32 rounding differs). The largest differences
then measured against the old tables: tiny, 1.4e-7 relative (one float32 ulp, 6 of 72
values); quick, amplified over 2,000 Adam steps, 4 of 336 models stopping 100 steps
apart, one model's test accuracy changed by 0.007 and a plotted mean (width, design,
panel) by at most 0.0016. Figures 7, 7(b) and 8 are unchanged bit for bit.

The values are float32 training results, so they are pinned for the torch build and
the CPU they were recorded with; on another build or CPU model the test is skipped,
not loosened. (The CPU matters: on an AMD EPYC with the same torch build and the same
AVX-512 kernels, all four tiny tables differ from these checksums in float32's last
digits, measured 2026-12-01.)
The quick tables take minutes to train: that check runs when
``PROGFUSION_CHECK_QUICK=1`` is set (it was run when this file was written).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd
import pytest
import torch
from progfusion.figures.cli import main

RECORDED_WITH = "2.13.0+cpu"
RECORDED_ON = "Intel(R) Xeon(R) Processor"  # /proc/cpuinfo's model name
_FIG4 = ["job_id", "figure", "panel", "head_hidden", "width", "design", "trial", "data_seed"]
_FIG4 += ["majority", "seed", "status", "steps", "best_step", "val_loss", "test_loss"]
_FIG4 += ["test_accuracy"]
_FIG7 = ["job_id", "figure", "eta", "sigma2", "width", "design", "trial", "data_seed", "seed"]
_FIG7 += ["status", "steps", "best_step", "val_loss", "test_loss", "test_mse"]
_TINY_NOISE = ["mse_noise_0", "mse_noise_0.5", "mse_noise_1"]
_QUICK_NOISE = [f"mse_noise_{level / 10:g}" for level in range(11)]
_QUICK_STEPS = [f"mse_step_{s}" for s in (100, 200, 400, 800, 1600, 3200, 6400)]

#: (old columns, sha256) of each table, per preset.
RECORDED = {
    "tiny": {
        "figure4": (
            _FIG4,
            "c270d19a8507e092cf1fd58e84140d28a737be44d589aac30a72087fdf035615",
        ),
        "figure7": (
            _FIG7 + _TINY_NOISE,
            "6d1819f63b8affaa4bfddb8a61daf47cf1d31128bf203215e37804ece1f6e321",
        ),
        "figure7b": (
            _FIG7 + ["mse_step_50", "mse_step_100", "mse_step_200"],
            "3ed0b3162d43c4ad3ee9618b4a219543bfa1c5d97f9fb5614378ccbae3b11030",
        ),
        "figure8": (
            _FIG7 + _TINY_NOISE + ["robust_auc"],
            "6421fde08136fa4a7dfca520571aa0a8fffffe6926e3475939a29dc1fb89591b",
        ),
    },
    "quick": {
        "figure4": (
            _FIG4,
            "c5ba4a65372cf3b52d0edbb70b7ac9bc9a2ede9e6f40d4bee967e48c685b22b9",
        ),
        "figure7": (
            _FIG7 + _QUICK_NOISE,
            "713720976a735126cbf6d3e8b78679fc06bcfb86a601cdde3715351974f51494",
        ),
        "figure7b": (
            _FIG7 + _QUICK_STEPS,
            "85a73d56ab9f6ef1946b16a79b5fb5ce98710abbb235b80ec5a44d4f83ff172f",
        ),
        "figure8": (
            _FIG7 + _QUICK_NOISE + ["robust_auc"],
            "ef20e58e25363199b475003c1073f26b42635924404384217d1cdb99792a4ce0",
        ),
    },
}


def _cpu_model() -> str | None:
    """The first ``model name`` of ``/proc/cpuinfo``, or None where there is none."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return None
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else None


pytestmark = [
    pytest.mark.skipif(
        torch.__version__ != RECORDED_WITH,
        reason=f"checksums recorded with torch {RECORDED_WITH} on a CPU",
    ),
    pytest.mark.skipif(
        _cpu_model() != RECORDED_ON,
        reason=f"checksums recorded on an {RECORDED_ON}: float32 rounding differs by CPU",
    ),
]


def table_checksum(path: Path, columns: list[str]) -> str:
    """sha256 of ``columns`` of the CSV at ``path`` as written, rows in ``job_id`` order."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    rows = table[columns].sort_values("job_id", kind="stable")
    return hashlib.sha256(rows.to_csv(index=False).encode()).hexdigest()


def _check(out: Path, preset: str) -> None:
    for name, (columns, recorded) in RECORDED[preset].items():
        assert table_checksum(out / f"{name}.csv", columns) == recorded, name


def test_tiny_tables_equal_the_old_engines_bit_for_bit(tiny_run: Path) -> None:
    _check(tiny_run, "tiny")


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("PROGFUSION_CHECK_QUICK") != "1", reason="set PROGFUSION_CHECK_QUICK=1 (minutes)"
)
def test_quick_tables_equal_the_old_engines_bit_for_bit(tmp_path: Path) -> None:
    assert main(["figures", "--preset", "quick", "--quiet", "--out", str(tmp_path)]) == 0
    _check(tmp_path, "quick")


def test_the_checksum_sees_a_change_in_the_last_digit(tiny_run: Path, tmp_path: Path) -> None:
    columns, recorded = RECORDED["tiny"]["figure7"]
    text = (tiny_run / "figure7.csv").read_text()
    value = str(pd.read_csv(tiny_run / "figure7.csv", dtype=str)["test_mse"].iloc[0])
    changed = value[:-1] + ("1" if value[-1] != "1" else "2")
    (tmp_path / "figure7.csv").write_text(text.replace(value, changed, 1))
    assert table_checksum(tmp_path / "figure7.csv", columns) != recorded
