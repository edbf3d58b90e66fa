"""Quick mode, read in exactly one place.

Set ``RAGTEACH_QUICK=1`` (the test command does) and every notebook shrinks its work so that the
whole series runs under nbval in a few minutes. Notebooks never read the variable themselves;
they call :func:`by_mode`.
"""
from __future__ import annotations

import os
from typing import Any, TypeVar

T = TypeVar("T")

QUICK_ENV = "RAGTEACH_QUICK"


def env_flag(name: str) -> bool:
    """True when the environment variable ``name`` is set to a true value (not "", 0, false, no or off)."""
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")


def quick_mode() -> bool:
    """True when the environment variable ``RAGTEACH_QUICK`` is set to a true value."""
    return env_flag(QUICK_ENV)


SITE_ENV = "RAGTEACH_SITE"


def site_mode() -> bool:
    """True while the website is built (``make book`` sets ``RAGTEACH_SITE=1``): a page is read, not run, so
    exercises show their reference passing and no progress bars are drawn."""
    return env_flag(SITE_ENV)


def progress(iterable: Any = None, *, enabled: bool = True, **kwargs: Any) -> Any:
    """A ``tqdm.auto`` progress bar (a widget in a notebook, text elsewhere); none when ``enabled`` is false or on
    the website, whose pages are read after the run (a bar would only show where it stood when the page was built)."""
    from tqdm.auto import tqdm

    return tqdm(iterable, disable=not enabled or site_mode(), **kwargs)


CLASS_ENV = "RAGTEACH_CLASS"


def class_mode() -> bool:
    """True in class mode: notebooks load their stored full-mode results (:mod:`ragteach.results`) instead of
    training them. On when ``RAGTEACH_CLASS`` is true, or after :func:`use_class_mode` ``(True)``."""
    return env_flag(CLASS_ENV)


def use_class_mode(on: bool) -> None:
    """A notebook's ``CLASS_MODE`` switch. ``True`` turns class mode on for this kernel; ``False`` leaves it as the
    environment says, so that ``RAGTEACH_CLASS=1`` (a hub, a test) turns it on whatever the cell says."""
    if not isinstance(on, bool):
        raise TypeError(f"CLASS_MODE is True or False, got {on!r}")
    if on:
        os.environ[CLASS_ENV] = "1"


def by_mode(full: T, quick: T) -> T:
    """Return ``quick`` in quick mode and ``full`` otherwise, e.g. ``steps = by_mode(3000, 200)``. Class mode shows
    the stored full-mode results, so it takes ``full`` even when quick mode is on too."""
    return quick if quick_mode() and not class_mode() else full


def mode_line() -> str:
    """The words "full mode", or in quick mode a warning that the numbers which follow are not results. Cells print it
    beside a table, so a quick-mode table can never be mistaken for a result."""
    if class_mode():
        return "class mode — the heavy results are loaded, as computed in full mode by `make results`"
    return ("QUICK MODE — a smoke test for CI with tiny budgets: the numbers below are NOT results"
            if quick_mode() else "full mode")


def run_banner() -> str:
    """One line saying what produced the numbers that follow: the mode, the machine, the versions, the date.
    Every notebook prints it first, so a page of the website says how it was made."""
    import datetime
    import platform

    import torch

    import ragteach

    return (f"{mode_line()} · {os.cpu_count()} CPU cores ({platform.machine()} {platform.system()}) · "
            f"torch {torch.__version__} on {torch.get_num_threads()} threads · ragteach {ragteach.__version__} · "
            f"run on {datetime.date.today().isoformat()}")
