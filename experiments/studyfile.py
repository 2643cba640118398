"""Studies as TOML files, and back.

A study file, field by field (all but ``name`` and ``task`` may be left out)::

    name = "width-and-R"            # names the table; enters every seed
    designs = ["late", "pro", "my_designs.py:gated"]
    trials = 5
    seed = 0
    noise_levels = [0.0, 0.5, 1.0]  # test-time corruption (optional)
    metrics = ["mae", "r2"]         # extra test metrics (optional; see .scores)
    per_modality = true             # each modality noisy alone, and missing (optional)

    [task]                          # "latent", "lattice" or "module:Class" / "file.py:Class"
    name = "latent"
    n_train = 2048
    eta = 2.0

    [params]                        # fixed design parameters
    width = 8

    [grid]                          # crossed in this order
    n_train = [1024, 4096]
    R = [1, 2, 3]
    panel = { a = { head_hidden = 0 }, b = { head_hidden = 64 } }   # named settings

    [protocol]
    name = "early-stopping"         # or "fixed-steps"
    max_steps = 3200
    record_steps = [100, 200]

    [labels]                        # constant columns (optional)
    figure = "7"

    [design_params.pro]             # one design's own parameters (optional)
    R = 3
    lr = 3e-3                       # training parameters too (any protocol field)

A ``file.py:function`` reference is read relative to the study file's folder (a
file in a package folder, one with an ``__init__.py``, is imported as the package's
module). A study written here names a user's design or task class, one defined in
a file that is not an installed package, by that file, so that the saved study
reruns, and ``progfusion plot`` redraws its table, from any working directory: by
a path relative to the study file's folder when the user's file lies within that
folder's parent (``../xor3.py:XOR3Task`` for ``project/xor3.py`` and
``project/results/study.toml``: the project moves as a whole), otherwise by its
absolute path (valid while the file stays put). What no file can name (a lambda,
a function defined in the script being run, a ``functools.partial``) is refused
with a ``ValueError``.

Every error is a ``ValueError`` naming the field and what it allows.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w

from .designs import DESIGNS, module_of_file, resolve_reference
from .portable import user_file
from .study import Protocol, Study
from .tasks import TASKS

__all__ = ["load_study", "save_study", "study_from_dict", "study_to_dict", "study_to_toml"]

_FIELDS = ("name", "task", "designs", "params", "grid", "protocol", "trials", "seed")
_FIELDS += ("noise_levels", "labels", "design_params", "metrics", "per_modality")
_MAINS = ("__main__", "__mp_main__")


def _reference(obj: Any, what: str, strict: bool = True, base: Path | None = None) -> str:
    """How a study file names a user's design or task class (see :func:`study_to_dict`)."""
    if isinstance(obj, functools.partial):
        if strict:
            raise ValueError(
                f"cannot write {what} {obj!r} to a study file: name its function and give "
                "its keywords in design_params"
            )
        bound = [repr(a) for a in obj.args] + [f"{k}={v!r}" for k, v in obj.keywords.items()]
        return f"partial({_reference(obj.func, what, strict)}, {', '.join(bound)})"
    named = obj if isinstance(obj, type) or inspect.isroutine(obj) else type(obj)
    module, qualname = getattr(named, "__module__", None), getattr(named, "__qualname__", "")
    if strict and named is not obj:
        raise ValueError(
            f"cannot write {what} {obj!r} to a study file: name a function or class instead "
            "and give its settings in params or design_params"
        )
    if strict and (not module or module in _MAINS or "<" in qualname):
        raise ValueError(
            f"cannot write {what} {obj!r} to a study file: define it at module level in a "
            "file or an importable module, and name it as 'file.py:name' or 'module:name'"
        )
    state = ""
    if named is not obj and dataclasses.is_dataclass(obj):  # a factory holding its settings
        fields = dataclasses.fields(obj)
        state = f"({', '.join(f'{f.name}={getattr(obj, f.name)!r}' for f in fields)})"
    return f"{_module_text(module, strict, base)}:{qualname}{state}"


def _module_text(module: str | None, strict: bool, base: Path | None) -> str:
    """A module as a study file names it: a user's module by its file, when ``strict``."""
    file = user_file(module) if strict and module else None
    return _file_text(file, base) if file is not None else str(module)


def _file_text(file: Path, base: Path | None) -> str:
    """``file`` relative to ``base`` when it lies within ``base``'s parent, else absolute."""
    if base is not None:
        try:
            relative = Path(os.path.relpath(file, Path(base).resolve()))
        except ValueError:  # another drive
            relative = None
        if relative is not None and os.pardir not in relative.parts[1:]:
            return relative.as_posix()
    return Path(file).as_posix()


def _design_text(design: Any, strict: bool, base: Path | None) -> str:
    """A design as its study file names it (see :func:`study_to_dict`)."""
    if not isinstance(design, str):
        return _reference(design, "design", strict, base)
    module, _, attr = design.rpartition(":")
    if design in DESIGNS or not module:
        return design
    if module.endswith(".py"):  # a file: its path (strict), or its module name
        if strict:
            return f"{_file_text(Path(module).resolve(), base)}:{attr}"
        return f"{module_of_file(module)[1]}:{attr}"
    return f"{_module_text(module, strict, base)}:{attr}"


def study_to_dict(
    study: Study, *, strict: bool = True, base: str | Path | None = None
) -> dict[str, Any]:
    """The study as plain data (what its TOML file holds).

    A user's design or task class is named by its file when that file is not an
    installed package (``"/work/xor3.py:XOR3Task"``), so that the study file loads
    from any working directory; by its module otherwise (``"mypackage.designs:gated"``).
    ``base``: the folder the file will be saved in. A user's file that lies within
    ``base``'s parent (in the results folder, or beside it: ``../xor3.py``) is then
    named relative to ``base``, so that a project moved as a whole keeps working;
    any other by its absolute path, which holds as long as the file stays put.

    ``strict=False``: the study's fingerprint instead, which names what no file could
    (a lambda, a function of ``__main__``, a ``functools.partial`` with its keywords)
    and every user's code by its module name, not its file: moving a project, or
    rerunning its saved study file, leaves the fingerprint as it was.
    """
    base = Path(base) if base is not None else None
    task_cls = type(study.task)
    builtin = {cls: name for name, cls in TASKS.items()}
    task_name = builtin.get(task_cls) or _reference(task_cls, "task class", strict, base)
    task = {"name": task_name}
    task.update({f.name: getattr(study.task, f.name) for f in dataclasses.fields(study.task)})
    designs = [_design_text(d, strict, base) for d in study.designs]
    return {
        "name": study.name,
        "trials": study.trials,
        "seed": study.seed,
        "designs": designs,
        "noise_levels": list(study.noise_levels),
        "task": task,
        "params": dict(study.params),
        "grid": {k: _plain(v) for k, v in study.grid.items()},
        "protocol": _plain(dataclasses.asdict(study.protocol)),
        "labels": dict(study.labels),
        # only when set: the dict is also the store's fingerprint, which must not change
        # for the studies written before design_params existed
        **({"design_params": _plain(study.design_params)} if study.design_params else {}),
        **({"metrics": [_metric(m, strict, base) for m in study.metrics]} if study.metrics else {}),
        **({"per_modality": True} if study.per_modality else {}),
    }


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def study_to_toml(study: Study, *, base: str | Path | None = None) -> str:
    """The study's TOML text; :func:`study_from_dict` of its parse gives the study back.

    ``base``: the folder the text will be saved in (user files named relative to it
    where :func:`study_to_dict` says; None: by their absolute paths).
    """
    try:
        return tomli_w.dumps(study_to_dict(study, base=base))
    except TypeError as exc:  # None or another value TOML cannot hold
        raise ValueError(f"cannot write the study to TOML: {exc}") from None


def _task(spec: Any, base: Path | None):
    if not isinstance(spec, Mapping) or "name" not in spec:
        raise ValueError(
            "task: missing; expected a [task] table with name = 'latent', 'lattice' "
            "or 'module:Class'"
        )
    params = {k: v for k, v in spec.items() if k != "name"}
    name = spec["name"]
    cls = TASKS.get(name) if isinstance(name, str) else None
    if cls is None:
        if not isinstance(name, str) or ":" not in name:
            raise ValueError(
                f"task.name must be one of {', '.join(TASKS)} or a 'module:Class' reference, "
                f"got {name!r}"
            )
        cls = resolve_reference(_local(name, base))
    allowed = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValueError(
            f"task: unknown parameter {unknown[0]!r} for {name} "
            f"(allowed: {', '.join(sorted(allowed))})"
        )
    try:
        return cls(**params)
    except TypeError as exc:
        raise ValueError(f"task: {exc}") from None


def _local(reference: str, base: Path | None) -> str:
    """``file.py:name`` made absolute against the study file's folder."""
    module, _, attr = reference.rpartition(":")
    if base is not None and module.endswith(".py") and not Path(module).is_absolute():
        return f"{(base / module).resolve()}:{attr}"
    return reference


def _protocol(spec: Any) -> Protocol:
    if not isinstance(spec, Mapping):
        raise ValueError(f"protocol must be a table, got {spec!r}")
    allowed = {f.name for f in dataclasses.fields(Protocol)}
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise ValueError(
            f"protocol: unknown field {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})"
        )
    return Protocol(**spec)


def study_from_dict(spec: Mapping[str, Any], *, base: Path | None = None) -> Study:
    """A :class:`Study` from plain data; ``base``: the folder file references are relative to."""
    unknown = sorted(set(spec) - set(_FIELDS))
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r} (allowed: {', '.join(_FIELDS)})")
    if "name" not in spec:
        raise ValueError("name: missing; every study needs a name (it names its table)")
    designs = spec.get("designs", ["late", "pro"])
    if isinstance(designs, str) or not isinstance(designs, list):
        raise ValueError(f"designs must be a list of design names, got {designs!r}")
    for design in designs:
        if not isinstance(design, str):
            raise ValueError(
                f"designs: expected names or 'module:function' strings, got {design!r}"
            )
        if design not in DESIGNS and ":" not in design:
            raise ValueError(
                f"designs: unknown design {design!r} (allowed: {', '.join(DESIGNS)}, "
                "or a 'module:function' / 'file.py:function' reference)"
            )
    for key in ("params", "grid", "labels", "design_params"):
        if not isinstance(spec.get(key, {}), Mapping):
            raise ValueError(f"{key} must be a table, got {spec[key]!r}")
    return Study(
        name=spec["name"],
        task=_task(spec.get("task"), base),
        designs=tuple(_local(d, base) for d in designs),
        params=spec.get("params", {}),
        grid=spec.get("grid", {}),
        protocol=_protocol(spec.get("protocol", {})),
        trials=spec.get("trials", 10),
        seed=spec.get("seed", 0),
        noise_levels=tuple(spec.get("noise_levels", ())),
        labels=spec.get("labels", {}),
        design_params=spec.get("design_params", {}),
        metrics=tuple(_local(m, base) if isinstance(m, str) else m for m in _list(spec, "metrics")),
        per_modality=spec.get("per_modality", False),
    )


def load_study(path: str | Path) -> Study:
    """Read a study file (see the module docstring); a ValueError names what is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read study file {path}: {exc.strerror or exc}") from None
    try:
        spec = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None
    return study_from_dict(spec, base=path.resolve().parent)


def save_study(study: Study, path: str | Path) -> Path:
    """Write ``study`` as TOML to ``path`` (user files named as :func:`study_to_dict` says)."""
    path = Path(path)
    path.write_text(study_to_toml(study, base=path.resolve().parent), encoding="utf-8")
    return path


def _metric(metric: Any, strict: bool, base: Path | None) -> str:
    """How a study file names an extra metric: its name, or its function's reference."""
    return metric if isinstance(metric, str) else _reference(metric, "metric", strict, base)


def _list(spec: Mapping[str, Any], key: str) -> list[str]:
    """``spec[key]`` as a list of strings (empty when absent), or a ValueError naming it."""
    values = spec.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError(
            f"{key} must be a list of names or 'module:function' strings, got {values!r}"
        )
    return values
