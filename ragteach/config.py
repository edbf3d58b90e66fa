"""Quick mode, read in exactly one place.

Set ``RAGTEACH_QUICK=1`` (the test command does) and every notebook shrinks its work so that the
whole series runs under nbval in a few minutes. Notebooks never read the variable themselves;
they call :func:`by_mode`.
"""
from __future__ import annotations

import contextlib
import os
from typing import Iterator, TypeVar

T = TypeVar("T")

QUICK_ENV = "RAGTEACH_QUICK"
THREADS_ENV = "RAGTEACH_THREADS"


def quick_mode() -> bool:
    """True when the environment variable ``RAGTEACH_QUICK`` is set to a true value."""
    value = os.environ.get(QUICK_ENV, "").strip().lower()
    return value not in ("", "0", "false", "no", "off")


def by_mode(full: T, quick: T) -> T:
    """Return ``quick`` in quick mode and ``full`` otherwise, e.g. ``steps = by_mode(3000, 200)``."""
    return quick if quick_mode() else full


def training_threads() -> int:
    """Threads for a large vectorised computation: ``RAGTEACH_THREADS`` if set (a classroom server that
    shares its cores sets 1), otherwise 1 in quick mode (tests share the cores) and up to 2 in full mode."""
    value = os.environ.get(THREADS_ENV, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"{THREADS_ENV} must be a whole number >= 1, got {value!r}")
        return int(value)
    return by_mode(min(2, os.cpu_count() or 1), 1)


@contextlib.contextmanager
def threads(n: int | None = None) -> Iterator[int]:
    """Run the enclosed block on ``n`` torch threads (default :func:`training_threads`), then restore the
    previous count. Small networks run best on one thread; many runs batched into one step fill two."""
    import torch

    before = torch.get_num_threads()
    n = training_threads() if n is None else n
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(before)


def run_banner() -> str:
    """One line saying what produced the numbers that follow: the mode, the machine, the versions, the date.
    Every notebook prints it first, so a page of the website says how it was made."""
    import datetime
    import platform

    import torch

    import ragteach

    mode = ("QUICK MODE — a smoke test for CI with tiny budgets: the numbers below are NOT results"
            if quick_mode() else "full mode")
    return (f"{mode} · {os.cpu_count()} CPU cores ({platform.machine()} {platform.system()}) · "
            f"torch {torch.__version__} on {torch.get_num_threads()} threads · ragteach {ragteach.__version__} · "
            f"run on {datetime.date.today().isoformat()}")
