"""ProFusion and IterativeFusion check their inputs by name (issue 24, item 5).

Every forward pass checks the number (or names) of the modalities and, for each
modality, at least two dimensions, the last one (the encoder's input width) and,
where the encoder starts with a linear layer, that layer's dtype. A mismatch is a
``ValueError`` naming the modality (its key or index), the expected and the given
shape or dtype: never torch's ``mat1 and mat2`` error, and 1-D inputs are refused.
Leading dimensions are free (the stacked trainer passes ``(N, B, f_i)`` on its
fast path and ``(B, f_i)`` per model under vmap), and both trainer paths name a
task whose widths do not fit the model.

Checked over random late-fusion architectures (hypothesis, the strategy of
``test_models_identity``); the c = 0 identity itself stays pinned there.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from progfusion.models import IterativeFusion, ModelSpec, ProFusion
from progfusion.models.data import ModelData, Split
from progfusion.models.protocol import TrainConfig
from progfusion.models.training import train_stack
from torch import Tensor

from tests.helpers import assert_close
from tests.test_models_identity import Arch, architectures, build_wrapped, make_inputs
from tests.test_models_wrap import MODALITIES, keyed_inputs, list_inputs, mmdl_model, tmm_model

F64, F32 = torch.float64, torch.float32
WRAPPERS = {"pro": ProFusion, "iterative": IterativeFusion}
PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


pytestmark = pytest.mark.usefixtures("one_thread")


def label(arch: Arch, i: int) -> str:
    """How the error names modality ``i``: by key (``m<i>``) or by position."""
    return f"modality 'm{i}'" if arch.form == "dict" else f"modality {i}"


def with_modality(arch: Arch, inputs, i: int, x: Tensor):
    """``inputs`` (as :func:`make_inputs` gives them) with modality ``i`` replaced by ``x``."""
    if arch.form == "dict":
        return {**inputs, f"m{i}": x}
    xs = list(inputs)
    xs[i] = x
    return tuple(xs) if arch.form == "tuple" else xs


def raised(model, inputs) -> str:
    """The message of the ValueError ``model(inputs)`` raises (never a torch error)."""
    with torch.no_grad(), pytest.raises(ValueError) as err:
        model(inputs)
    message = str(err.value)
    assert "mat1" not in message and message.startswith("inputs: ")
    return message


# --- shape: the last dimension, at least two dimensions --------------------------------


@pytest.mark.parametrize("wrapper", sorted(WRAPPERS))
@PROPERTY
@given(arch=architectures(), data=st.data())
def test_a_wrong_width_names_the_modality_and_both_shapes(wrapper, arch, data):
    model, _ = build_wrapped(arch, wrapper, steps=2, backproj_dim=None, dtype=F64, zero=False)
    i = data.draw(st.integers(0, arch.n - 1), label="modality")
    width = data.draw(st.integers(1, 7).filter(lambda w: w != arch.in_dims[i]), label="width")
    lead = data.draw(st.sampled_from([(arch.batch,), (3, arch.batch)]), label="leading dims")
    bad = torch.zeros(*lead, width, dtype=F64)
    message = raised(model, with_modality(arch, make_inputs(arch, F64), i, bad))
    assert label(arch, i) in message
    assert f"expected shape {(*lead, arch.in_dims[i])}, got {(*lead, width)}" in message


@pytest.mark.parametrize("wrapper", sorted(WRAPPERS))
@PROPERTY
@given(arch=architectures(), data=st.data())
def test_one_dimensional_inputs_are_refused(wrapper, arch, data):
    """Even of the right width (a torch Linear would read it as one unbatched sample)."""
    model, _ = build_wrapped(arch, wrapper, steps=2, backproj_dim=None, dtype=F64, zero=False)
    i = data.draw(st.integers(0, arch.n - 1), label="modality")
    bad = torch.zeros(arch.in_dims[i], dtype=F64)
    message = raised(model, with_modality(arch, make_inputs(arch, F64), i, bad))
    assert label(arch, i) in message and "at least 2-D" in message
    assert f"(batch, {arch.in_dims[i]}), got shape {(arch.in_dims[i],)}" in message
    scalar = torch.zeros((), dtype=F64)
    assert label(arch, i) in raised(model, with_modality(arch, make_inputs(arch, F64), i, scalar))


@pytest.mark.parametrize("wrapper", sorted(WRAPPERS))
@PROPERTY
@given(arch=architectures(), n_models=st.integers(1, 3))
def test_leading_model_dimension_is_accepted(wrapper, arch, n_models):
    """``(N, B, f_i)`` inputs (the fast path's) pass the check: each model slice of
    the output is the output on that slice."""
    model, _ = build_wrapped(arch, wrapper, steps=2, backproj_dim=None, dtype=F64, zero=False)
    g = torch.Generator().manual_seed(arch.seed)
    stacked = [torch.randn(n_models, arch.batch, d, generator=g, dtype=F64) for d in arch.in_dims]

    def as_form(xs):
        return {f"m{i}": x for i, x in enumerate(xs)} if arch.form == "dict" else list(xs)

    with torch.no_grad():
        out = model(as_form(stacked))
        assert out.shape == (n_models, arch.batch, arch.head[-1].width)
        for k in range(n_models):
            assert_close(out[k], model(as_form([x[k] for x in stacked])), dtype=F64)


# --- dtype: the encoder's first layer's -------------------------------------------------


@pytest.mark.parametrize("wrapper", sorted(WRAPPERS))
@PROPERTY
@given(arch=architectures(), data=st.data())
def test_a_wrong_dtype_names_the_modality_and_both_dtypes(wrapper, arch, data):
    assume(arch.encoder_form != "custom")  # no first Linear to read a dtype from
    model, _ = build_wrapped(arch, wrapper, steps=2, backproj_dim=None, dtype=F64, zero=False)
    i = data.draw(st.integers(0, arch.n - 1), label="modality")
    inputs = make_inputs(arch, F64)
    single = with_modality(
        arch, inputs, i, make_inputs(arch, F32)[f"m{i}" if arch.form == "dict" else i]
    )
    message = raised(model, single)
    assert label(arch, i) in message
    assert "must be torch.float64" in message and "got torch.float32" in message


@pytest.mark.parametrize("wrapper", sorted(WRAPPERS))
def test_the_dtype_is_the_first_layers_at_call_time(wrapper):
    """Converting the model after wrapping moves the expected dtype with it."""
    model = WRAPPERS[wrapper](tmm_model())
    x32, x64 = keyed_inputs(dtype=F32), keyed_inputs(dtype=F64)
    with torch.no_grad():
        assert model(x32).dtype == F32
        message = raised(model, x64)
        assert "modality 'audio' must be torch.float32" in message
        assert "got torch.float64 (shape (5, 3))" in message
        model.double()
        assert model(x64).dtype == F64
        assert "modality 'audio' must be torch.float64" in raised(model, x32)


# --- the number and names of the modalities ---------------------------------------------


@pytest.mark.parametrize("wrapper", sorted(WRAPPERS))
def test_the_number_or_names_of_the_modalities_is_checked(wrapper):
    positional = WRAPPERS[wrapper](mmdl_model()).double()
    keyed = WRAPPERS[wrapper](tmm_model()).double()
    xs, named = list_inputs(), keyed_inputs()
    assert "expected 3 modalities, got 2" in raised(positional, xs[:2])
    assert "expected 3 modalities, got 4" in raised(positional, [*xs, xs[0]])
    del named["video"]
    assert "expected modalities ['audio', 'text', 'video'], got ['audio', 'text']" in raised(
        keyed, named
    )


@pytest.mark.parametrize("wrapper", sorted(WRAPPERS))
def test_positional_modalities_are_named_by_index(wrapper):
    model = WRAPPERS[wrapper](mmdl_model()).double()
    xs = list_inputs()
    xs[2] = torch.zeros(5, 7, dtype=F64)
    message = raised(model, xs)
    assert f"modality 2 must have {MODALITIES['video']} features" in message
    assert "expected shape (5, 4), got (5, 7)" in message


# --- through the stacked trainer, both paths -------------------------------------------


def regression_data(widths: tuple[int, ...], seed: int) -> ModelData:
    def split(n: int, s: int) -> Split:
        g = torch.Generator().manual_seed(s)
        xs = [torch.randn(n, d, generator=g) for d in widths]
        return Split.of(xs, torch.randn(n, 1, generator=g))

    return ModelData(train=split(64, seed), val=None, test=split(32, seed + 1))


def pro_model() -> ProFusion:
    return ModelSpec("latent", "pro", 4, in_dims=(3, 5)).build()


@pytest.mark.parametrize("path", ["fast", "vmap"])
def test_the_trainer_names_a_task_whose_widths_do_not_fit(path):
    cfg = TrainConfig(objective="regression", name="fixed-steps", batch_size=16, max_steps=3)
    fits = train_stack(pro_model, [0, 1], [regression_data((3, 5), s) for s in (0, 1)], cfg)
    assert [r.status for r in fits] == ["ok", "ok"]
    wrong = [regression_data((3, 4), s) for s in (0, 1)]
    with pytest.raises(ValueError, match=r"modality 1 must have 5 features") as err:
        train_stack(pro_model, [0, 1], wrong, cfg, path=path)
    lead = (2, 16) if path == "fast" else (16,)  # the fast path passes the model dimension
    assert f"expected shape {(*lead, 5)}, got {(*lead, 4)}" in str(err.value)
