"""A model's costs (issue 26, item 2): nominal and effective parameters, multiply-adds.

Hand-checkable: one layer, a chain of bias-free maps with a wide and a narrow middle;
the Figure 7 models' counts the issue quotes (late 433; pro 1,201 nominal and 689
effective; iterative 945 and 561); pro-fusion with R = 1 does exactly late fusion's
work (c = 0 runs the base model), and each further step adds the same amount; every
study table carries the three columns.
"""

from __future__ import annotations

import pytest
from progfusion.experiments import LatentTask, Protocol, Study, run_study
from progfusion.experiments.designs import DESIGNS
from progfusion.models.counting import (
    effective_parameter_count,
    flops_per_sample,
    parameter_count,
)
from progfusion.models.layers import Linear
from torch import nn


class _Two(nn.Module):
    """Two modalities summed after a linear map each."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = Linear(3, 2), Linear(4, 2)

    def forward(self, xs):
        return self.a(xs[0]) + self.b(xs[1])


def test_one_layer_by_hand() -> None:
    model = _Two()
    assert parameter_count(model) == effective_parameter_count(model) == (3 * 2 + 2) + (4 * 2 + 2)
    assert flops_per_sample(model, (3, 4)) == 3 * 2 + 4 * 2


@pytest.mark.parametrize(
    ("dims", "effective"),
    [
        ((6, 9, 4), 6 * 4),  # a wide middle: any 4 x 6 matrix
        ((6, 2, 4), 2 * (6 + 4) - 2 * 2),  # rank 2: 16 of the 24 entries' freedom
        ((6, 5, 3, 4), 3 * (6 + 4) - 3 * 3),  # the narrowest link bounds the rank
    ],
)
def test_a_bias_free_chain_counts_as_the_map_it_computes(dims, effective) -> None:
    links = list(zip(dims[:-1], dims[1:], strict=True))
    chain = nn.Sequential(*(Linear(a, b, bias=False) for a, b in links))
    assert parameter_count(chain) == sum(a * b for a, b in links)
    assert effective_parameter_count(chain) == effective


def test_a_chain_with_a_bias_is_not_collapsed() -> None:
    chain = nn.Sequential(Linear(6, 9, bias=False), Linear(9, 4))
    assert effective_parameter_count(chain) == parameter_count(chain)


@pytest.mark.parametrize(
    ("design", "nominal", "effective"),
    [("late", 433, 433), ("pro", 1201, 689), ("iterative", 945, 561)],
)
def test_the_figure_7_models(design, nominal, effective) -> None:
    model = DESIGNS[design]((16, 16), 1, width=8)
    assert (parameter_count(model), effective_parameter_count(model)) == (nominal, effective)


def test_pro_fusion_with_one_step_does_late_fusions_work_and_each_step_adds_the_same() -> None:
    late = flops_per_sample(DESIGNS["late"]((16, 16), 1, width=8), (16, 16))
    pro = [flops_per_sample(DESIGNS["pro"]((16, 16), 1, width=8, R=r), (16, 16)) for r in (1, 2, 3)]
    assert pro[0] == late
    assert pro[2] - pro[1] == pro[1] - pro[0] > 0


def test_every_study_table_has_the_three_counts() -> None:
    study = Study(
        name="costs", task=LatentTask(n_train=64, n_val=32, n_test=32), designs=("late", "pro"),
        params={"width": 8}, protocol=Protocol(max_steps=10, batch_size=32), trials=1,
    )  # fmt: skip
    table = run_study(study, progress=False).set_index("design")
    assert table.loc["pro", "n_params"] == 1201 and table.loc["pro", "n_params_effective"] == 689
    assert table.loc["late", "flops_per_sample"] < table.loc["pro", "flops_per_sample"]
