"""Foreground training: the cell's own thread trains and, between two steps, draws and handles the controls.

Colab drops widget updates sent from other threads, so there a live view trains this way: no training thread,
no preview thread, every widget message leaves from the kernel's main thread.

- :func:`run_here` is the loop (no Jupyter): the same steps, history, knob checks, Pause/Stop and Ctrl-C
  behaviour as :meth:`TrainingSession.start` / :meth:`~TrainingSession.run`, with ``between()`` called after
  each step.
- :func:`kernel_events` returns a function that handles the widget messages waiting in the kernel (a slider
  moved, a button clicked) in the calling thread, through jupyter-ui-poll, which also holds back the cells a
  learner queues meanwhile ("Run All") until this cell ends.
"""
from __future__ import annotations

import asyncio
import signal
import threading
import time
from typing import Any, Callable

from ragteach.live.session import TrainingSession


def run_here(session: TrainingSession, n_steps: int | None, between: Callable[[], None], poll: float = 0.02,
             reraise_interrupt: bool = False) -> list[dict[str, Any]]:
    """Train ``n_steps`` more steps (``None``: until Stop) in this thread; returns the new history rows.

    ``between()`` runs after every step, and every ``poll`` seconds while paused (so Resume can be clicked).
    While it runs, ``session.running``, ``status``, ``pause()``, ``resume()`` and ``stop_soon()`` behave as
    during ``session.start``. Ctrl-C stops after the current step (a step is never cut in half) and prints
    how to continue, or raises KeyboardInterrupt again with ``reraise_interrupt``, as ``session.run`` does.
    An error in a step ends the run and is raised here, with everything kept.
    """
    if n_steps is not None and (isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 0):
        raise ValueError(f"n_steps must be a whole number >= 0 or None, got {n_steps!r}")
    if session.running:
        raise RuntimeError("the session is already running: stop it (Stop button, session.stop()) or wait "
                           "for it to finish first")
    session._raise_error()  # an error from an earlier run surfaces here first, as in session.run
    interrupted: list[int] = []

    def on_interrupt(signum: int, frame: Any) -> None:
        interrupted.append(signum)
        session.stop_soon()

    main = threading.current_thread() is threading.main_thread()
    old_handler = signal.signal(signal.SIGINT, on_interrupt) if main else None
    first = len(session.history)
    _begin(session, n_steps)
    ended, started, start_step = "stopped", time.perf_counter(), session.step
    try:
        while not session._stop.is_set():
            if session._target is not None and session.step >= session._target:
                ended = "finished"
                break
            if session._pause.is_set():
                time.sleep(poll)
                started, start_step = time.perf_counter(), session.step
            else:
                session._one_step()
            if time.perf_counter() - started > 0.5:
                session.steps_per_second = (session.step - start_step) / (time.perf_counter() - started)
                started, start_step = time.perf_counter(), session.step
            try:
                between()
            except KeyboardInterrupt:  # Ctrl-C while the view handled an event: stop as well
                on_interrupt(signal.SIGINT, None)
    except Exception as exc:  # kept in session.error, shown by the view, raised below
        session.error, ended = exc, "error"
    finally:
        if main:
            signal.signal(signal.SIGINT, old_handler)
        session._ended = ended
        session._finished.set()
    if interrupted and session.error is None:
        if reraise_interrupt:
            raise KeyboardInterrupt
        print(f"Interrupted after step {session.step}; nothing is lost. Call run() again to continue.")
    session._raise_error()
    return session.history[first:]


def _begin(session: TrainingSession, n_steps: int | None) -> None:
    """The run bookkeeping of ``session.start``, without its thread: a new run token, not finished."""
    session.error = None
    session._target = None if n_steps is None else session.step + n_steps
    session._pause.clear()
    session._stop.clear()
    session._token += 1
    session._finished.clear()


def kernel_events(max_events: int = 20, in_cell: bool = True) -> Callable[[], None] | None:
    """A function that handles up to ``max_events`` waiting widget messages in the calling thread, or None
    where that cannot be done: outside a kernel, without jupyter-ui-poll, or on ipykernel 7 (it has no
    ``do_one_iteration``; there the background mode, which ipykernel 7.1+ serves well, is the way).

    jupyter-ui-poll's own synchronous API handles the messages in a helper thread; its asynchronous one, run
    here on a private event loop while the kernel's loop waits for this cell, handles them in this thread.
    Cells queued meanwhile run after this cell; ``in_cell=False`` (a button's handler, no cell runs): they
    run when the returned function's ``close()`` is called.
    """
    try:
        from IPython import get_ipython
        from jupyter_ui_poll import ui_events
    except ImportError:
        return None
    kernel = getattr(get_ipython(), "kernel", None)
    if kernel is None or not hasattr(kernel, "do_one_iteration"):
        return None
    events = ui_events()
    loop = asyncio.new_event_loop()
    # ipykernel 6 keeps the cell's SIGINT handler in saved_sigint_handler while a message is handled, and puts
    # it back when the cell ends; each nested message overwrites it with the one current then (run_here's).
    cell_handler = getattr(kernel, "saved_sigint_handler", None)

    async def handle() -> None:
        async with events as poll:
            await poll(max_events)

    def pump() -> None:
        outer = asyncio._get_running_loop()  # the kernel's loop, paused inside this cell
        asyncio._set_running_loop(None)
        try:
            loop.run_until_complete(handle())
        finally:
            asyncio._set_running_loop(outer)

    def close() -> None:
        loop.close()
        if cell_handler is not None:
            kernel.saved_sigint_handler = cell_handler
        if not in_cell:  # what the end of a cell does: run the cells held back meanwhile
            events._post_run_cell()

    pump.close = close  # type: ignore[attr-defined]
    return pump
