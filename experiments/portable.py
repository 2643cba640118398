"""User code on workers: a study's designs and task travel to worker processes, or are
refused before anything trains.

Shards are pickled to reach a local pool's workers (started by ``spawn``: each one
a fresh interpreter) or a Dask cluster's. What the package and installed libraries
define travels *by reference* (module and name; the worker imports it). A user's
own code travels *by value* (its code itself, with :mod:`cloudpickle`): a design or
task class defined in ``__main__`` (the script being run, or a notebook), in a file
that is not an installed package (``my_designs.py`` beside the script, a study
file's ``file.py:name``), a lambda or a function defined inside another. Such code
needs nothing importable on the worker: the same study runs on a local pool, and on
a Dask cluster whose workers never saw the user's files.

:func:`make_portable`, called by ``run_study`` before anything is written, decides
this for each design and the task, and refuses in one line what no worker could
receive (a factory closing over a lock, an open file) and a script that would start
a pool while being imported by that pool's workers (the missing
``if __name__ == "__main__":`` guard). How: every recipe of such a design or task
(:class:`~.designs.ModelRecipe`, :class:`~.jobs.DataRecipe`) is reduced by a
``copyreg`` entry of this module to the cloudpickle bytes of its factory or task
(made once, and written once per shard), from which the worker rebuilds the recipe
(with this module's functions: cloudpickle is needed where the workers run, as it
is with Dask). Recipes of other designs pickle as before, so the tables of the
package's own designs are unchanged.
"""

from __future__ import annotations

import ast
import copyreg
import functools
import io
import multiprocessing
import os
import pickle
import site
import sys
import sysconfig
import threading
import types
from pathlib import Path
from typing import Any

import cloudpickle

from .designs import DESIGNS, ModelRecipe, design_label, factory_of
from .jobs import DataRecipe
from .study import Study
from .tasks import TASKS

__all__ = ["GUARD_HINT", "make_portable", "needs_value", "travels_by_value", "user_file"]

#: What an unguarded script is told to do.
GUARD_HINT = 'put the call under `if __name__ == "__main__":`, or use workers=1'

_MAINS = ("__main__", "__mp_main__")
#: Design references and task classes whose recipes travel by value.
_BY_VALUE: set[Any] = set()
#: By-value bytes of the designs and tasks sent so far, and the objects received so
#: far by their bytes (each cleared past :data:`_MAX_PAYLOADS` entries).
_PAYLOADS: dict[Any, bytes] = {}
_RESTORED: dict[bytes, Any] = {}
_MAX_PAYLOADS = 4096
_LOCK = threading.RLock()
_STATE = threading.local()  # .packing: this thread is writing a by-value payload


def make_portable(
    study: Study, *, workers: int = 1, scheduler: str | None = None, executors: Any = None
) -> None:
    """Make ``study``'s designs and task travel to the workers that will train it.

    Parameters
    ----------
    study
        The study about to train.
    workers, scheduler, executors
        As ``run_study`` gets them: shards stay in this process for ``workers == 1``
        without a scheduler, or an ``executors`` whose ``where`` is ``"here"``.

    Raises
    ------
    RuntimeError
        A local pool asked for from code every worker would run again as it starts
        (a script's top level, outside ``if __name__ == "__main__":``).
    ValueError
        A design or the task that cannot be pickled even by value, naming it.
    """
    where = _where(workers, scheduler, executors)
    if where == "here":
        return
    if where == "pool":
        check_main_guard(workers)
    for ref in study.designs:
        if not (isinstance(ref, str) and ref in DESIGNS):
            _enlist(ref, factory_of(ref), f"design {design_label(ref)!r}", where)
    task_cls = type(study.task)
    if task_cls not in TASKS.values():
        _enlist(task_cls, study.task, f"task {task_cls.__name__}", where)


def _where(workers: int, scheduler: str | None, executors: Any) -> str:
    """``"here"``, ``"pool"`` (local worker processes) or ``"dask"``."""
    if executors is not None:
        return getattr(executors, "where", "pool")
    if scheduler is not None:
        return "dask"
    return "here" if workers == 1 else "pool"


def _enlist(key: Any, obj: Any, what: str, where: str) -> None:
    """Send ``obj`` (``key``'s factory, or the task) by value if it needs to; refuse it
    if it can travel neither way.

    User code that cloudpickle cannot carry but plain pickling names (a module-level
    function whose module holds a lock, say) still travels by reference: a local
    pool's workers import it as this process did, and ``__main__`` too when they run
    the main script again.
    """
    modules = _referenced_modules(obj)  # None: plain pickling fails
    if modules is not None and not any(_is_user(name) for name in modules):
        return
    try:
        _dumps_by_value(obj)
    except Exception as exc:  # noqa: BLE001 - whatever pickling raised, in one line
        main = sys.modules.get("__main__")
        if modules is not None and (
            "__main__" not in modules or (where == "pool" and main and _reimported(main))
        ):
            return
        text = " ".join(str(exc).split())[:200]
        raise ValueError(
            f"{what} cannot be sent to worker processes ({type(exc).__name__}: {text}): "
            "define it without unpicklable state (locks, open files, generators) "
            "or run with workers=1"
        ) from None
    with _LOCK:
        _BY_VALUE.add(key)


def travels_by_value(key: Any) -> bool:
    """Whether recipes of ``key`` (a design reference, or a task class) travel by value."""
    try:
        return key in _BY_VALUE
    except TypeError:  # unhashable
        return False


# ---------------------------------------------------------------- what is user code


def needs_value(obj: Any) -> bool:
    """Whether ``obj`` must travel by value: plain pickling fails (a lambda, a local
    function, a lock), or names ``__main__`` or a user's module (:func:`user_file`)."""
    modules = _referenced_modules(obj)
    return modules is None or any(_is_user(name) for name in modules)


def _is_user(module_name: str) -> bool:
    return module_name in _MAINS or user_file(module_name) is not None


def _referenced_modules(obj: Any) -> set[str] | None:
    """The modules of the classes and functions plain pickling names to write ``obj``;
    None when it cannot."""
    recorder = _Recorder(io.BytesIO())
    try:
        recorder.dump(obj)
    except Exception:  # noqa: BLE001 - any failure: by reference is impossible
        return None
    return recorder.modules


class _Recorder(pickle.Pickler):
    """A pickler noting the module of every class and function it writes by reference."""

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.modules: set[str] = set()

    def persistent_id(self, obj: Any) -> None:
        if isinstance(obj, type | types.FunctionType | types.BuiltinFunctionType):
            self.modules.add(getattr(obj, "__module__", None) or "__main__")
        return None


def user_file(module_name: str) -> Path | None:
    """The file of a user's module: imported, from a file outside the standard library,
    installed packages and this package (None for any other module, ``__main__`` too)."""
    if module_name in _MAINS or module_name.partition(".")[0] == "progfusion":
        return None
    file = getattr(sys.modules.get(module_name), "__file__", None)
    return _user_path(file) if isinstance(file, str) and file else None


@functools.lru_cache(maxsize=8192)
def _user_path(file: str) -> Path | None:
    """``file`` resolved, or None when it lies in the standard library or site-packages."""
    path = Path(file).resolve()
    return None if any(path.is_relative_to(root) for root in _installed_roots()) else path


@functools.cache
def _installed_roots() -> tuple[Path, ...]:
    """The standard library's folders and every site-packages folder."""
    keys = ("stdlib", "platstdlib", "purelib", "platlib")
    base = {"base": sys.base_prefix, "platbase": sys.base_exec_prefix}
    roots = {p for paths in (sysconfig.get_paths(), sysconfig.get_paths(vars=base))
             for k, p in paths.items() if k in keys}  # fmt: skip
    roots.update(getattr(site, "getsitepackages", list)())
    if site.ENABLE_USER_SITE and site.getusersitepackages():
        roots.add(site.getusersitepackages())
    return tuple(Path(r).resolve() for r in roots)


# ---------------------------------------------------------------- by value


def _dumps_by_value(obj: Any) -> bytes:
    """``obj`` as cloudpickle bytes, every user module's code included (not imported)."""
    with _LOCK:
        registered = cloudpickle.list_registry_pickle_by_value()
        added = [
            module
            for name, module in list(sys.modules.items())
            if getattr(module, "__name__", None) == name
            and name not in registered
            and user_file(name) is not None
        ]
        for module in added:
            cloudpickle.register_pickle_by_value(module)
        _STATE.packing = True
        try:
            return cloudpickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        finally:
            _STATE.packing = False
            for module in added:
                cloudpickle.unregister_pickle_by_value(module)


def _value(key: Any, obj: Any) -> bytes:
    """``obj``'s by-value bytes, made once per ``key`` (the same bytes object each time,
    so a shard's pickle holds them once however many of its jobs share them)."""
    with _LOCK:
        payload = _PAYLOADS.get(key)
        if payload is None:
            if len(_PAYLOADS) >= _MAX_PAYLOADS:
                _PAYLOADS.clear()
            payload = _PAYLOADS[key] = _dumps_by_value(obj)
        return payload


def _restored(payload: bytes, travels: Any = None) -> Any:
    """The object of ``payload``, one per payload in this process, sent on by value if this
    process pickles it again (a Dask scheduler in the client's process does)."""
    with _LOCK:
        obj = _RESTORED.get(payload)
        if obj is None:
            if len(_RESTORED) >= _MAX_PAYLOADS:
                _RESTORED.clear()
            obj = _RESTORED[payload] = pickle.loads(payload)
            _PAYLOADS[obj] = payload
            _BY_VALUE.add(obj if travels is None else travels(obj))
        return obj


def _restore_model(payload: bytes, input_dims, output_dim, params) -> ModelRecipe:
    return ModelRecipe(_restored(payload), input_dims, output_dim, params)


def _restore_data(payload: bytes, seed: int, corrupt: bool) -> DataRecipe:
    return DataRecipe(_restored(payload, type), seed, corrupt)


def _reduce_model(recipe: ModelRecipe) -> tuple:
    design = recipe.design
    if getattr(_STATE, "packing", False) or not travels_by_value(design):
        return recipe.__reduce_ex__(2)  # as without this entry
    payload = _value(design, factory_of(design))  # a "file.py:name" reference: its factory
    return _restore_model, (payload, recipe.input_dims, recipe.output_dim, recipe.params)


def _reduce_data(recipe: DataRecipe) -> tuple:
    task = recipe.task
    if getattr(_STATE, "packing", False) or not travels_by_value(type(task)):
        return recipe.__reduce_ex__(2)
    return _restore_data, (_value(task, task), recipe.seed, recipe.corrupt)


copyreg.pickle(ModelRecipe, _reduce_model)
copyreg.pickle(DataRecipe, _reduce_data)


# ---------------------------------------------------------------- the __main__ guard


def check_main_guard(workers: int | None = None) -> None:
    """Refuse a local pool started from code its workers would run again.

    A ``spawn`` worker imports the main script (as ``__mp_main__``) before its first
    shard; a pool asked for at the script's top level, outside
    ``if __name__ == "__main__":``, would then be asked for again by every worker,
    which fails (``BrokenProcessPool``). Checked on this process before any worker
    starts, from the call's line in the script; in a worker being started, refused
    at once.

    Raises
    ------
    RuntimeError
        One line: where the call is and what to do.
    """
    asked = f"run_study with workers={workers}" if workers else "run_study on a local pool"
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise RuntimeError(
            f"{asked} was called while a worker process was importing the main script: {GUARD_HINT}"
        )
    main = sys.modules.get("__main__")
    script = getattr(main, "__file__", None)
    if main is not None and script and _reimported(main):
        where = os.path.join(multiprocessing.process.ORIGINAL_DIR or "", script)
        if not os.path.isfile(where):
            raise RuntimeError(
                f"{asked}: every worker process starts by running the main script again, "
                f"and {script} is not a file (a script read from stdin?): run it from a "
                "file, or use workers=1"
            )
    found = unguarded_call()
    if found is not None:
        path, line = found
        raise RuntimeError(
            f"{asked} is called at the top level of {path} (line {line}), which every "
            f"worker process runs again as it starts: {GUARD_HINT}"
        )


def unguarded_call() -> tuple[str, int] | None:
    """``(script, line)`` when this call comes from the main script's top-level code
    outside an ``if __name__ == "__main__":`` block and ``spawn`` workers import that
    script; None otherwise (a notebook, ``python -c``, ``python -m pkg``, a guarded call)."""
    main = sys.modules.get("__main__")
    if main is None or not _reimported(main):
        return None
    frame = sys._getframe(1)
    while frame is not None and not (
        frame.f_globals is vars(main) and frame.f_code.co_name == "<module>"
    ):
        frame = frame.f_back
    path = getattr(main, "__file__", None)
    if frame is None or not path:
        return None
    try:
        tree = ast.parse(Path(path).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return None
    line = frame.f_lineno
    if any(first <= line <= last for first, last in _guarded_lines(tree)):
        return None
    return path, line


def _reimported(main: types.ModuleType) -> bool:
    """Whether a ``spawn`` worker runs ``main`` again (as ``multiprocessing.spawn`` decides)."""
    name = getattr(getattr(main, "__spec__", None), "name", None)
    if name is not None:
        return name != "__main__" and not name.endswith(".__main__")
    path = getattr(main, "__file__", None)
    return path is not None and os.path.splitext(os.path.basename(path))[0] != "ipython"


def _guarded_lines(tree: ast.Module) -> list[tuple[int, int]]:
    """First and last lines of each block that runs only as ``__main__``."""
    blocks = []
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            sense = _main_test(node.test)
            body = node.body if sense else node.orelse if sense is False else []
            if body:
                blocks.append((body[0].lineno, body[-1].end_lineno or body[-1].lineno))
    return blocks


def _main_test(test: ast.expr) -> bool | None:
    """True for ``__name__ == "__main__"`` (alone or and-ed), False for ``!=``, else None."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return True if any(_main_test(v) is True for v in test.values) else None
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return None
    sides = [test.left, test.comparators[0]]
    names = any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
    main = any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides)
    if not (names and main):
        return None
    if isinstance(test.ops[0], ast.Eq):
        return True
    return False if isinstance(test.ops[0], ast.NotEq) else None
