"""Studies as TOML files, and back.

A study file, field by field (all but ``name`` and ``task`` may be left out)::

    name = "width-and-R"            # names the table; enters every seed
    designs = ["late", "pro", "my_designs.py:gated"]
    trials = 5
    seed = 0
    noise_levels = [0.0, 0.5, 1.0]  # test-time corruption (optional)

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

A ``file.py:function`` reference is read relative to the study file's folder.
Every error is a ``ValueError`` naming the field and what it allows.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w

from .designs import DESIGNS, resolve_reference
from .study import Protocol, Study
from .tasks import TASKS

__all__ = ["load_study", "save_study", "study_from_dict", "study_to_dict", "study_to_toml"]

_FIELDS = ("name", "task", "designs", "params", "grid", "protocol", "trials", "seed")
_FIELDS += ("noise_levels", "labels")


def _reference(obj: Any, what: str, strict: bool = True) -> str:
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", "")
    if strict and (not module or module == "__main__" or "<" in qualname):
        raise ValueError(
            f"cannot write {what} {obj!r} to a study file: define it at module level in an "
            "importable module (or a file), and name it as 'module:name'"
        )
    return f"{module}:{qualname}"


def study_to_dict(study: Study, *, strict: bool = True) -> dict[str, Any]:
    """The study as plain data (what its TOML file holds).

    ``strict=False``: name a factory or task class that no other process could
    import (a lambda, a function of ``__main__``) all the same, as for a fingerprint.
    """
    task_cls = type(study.task)
    builtin = {cls: name for name, cls in TASKS.items()}
    task_name = builtin.get(task_cls) or _reference(task_cls, "task class", strict)
    task = {"name": task_name}
    task.update({f.name: getattr(study.task, f.name) for f in dataclasses.fields(study.task)})
    designs = [d if isinstance(d, str) else _reference(d, "design", strict) for d in study.designs]
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
    }


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def study_to_toml(study: Study) -> str:
    """The study's TOML text; :func:`study_from_dict` of its parse gives the study back."""
    try:
        return tomli_w.dumps(study_to_dict(study))
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
    for key in ("params", "grid", "labels"):
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
    """Write ``study`` as TOML to ``path``."""
    path = Path(path)
    path.write_text(study_to_toml(study), encoding="utf-8")
    return path
