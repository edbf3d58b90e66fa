"""Class mode: each notebook's heavy results, computed once in full mode, stored, and loaded in class.

A class cannot wait minutes for training. So each notebook names its heavy results::

    RESULTS = Results("01_gan_basics")
    runs = RESULTS.stored("toy runs", lambda: train_toy_runs_side_by_side(jobs, workers=2))

- Normally ``stored`` just calls the function.
- In class mode (``CLASS_MODE = True`` in a notebook's first cell, or ``RAGTEACH_CLASS=1``) it loads the value
  that ``make results`` stored, says where it came from, and trains nothing.
- With ``RAGTEACH_RECORD=<folder>`` (``make results`` sets it while it runs every notebook in full mode) the value is
  also saved in that folder, with the machine, the date, the versions and the command that made it.

Values are pickled with cloudpickle, so a notebook's own functions travel by value. A stored value keeps the
trainers it was made with: in class mode a learner can still sample from them, or train them further. Optimisers
are stored without their moments (two more copies of every weight), so training on starts Adam afresh.
"""
from __future__ import annotations

import datetime
import gzip
import json
import os
import platform
import re
import time
from pathlib import Path
from typing import Any, Callable, TypeVar

from ragteach.config import class_mode

T = TypeVar("T")

RECORD_ENV = "RAGTEACH_RECORD"
STORE_ENV = "RAGTEACH_STORED"              # another folder to load from (a test, results recorded elsewhere)
STORE = Path(__file__).parent / "stored"   # shipped with the package, so class mode works offline, from any folder


def _file_name(name: str) -> str:
    """``"toy runs"`` -> ``"toy-runs"``: a result's name as a file name."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 _-]*", name):
        raise ValueError(f"a stored result's name uses letters, digits, spaces, '_' and '-', got {name!r}")
    return name.replace(" ", "-")


def _fresh_optimizer(cls: type, param_groups: list[dict[str, Any]], defaults: dict[str, Any]) -> Any:
    import inspect

    accepted = inspect.signature(cls).parameters   # AdamW keeps a default its constructor does not take
    return cls(param_groups, **{k: v for k, v in defaults.items() if k in accepted})


def _pickler(file: Any) -> Any:
    """A cloudpickle pickler that stores an optimiser as its class and settings, without its moments."""
    import cloudpickle
    import torch

    class Pickler(cloudpickle.Pickler):
        def reducer_override(self, obj: Any) -> Any:
            if isinstance(obj, torch.optim.Optimizer):
                return _fresh_optimizer, (type(obj), obj.param_groups, obj.defaults)
            return super().reducer_override(obj)

    return Pickler(file)


def without_moments(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """A session checkpoint whose trainers' optimisers keep their settings but not their moments."""
    state = {name: {**part, "optimizers": {n: {**o, "state": {}} for n, o in part["optimizers"].items()}}
             if isinstance(part, dict) and "optimizers" in part else part
             for name, part in checkpoint["state"].items()}
    return {**checkpoint, "state": state}


def provenance(seconds: float) -> dict[str, Any]:
    """Where a result comes from: machine, date, versions, command and how long it took to compute."""
    import torch

    import ragteach

    return {"machine": f"{os.cpu_count()} CPU cores, {platform.machine()} {platform.system()}",
            "date": datetime.date.today().isoformat(),
            "versions": {"ragteach": ragteach.__version__, "torch": torch.__version__,
                         "python": platform.python_version()},
            "command": os.environ.get("RAGTEACH_RECORD_COMMAND", "make results"),
            "seconds": round(seconds, 1)}


class Results:
    """The stored results of one notebook: ``folder/notebook/<name>.pkl.gz`` and its ``<name>.json`` record.
    ``folder``: the package's ``stored/`` unless given here or in ``RAGTEACH_STORED``."""

    def __init__(self, notebook: str, folder: str | Path | None = None) -> None:
        self.notebook = notebook
        self.folder = Path(folder or os.environ.get(STORE_ENV, "").strip() or STORE)

    def path(self, name: str, folder: Path | None = None) -> Path:
        return (folder or self.folder) / self.notebook / f"{_file_name(name)}.pkl.gz"

    def stored(self, name: str, compute: Callable[[], T]) -> T:
        """``compute()``, or in class mode the value it returned when ``make results`` ran it in full mode."""
        if class_mode():
            return self.load(name)
        started = time.perf_counter()
        value = compute()
        record = os.environ.get(RECORD_ENV, "").strip()
        if record:
            self.save(name, value, provenance(time.perf_counter() - started), Path(record))
        return value

    def run(self, name: str, session: Any, n_steps: int, **run_kw: Any) -> None:
        """``session.run(n_steps, **run_kw)``; in class mode, the end of that run as stored, restored into ``session``
        (its live views keep working: they read the session, and Start trains on from there)."""
        def trained() -> dict[str, Any]:
            session.run(n_steps, **run_kw)
            return {"checkpoint": without_moments(session.checkpoint()), "steps_per_second": session.steps_per_second}

        result = self.stored(name, trained)
        if class_mode():
            session.restore(result["checkpoint"])
            session.steps_per_second = result["steps_per_second"]

    def save(self, name: str, value: Any, record: dict[str, Any], folder: Path | None = None) -> Path:
        path = self.path(name, folder)
        path.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "wb", compresslevel=6) as f:
            _pickler(f).dump(value)
        path.with_suffix("").with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")
        return path

    def load(self, name: str) -> Any:
        import pickle

        path = self.path(name)
        if not path.exists():
            raise FileNotFoundError(
                f"class mode: no stored result {name!r} of {self.notebook} at {path}. Set CLASS_MODE = False in "
                f"the notebook's first cell to compute it here, or run `make results` to store every notebook's.")
        record = json.loads(path.with_suffix("").with_suffix(".json").read_text())
        with gzip.open(path, "rb") as f:
            try:
                value = pickle.load(f)
            except (AttributeError, ImportError, TypeError) as exc:
                raise RuntimeError(
                    f"class mode: the stored {name!r} of {self.notebook} was made by ragteach "
                    f"{record['versions']['ragteach']} and no longer loads ({exc}). Run `make results` to store "
                    f"it again, or set CLASS_MODE = False to compute it here.") from exc
        print(f"class mode: {name!r} loaded, computed in full mode on {record['date']} ({record['machine']}, "
              f"torch {record['versions']['torch']}, {record['seconds']:.0f} s) by `{record['command']}`")
        return value
