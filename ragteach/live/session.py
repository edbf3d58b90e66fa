"""The live training session: runs a step function in the background while knobs change.

The contract every notebook uses:

- ``step_fn(knobs) -> metrics``: one training step. It receives a plain dict of knob values,
  read once before the step, and returns a dict of float metrics (losses, scores).
- ``run(n)`` blocks with a progress bar; ``start(n)``/``pause()``/``resume()``/``stop()`` run the
  same steps in a background thread so that the notebook stays responsive.
- ``history`` has one row per step: ``{"step": s, **metrics, **knob values used}``.
- An exception in a step stops the run, is kept in ``error`` and is re-raised by the next
  blocking call (``run`` or ``wait``). Nothing is lost: models, optimisers, history and the step
  count stay, and training resumes where it stopped.
- Exactly one run at a time: each ``start`` gets a run token and a ``finished`` event that the thread
  sets as its last act, so Ctrl-C in ``run()`` (which may interrupt a ``join``) can never leave a
  second run going or let an old thread take one more step after the next run began.
- ``load``/``restore`` check the whole checkpoint (every knob value, every state object's own
  check) before changing anything; if loading still fails half-way, everything is put back.

The session never imports Jupyter; :mod:`ragteach.live.widgets` draws it.
"""
from __future__ import annotations

import contextlib
import copy
import math
import numbers
import pickle
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

import torch
from ragteach.config import progress as progress_bar

from ragteach.knobs import Knobs
from ragteach.training import Metrics


class Stateful(Protocol):
    def state_dict(self) -> dict: ...
    def load_state_dict(self, state: dict) -> Any: ...


class TrainingError(RuntimeError):
    """A step failed; the message says at which step and what to change."""


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """In the main thread, hold Ctrl-C (SIGINT) back for the block and deliver it after, so that a block that
    must not stop half-way (launching the training thread) either runs whole or not at all."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach only the main thread
        return
    held: list[Any] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append(frame))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)
    if held and callable(previous):
        previous(signal.SIGINT, held[0])  # the handler that was there (KeyboardInterrupt in Jupyter)
    elif held and previous == signal.SIG_DFL:
        signal.raise_signal(signal.SIGINT)  # the default: Ctrl-C ends the program


def _metric(step: int, name: str, value: Any) -> float:
    """One metric as a float, or a TrainingError naming it (a string, a tensor of several values, ...)."""
    try:
        return float(value)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TrainingError(f"step {step}: the metric {name!r} is {value!r:.60}, not a number: the step function "
                            f"must return one float per metric (use loss.item() for a one-element tensor)") from exc


STATUSES = ("not started", "running", "paused", "finished", "stopped", "error")


class TrainingSession:
    """Run ``step_fn`` step after step, reading ``knobs`` once per step and keeping history.

    step_fn: called as ``step_fn(knob_values)``; returns a dict of float metrics. Usually a trainer
        (:mod:`ragteach.training`): then ``TrainingSession(trainer)`` is all it takes.
    knobs: the tunable values (validated on every change); default: ``step_fn.default_knobs()``.
    state: objects with ``state_dict``/``load_state_dict`` that a checkpoint saves and restores, by name;
        default: the trainer itself, as ``"trainer"``.
    """

    def __init__(self, step_fn: Callable[[dict[str, Any]], Metrics], knobs: Knobs | None = None,
                 state: dict[str, Stateful] | None = None) -> None:
        if not callable(step_fn):
            raise TypeError(f"step_fn must be a function step_fn(knob_values) -> dict of metrics (a trainer is "
                            f"one), got {step_fn!r}")
        is_trainer = hasattr(step_fn, "state_dict") and hasattr(step_fn, "load_state_dict")
        self.step_fn = step_fn
        self.knobs = knobs if knobs is not None else step_fn.default_knobs() if is_trainer else Knobs()
        self.knobs.busy = lambda: self.running  # every knob setter waits a little while training runs
        self.state = dict(state if state is not None else {"trainer": step_fn} if is_trainer else {})
        self.history: list[dict[str, Any]] = []
        self.step = 0
        self.error: BaseException | None = None
        self.lock = threading.RLock()  # held during a step; previews take it to read the model
        self._thread: threading.Thread | None = None
        self._target: int | None = None
        self._pause = threading.Event()
        self._stop = threading.Event()
        self._finished = threading.Event()  # set by the training thread as its very last act
        self._finished.set()
        self._token = 0                     # the current run; an older thread whose token differs stops
        self._ended = "not started"         # how the last run ended: finished, stopped or error
        self.steps_per_second = 0.0

    # ------------------------------------------------------------------ pickling (ragteach.results stores sessions)
    def __getstate__(self) -> dict[str, Any]:
        """A finished session without its thread, lock and events (they belong to this process)."""
        if self.running:
            raise RuntimeError("a session cannot be stored while it trains: wait() or stop() first")
        return {k: v for k, v in self.__dict__.items()
                if k not in ("lock", "_thread", "_pause", "_stop", "_finished", "error")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.lock, self._thread, self.error = threading.RLock(), None, None
        self._pause, self._stop, self._finished = threading.Event(), threading.Event(), threading.Event()
        self._finished.set()
        self.knobs.busy = lambda: self.running

    # ------------------------------------------------------------------ knobs
    def set_knob(self, name: str, value: Any) -> None:
        """Set a knob (validated); the next step uses it. Safe while training runs.

        Changes before one step coalesce into one record. While training runs, each call then waits
        1 ms, as every knob setter does (see :class:`~ragteach.knobs.Knobs`)."""
        self.knobs.set(name, value)

    # ------------------------------------------------------------------ stepping
    def _one_step(self) -> None:
        """Run exactly one step under the lock and append its history row."""
        with self.lock:
            values = self.knobs.snapshot(next_step=self.step)
            metrics = self.step_fn(dict(values))
            if not isinstance(metrics, dict):
                raise TrainingError(f"step {self.step}: the step function returned {metrics!r:.60}; it must return "
                                    f"a dict of metrics, e.g. {{'loss': loss.item()}}")
            metrics = {k: _metric(self.step, k, v) for k, v in metrics.items()}
            bad = {k: v for k, v in metrics.items() if not math.isfinite(v)}
            if bad:
                names = ", ".join(f"{k}={v}" for k, v in bad.items())
                raise TrainingError(
                    f"step {self.step}: {names} is not finite. The model diverged: lower the learning "
                    f"rates or the knob you just raised, then load the last checkpoint or rebuild the model.")
            clash = sorted(set(metrics) & (set(values) | {"step"}))
            if clash:
                raise TrainingError(f"step {self.step}: metric name(s) {clash} are also knob names (or 'step'); "
                                    f"rename the metric so the history keeps both")
            row = {"step": self.step, **metrics, **values}
            self.history.append(row)
            self.step += 1

    def _loop(self, token: int) -> None:
        started, start_step = time.perf_counter(), self.step
        ended = "stopped"
        try:
            while not self._stop.is_set() and token == self._token:
                if self._target is not None and self.step >= self._target:
                    ended = "finished"
                    break
                if self._pause.is_set():
                    time.sleep(0.01)
                    started, start_step = time.perf_counter(), self.step
                    continue
                self._one_step()
                elapsed = time.perf_counter() - started
                if elapsed > 0.5:
                    self.steps_per_second = (self.step - start_step) / elapsed
                    started, start_step = time.perf_counter(), self.step
        except BaseException as exc:  # kept and re-raised by the next blocking call
            self.error, ended = exc, "error"
        finally:
            if token == self._token:
                self._ended = ended
                self._finished.set()

    # ------------------------------------------------------------------ background control
    @property
    def running(self) -> bool:
        """True from ``start`` until the training thread has finished its last step (paused counts)."""
        return not self._finished.is_set()

    @property
    def paused(self) -> bool:
        return self.running and self._pause.is_set()

    @property
    def status(self) -> str:
        """One of ``not started``, ``running``, ``paused``, ``finished`` (did its steps), ``stopped``
        (stopped early) and ``error``."""
        if self.error is not None:
            return "error"
        if self.running:
            return "paused" if self._pause.is_set() else "running"
        return self._ended

    def start(self, n_steps: int | None = None) -> None:
        """Train in a background thread for ``n_steps`` more steps (``None``: until ``stop()``)."""
        if n_steps is not None and (isinstance(n_steps, bool) or not isinstance(n_steps, numbers.Integral)
                                    or n_steps < 0):
            raise ValueError(f"n_steps must be a whole number >= 0 or None, got {n_steps!r}")
        if self.running:
            raise RuntimeError("the session is already running: stop it (Stop button, session.stop()) or wait "
                               "for it to finish first")
        with _interrupts_deferred():  # Ctrl-C here would leave "running" set, or a thread nobody waits for
            self.error = None
            self._target = None if n_steps is None else self.step + int(n_steps)
            self._pause.clear()
            self._stop.clear()
            self._token += 1
            self._finished.clear()
            self._thread = threading.Thread(target=self._loop, args=(self._token,), name="ragteach-training",
                                            daemon=True)
            self._thread.start()

    def pause(self) -> None:
        """Pause between two steps; ``resume()`` continues with the next step number."""
        if self.running:
            self._pause.set()

    def stop_soon(self) -> None:
        """Ask the run to stop after its current step, without waiting (``stop()`` waits): for a caller on the
        training thread itself, such as a Stop button handled between two foreground steps."""
        self._stop.set()
        self._pause.clear()

    def resume(self) -> None:
        self._pause.clear()

    def stop(self) -> None:
        """Stop after the current step and wait until the thread has finished; all state is kept.
        A second Ctrl-C while waiting does not abandon the wait (the thread would go on training)."""
        self._stop.set()
        self._pause.clear()
        while not self._finished.is_set():
            try:
                self._finished.wait(0.05)
            except KeyboardInterrupt:
                continue

    def wait(self, timeout: float | None = None) -> None:
        """Block until the background run ends (or ``timeout`` seconds pass); re-raise its error, if any."""
        self._finished.wait(timeout)
        self._raise_error()

    def wait_for_step(self, step: int, poll: float = 0.01) -> None:
        """Block until the background run has done ``step`` steps in all, or has ended (paused counts as
        waiting); re-raise its error, if any. For scripted slider moves at a known point of a run."""
        if not isinstance(step, int) or step < 0:
            raise ValueError(f"step must be a whole number >= 0, got {step!r}")
        while self.running and self.step < step and self.error is None:
            time.sleep(poll)
        self._raise_error()

    def _raise_error(self) -> None:
        if self.error is not None:
            exc, self.error = self.error, None
            if isinstance(exc, TrainingError):
                raise TrainingError(str(exc)) from exc
            raise TrainingError(f"step {self.step} failed: {type(exc).__name__}: {exc}") from exc

    # ------------------------------------------------------------------ blocking run
    def run(self, n_steps: int, progress: bool = True, desc: str = "training",
            reraise_interrupt: bool = False) -> list[dict[str, Any]]:
        """Train ``n_steps`` steps and block, with a progress bar. Returns the new history rows.

        Steps run in the background thread while this call waits, so Ctrl-C / the notebook's
        stop button interrupts cleanly between two steps and keeps everything.
        reraise_interrupt: after that clean stop, raise the KeyboardInterrupt again instead of returning:
            for experiments whose results mean something only after all their steps (a table must not
            silently report a shorter run).
        """
        self._raise_error()  # an error from an earlier background run surfaces here first
        first, first_step = len(self.history), self.step
        bar = None
        try:  # from start() on: Ctrl-C at any point stops the thread it may have started
            self.start(n_steps)
            bar = progress_bar(total=n_steps, desc=desc, enabled=progress, leave=False)
            while not self._finished.wait(0.1):
                bar.n = self.step - first_step
                if self.history:
                    last = self.history[-1]
                    bar.set_postfix({k: f"{v:.3g}" for k, v in last.items()
                                     if k != "step" and isinstance(v, float)}, refresh=False)
                bar.refresh()
        except KeyboardInterrupt:
            self.stop()
            if reraise_interrupt:
                raise
            print(f"Interrupted after step {self.step}; nothing is lost. Call run() again to continue.")
        finally:
            if bar is not None:
                bar.close()
        self._raise_error()
        return self.history[first:]

    # ------------------------------------------------------------------ history helpers
    def metric(self, name: str) -> list[float]:
        """The values of one metric (or knob) over the history."""
        return [row[name] for row in self.history if name in row]

    def series(self, name: str) -> tuple[list[int], list[float]]:
        """(steps, values) of a metric that only some rows carry (e.g. a periodic evaluation)."""
        rows = [row for row in self.history if name in row]
        return [row["step"] for row in rows], [row[name] for row in rows]

    # ------------------------------------------------------------------ checkpoints
    def checkpoint(self) -> dict[str, Any]:
        """Everything needed to continue exactly: state objects, step, history, knob values."""
        with self.lock:
            return {
                "step": self.step,
                "history": [dict(row) for row in self.history],
                "knobs": self.knobs.snapshot(),
                "state": {name: copy.deepcopy(obj.state_dict()) for name, obj in self.state.items()},
            }

    def check_checkpoint(self, ckpt: Any) -> None:
        """Raise a ValueError naming the first part of ``ckpt`` that does not fit this session (changes nothing)."""
        if not isinstance(ckpt, dict) or not {"step", "history", "knobs", "state"} <= set(ckpt):
            raise ValueError("not a session checkpoint: it needs step, history, knobs and state (save one with "
                             "session.save(path))")
        step = ckpt["step"]
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"the checkpoint's step must be a whole number >= 0, got {step!r}")
        history = ckpt["history"]
        if not isinstance(history, list) or len(history) > step:
            raise ValueError("the checkpoint's history does not match its step count")
        if any(not isinstance(row, dict) or not isinstance(row.get("step"), int) for row in history):
            raise ValueError("the checkpoint's history must be a list of rows {'step': s, metric: value, ...}; "
                             "this one is not: the file was not written by session.save(path)")
        try:
            self.knobs.check_values(ckpt["knobs"])
        except ValueError as exc:
            raise ValueError(f"the checkpoint's knob values do not fit this session: {exc}") from None
        missing = sorted(set(self.state) - set(ckpt["state"]))
        if missing:
            raise ValueError(f"the checkpoint has no state named {missing}; it has {sorted(ckpt['state'])}")
        for name, obj in self.state.items():
            check = getattr(obj, "check_state", None)
            if check is not None:
                check(ckpt["state"][name])
            steps = ckpt["state"][name].get("steps") if isinstance(ckpt["state"][name], dict) else None
            if isinstance(getattr(obj, "steps", None), int) and isinstance(steps, int) and steps != step:
                raise ValueError(f"the checkpoint's step is {step} but its {name!r} state has taken {steps} steps: "
                                 f"the file was edited or pieced together; load one written by session.save(path)")

    def restore(self, ckpt: dict[str, Any]) -> None:
        """Continue from ``ckpt``: all of it is checked first; a checkpoint that does not fit changes nothing."""
        if self.running:
            raise RuntimeError("stop the session (Stop button, session.stop()) before loading a checkpoint")
        self.check_checkpoint(ckpt)
        with self.lock:
            before = self.checkpoint()
            try:
                self._apply(ckpt)
            except BaseException:
                self._apply(before)
                raise

    def _apply(self, ckpt: dict[str, Any]) -> None:
        for name, obj in self.state.items():
            obj.load_state_dict(ckpt["state"][name])
        self.knobs.load_values(ckpt["knobs"])
        self.step = int(ckpt["step"])
        self.history = [dict(row) for row in ckpt["history"]]
        self.knobs.set_next_step(self.step)

    def save(self, path: str | Path) -> Path:
        """Save a checkpoint that loads with ``torch.load(path, weights_only=True)``."""
        path = Path(path)
        if path.is_dir():
            raise IsADirectoryError(f"save(path): {path} is a folder; give a file name, e.g. {path / 'session.pt'}")
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(self.checkpoint(), path)
        return path

    def load(self, path: str | Path) -> None:
        """Continue from the checkpoint file ``path`` (see :meth:`restore`); a file that is not one is refused."""
        try:
            ckpt = torch.load(Path(path), weights_only=True)
        except Exception as exc:  # EOFError (empty), KeyError or IndexError (text), BadZipFile, ...
            if isinstance(exc, (pickle.UnpicklingError, OSError)) or "weights" in str(exc).lower():
                raise  # a pickle with code in it: torch's message says why it is refused
            raise ValueError(f"{path} is not a session checkpoint (empty, cut short or another kind of file: "
                             f"{type(exc).__name__}); load a file written by session.save(path)") from exc
        self.restore(ckpt)
