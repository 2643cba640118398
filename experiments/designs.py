"""Designs: factories ``(input_dims, output_dim, **params) -> nn.Module``.

A study trains every design it names on every (cell, trial). A design is

- one of the named ones in :data:`DESIGNS` (the paper's MLPs, SPEC section 4):
  ``late``, ``early``, ``pro``, ``iterative`` and ``late-wide``;
- any callable with that signature (a user's own fusion design), or a reference
  to one, ``"package.module:function"`` or ``"path/to/file.py:function"``.

A factory receives the study's design parameters that its signature names (all of
them if it takes ``**params``). The named designs take ``width`` (hidden width per
modality; h of Figures 7/8, d of Figure 4), ``depth`` (encoder layers: 2 for the
latent task's three-layer MLPs, 1 for the lattice task's two-layer ones),
``head_hidden`` (a hidden layer in the head; 0: none), and, for pro-fusion and its
relatives, ``R`` (unroll steps), ``p`` (back-projection width) and ``context``
(``"concat"`` or ``"add"``).

``late-wide``, ``late-wide-eff`` and ``late-wide-flops`` are the controls: late fusion
with its encoders widened to the smallest width whose parameter count, effective
parameter count or multiply-adds per sample (:mod:`progfusion.models.counting`) is at
least pro-fusion's with the same parameters (SPEC section 5). ``iterative-wide`` is
iterative fusion widened the same way to pro-fusion's parameter count.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from progfusion.models.counting import effective_parameter_count, flops_per_sample
from progfusion.models.mlp import mlp_model
from torch import nn

__all__ = [
    "DESIGNS",
    "DesignRef",
    "ModelRecipe",
    "bound_params",
    "design_label",
    "factory_of",
    "factory_params",
    "late_wide_width",
    "matched_width",
    "module_of_file",
    "parameter_count",
    "resolve_reference",
]

#: A design as a study names it: a registered name, a "module:function" reference or a callable.
DesignRef = str | Callable[..., nn.Module]


def late(input_dims, output_dim, *, width=8, depth=2, head_hidden=0) -> nn.Module:
    """Late fusion: per-modality MLP encoders, concatenation, an MLP head."""
    return mlp_model(
        "late", input_dims, output_dim, width=width, depth=depth, head_hidden=head_hidden
    )


def early(input_dims, output_dim, *, width=8, depth=2, head_hidden=0) -> nn.Module:
    """Early fusion: the inputs concatenated, then one MLP of width ``width * K``."""
    return mlp_model(
        "early", input_dims, output_dim, width=width, depth=depth, head_hidden=head_hidden
    )


def _unrolled(design, input_dims, output_dim, width, depth, head_hidden, R, p, context):
    return mlp_model(
        design, input_dims, output_dim, width=width, depth=depth, head_hidden=head_hidden,
        steps=R, context=context, backproj_dim=p,
    )  # fmt: skip


def pro(
    input_dims, output_dim, *, width=8, depth=2, head_hidden=0, R=2, p=16, context="concat"
) -> nn.Module:
    """Pro-fusion: the late model with the fused vector fed back through back-projections."""
    return _unrolled("pro", input_dims, output_dim, width, depth, head_hidden, R, p, context)


def iterative(
    input_dims, output_dim, *, width=8, depth=2, head_hidden=0, R=2, p=16, context="concat"
) -> nn.Module:
    """Iterative fusion (the paper's ablation): each encoder's own output fed back to it."""
    return _unrolled("iterative", input_dims, output_dim, width, depth, head_hidden, R, p, context)


def _late_matched(match: str, doc: str) -> Callable[..., nn.Module]:
    """A late fusion widened until its ``match`` cost is at least pro-fusion's."""

    def factory(
        input_dims, output_dim, *, width=8, depth=2, head_hidden=0, R=2, p=16, context="concat"
    ) -> nn.Module:
        wide = late_wide_width(
            tuple(input_dims), output_dim, width=width, match=match, depth=depth,
            head_hidden=head_hidden, R=R, p=p, context=context,
        )  # fmt: skip
        return late(input_dims, output_dim, width=wide, depth=depth, head_hidden=head_hidden)

    factory.__doc__ = doc
    return factory


late_wide = _late_matched("params", "Late fusion widened to at least pro-fusion's parameters.")
late_wide.__name__ = late_wide.__qualname__ = "late_wide"
late_wide_eff = _late_matched(
    "effective", "Late fusion widened to at least pro-fusion's effective parameters."
)
late_wide_eff.__name__ = late_wide_eff.__qualname__ = "late_wide_eff"
late_wide_flops = _late_matched(
    "flops", "Late fusion widened to at least pro-fusion's multiply-adds per sample."
)
late_wide_flops.__name__ = late_wide_flops.__qualname__ = "late_wide_flops"


def iterative_wide(
    input_dims, output_dim, *, width=8, depth=2, head_hidden=0, R=2, p=16, context="concat"
) -> nn.Module:
    """Iterative fusion widened to at least pro-fusion's parameters."""
    params = {"depth": depth, "head_hidden": head_hidden, "R": R, "p": p, "context": context}
    wide = matched_width(iterative, tuple(input_dims), output_dim, width=width, **params)
    return iterative(input_dims, output_dim, width=wide, **params)


#: The named designs.
DESIGNS: dict[str, Callable[..., nn.Module]] = {
    "late": late,
    "early": early,
    "pro": pro,
    "iterative": iterative,
    "iterative-wide": iterative_wide,
    "late-wide": late_wide,
    "late-wide-eff": late_wide_eff,
    "late-wide-flops": late_wide_flops,
}


def parameter_count(factory: Callable[..., nn.Module], input_dims, output_dim, **params) -> int:
    """Parameters of ``factory(input_dims, output_dim, **params)`` (global RNG untouched)."""
    return _count(factory, tuple(input_dims), output_dim, tuple(sorted(params.items())))


@functools.lru_cache(maxsize=1024)
def _count(factory, input_dims, output_dim, params) -> int:
    with torch.random.fork_rng(devices=[]):
        model = factory(input_dims, output_dim, **dict(params))
    return sum(t.numel() for t in model.parameters())


#: What a widened late fusion matches of pro-fusion's costs (:mod:`progfusion.models.counting`).
MATCHES = ("params", "effective", "flops")


@functools.lru_cache(maxsize=1024)
def _cost(factory, match: str, input_dims, output_dim, params) -> int:
    if match == "params":
        return _count(factory, input_dims, output_dim, params)
    with torch.random.fork_rng(devices=[]):
        model = factory(input_dims, output_dim, **dict(params))
    if match == "effective":
        return effective_parameter_count(model)
    return flops_per_sample(model, input_dims)


@functools.lru_cache(maxsize=256)
def late_wide_width(
    input_dims: tuple[int, ...], output_dim: int, *, width, match: str = "params", **pro_params
) -> int:
    """The smallest encoder width >= ``width`` giving late fusion at least pro's ``match``
    cost: its parameters (``params``), its effective parameters (``effective``) or its
    multiply-adds per sample (``flops``)."""
    return matched_width(late, input_dims, output_dim, width=width, match=match, **pro_params)


def matched_width(
    base: Callable[..., nn.Module],
    input_dims: tuple[int, ...],
    output_dim: int,
    *,
    width,
    match: str = "params",
    **pro_params,
) -> int:
    """The smallest encoder width >= ``width`` giving the design ``base`` (built with the
    pro parameters its signature names) at least pro-fusion's ``match`` cost."""
    if match not in MATCHES:
        raise ValueError(f"match must be one of {', '.join(MATCHES)}, got {match!r}")
    names = inspect.signature(base).parameters
    shared = tuple((k, v) for k, v in pro_params.items() if k in names)
    target = _cost(
        pro, match, input_dims, output_dim, (("width", width), *sorted(pro_params.items()))
    )
    wide = width
    while (
        _cost(base, match, input_dims, output_dim, tuple(sorted((*shared, ("width", wide)))))
        < target
    ):
        wide += 1
    return wide


def module_of_file(path: str | Path) -> tuple[Path, str]:
    """The folder to import ``path`` (a ``.py`` file) from, and its module name there.

    A file in a package (its folder holds an ``__init__.py``) is imported as the
    package's submodule from the package's parent folder (``root/pkg/designs.py``:
    ``root``, ``"pkg.designs"``), so its relative imports work; any other file as a
    top-level module from its own folder.
    """
    path = Path(path).resolve()
    root, parts = path.parent, [path.stem]
    while (root / "__init__.py").is_file() and root.parent != root:
        parts.insert(0, root.name)
        root = root.parent
    return root, ".".join(parts)


def resolve_reference(reference: str) -> Any:
    """The object named by ``"package.module:name"`` or ``"path/to/file.py:name"``.

    A file is imported by :func:`module_of_file`'s name with its folder put on
    ``sys.path`` (local worker processes inherit it), so it is the module a script
    importing that file itself would get; another module of that name imported from
    elsewhere is refused rather than silently used.
    """
    module_name, sep, attr = reference.rpartition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"expected 'package.module:name' or 'file.py:name', got {reference!r}")
    path = None
    try:
        if module_name.endswith(".py"):
            path = Path(module_name).resolve()
            if not path.is_file():
                raise FileNotFoundError(f"no such file: {path}")
            root, module_name = module_of_file(path)
            if str(root) not in sys.path:
                sys.path.insert(0, str(root))
        module = importlib.import_module(module_name)
        obj = getattr(module, attr)
    except (ImportError, AttributeError, FileNotFoundError, SyntaxError) as exc:
        raise ValueError(f"cannot import {reference!r} ({type(exc).__name__}: {exc})") from None
    found = getattr(module, "__file__", None)
    if path is not None and (found is None or Path(found).resolve() != path):
        raise ValueError(
            f"cannot import {reference!r}: a module {module_name!r} from {found} is already "
            f"imported; rename {path.name}"
        )
    return obj


def factory_of(design: DesignRef) -> Callable[..., nn.Module]:
    """The factory of a design name, reference or callable."""
    if callable(design):
        return design
    if design in DESIGNS:
        return DESIGNS[design]
    if ":" in design:
        factory = resolve_reference(design)
        if not callable(factory):
            raise ValueError(f"design {design!r} is not callable")
        return factory
    raise ValueError(
        f"unknown design {design!r}: expected one of {', '.join(DESIGNS)}, "
        "a 'package.module:function' or 'file.py:function' reference, or a callable"
    )


def design_label(design: DesignRef) -> str:
    """The ``design`` column of a design: its name, or its factory's name."""
    if isinstance(design, str):
        return design if design in DESIGNS else design.rpartition(":")[2]
    while isinstance(design, functools.partial):  # partial(film, width=16): "film"
        design = design.func
    return getattr(design, "__name__", type(design).__name__)


def factory_params(
    factory: Callable[..., nn.Module], params: Mapping[str, Any], label: str
) -> dict[str, Any]:
    """The entries of ``params`` that ``factory`` takes; a ValueError if it needs one more."""
    signature = inspect.signature(factory)
    named = list(signature.parameters.values())[2:]  # after (input_dims, output_dim)
    if any(p.kind is p.VAR_KEYWORD for p in named):
        return dict(params)
    taken = {p.name: params[p.name] for p in named if p.name in params}
    for p in named:
        if p.default is p.empty and p.name not in params and p.kind is not p.VAR_POSITIONAL:
            raise ValueError(
                f"designs: {label!r} needs parameter {p.name!r} (set it in params or grid)"
            )
    return taken


def bound_params(factory: Callable[..., nn.Module]) -> dict[str, Any]:
    """The design parameters a factory fixes itself, which a study must not override.

    A ``functools.partial``'s keywords (nested partials: the outermost wins, as in
    the call), or the fields of a factory that is a dataclass instance (a class
    holding its own settings, called as ``factory(input_dims, output_dim, **params)``).
    """
    if isinstance(factory, functools.partial):
        return {**bound_params(factory.func), **factory.keywords}
    if dataclasses.is_dataclass(factory) and not isinstance(factory, type):
        return {f.name: getattr(factory, f.name) for f in dataclasses.fields(factory)}
    return {}


def accepts(factory: Callable[..., nn.Module], name: str) -> bool:
    """Whether ``factory`` takes the design parameter ``name``."""
    parameters = list(inspect.signature(factory).parameters.values())[2:]
    return any(p.kind is p.VAR_KEYWORD or p.name == name for p in parameters)


@dataclass(frozen=True)
class ModelRecipe:
    """A picklable, hashable recipe for one architecture: ``build()`` makes a fresh model.

    ``params``: the factory's keyword arguments as sorted ``(name, value)`` pairs.
    Models of equal recipes are trained in one stack.
    """

    design: DesignRef
    input_dims: tuple[int, ...]
    output_dim: int
    params: tuple[tuple[str, Any], ...]

    @classmethod
    def of(
        cls, design: DesignRef, input_dims: Sequence[int], output_dim: int, params
    ) -> ModelRecipe:
        return cls(design, tuple(input_dims), int(output_dim), tuple(sorted(params.items())))

    def build(self) -> nn.Module:
        return factory_of(self.design)(self.input_dims, self.output_dim, **dict(self.params))

    def parameter_count(self) -> int:
        return parameter_count(
            factory_of(self.design), self.input_dims, self.output_dim, **dict(self.params)
        )

    def costs(self) -> dict[str, int]:
        """``n_params_effective`` and ``flops_per_sample`` of its model
        (:mod:`progfusion.models.counting`), computed once per recipe."""
        return dict(_costs(self))


@functools.lru_cache(maxsize=1024)
def _costs(recipe: ModelRecipe) -> tuple[tuple[str, int], ...]:
    with torch.random.fork_rng(devices=[]):
        model = recipe.build()
    return (
        ("n_params_effective", effective_parameter_count(model)),
        ("flops_per_sample", flops_per_sample(model, recipe.input_dims)),
    )
