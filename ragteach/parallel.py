"""Independent jobs side by side, one process per core: ``fn(**kwargs)`` for every job.

A small network's training step fills one core; a second torch thread inside the same process mostly waits.
Two cores therefore finish two jobs in about the time of one when each job has its own process with one
torch thread. ``fn`` must be importable by name (a function of a module, not one defined in a notebook cell),
and its arguments and result must pickle: the result travels back from the worker process.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import torch

from ragteach.training import check_positive_int


def run_jobs(fn: Callable[..., Any], jobs: Mapping[str, Mapping[str, Any]], workers: int = 1, *,
             done: dict[str, Any] | None = None, progress: bool = False) -> dict[str, Any]:
    """``{name: fn(**kwargs)}`` for every ``name -> kwargs`` in ``jobs``, ``workers`` processes at a time.

    workers=1 runs the jobs here, one after the other. Jobs start in the order given: put the longest first.
    done: a dict you keep between calls. Each finished job's result is put there at once, and a job whose
    name is already in it is not trained again, so an interrupt (Ctrl-C, the notebook's stop button) loses
    only the jobs still running. Give a fresh dict when you change a job.
    """
    from ragteach.config import progress as progress_bar

    check_positive_int("workers", workers)
    if not jobs:
        raise ValueError("give at least one job: a dict of name -> keyword arguments of fn")
    done = {} if done is None else done
    todo = [(name, dict(kwargs)) for name, kwargs in jobs.items() if name not in done]
    if len(todo) < len(jobs):
        print(f"reusing {len(jobs) - len(todo)} finished job(s): {', '.join(n for n in jobs if n in done)}")
    try:
        if workers == 1 or len(todo) <= 1:
            for name, kwargs in progress_bar(todo, enabled=progress and len(todo) > 1,
                                             desc=f"{len(todo)} jobs, one after the other"):
                done[name] = fn(**kwargs)
        else:
            _in_processes(fn, todo, min(workers, len(todo)), done, progress_bar, progress)
    except KeyboardInterrupt:
        left = ", ".join(n for n in jobs if n not in done)
        print(f"Interrupted: the finished jobs are kept in `done`; call again with it to run only {left}."
              if len(done) else f"Interrupted: no job had finished ({left}).")
        raise
    return {name: done[name] for name in jobs}


def _call(job: tuple[Callable[..., Any], str, dict[str, Any]]) -> tuple[str, Any]:
    fn, name, kwargs = job
    torch.set_num_threads(1)
    return name, fn(**kwargs)


def _in_processes(fn: Callable[..., Any], todo: list[tuple[str, dict[str, Any]]], n: int, done: dict[str, Any],
                  progress_bar: Callable[..., Any], progress: bool) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked OpenMP state, works in notebooks
    # leaving the block, also by an interrupt, terminates the workers at once
    with ctx.Pool(n) as pool:
        results = pool.imap_unordered(_call, [(fn, name, kwargs) for name, kwargs in todo])
        for name, result in progress_bar(results, total=len(todo), enabled=progress,
                                         desc=f"{len(todo)} jobs on {n} processes"):
            done[name] = result
