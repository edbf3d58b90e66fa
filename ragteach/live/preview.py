"""Previews: pictures of a session, drawn with matplotlib's Agg backend (no pyplot, thread-safe).

A :class:`Preview` has two halves so that drawing never blocks training:

- ``collect(session) -> data``: reads the model (the view calls it holding ``session.lock``); keep it fast;
- ``draw(data) -> Figure``: makes the picture from plain data, outside the lock.

PNG bytes from :func:`figure_to_png` display the same way in JupyterLab, the classic notebook,
VS Code and Colab (an ``ipywidgets.Image``), and in a script they can be written to a file.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure


@dataclass
class Preview:
    name: str
    collect: Callable[[Any], Any]
    draw: Callable[[Any], Figure]

    def render(self, session: Any) -> bytes:
        """Collect under the session's lock, draw outside it, return PNG bytes."""
        return self.render_at(session)[0]

    def render_at(self, session: Any) -> tuple[bytes, int]:
        """PNG bytes and the step count of the model they show."""
        with session.lock:
            step = session.step
            data = self.collect(session)
        return figure_to_png(self.draw(data)), step


def trained_with(session: Any, name: str) -> Any:
    """The value of knob ``name`` that the drawn model was last trained with (the last history row's),
    not the slider's current value; before any step, the knob's value."""
    if session.history and name in session.history[-1]:
        return session.history[-1][name]
    return session.knobs[name]


def figure_to_png(fig: Figure, dpi: int = 80) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def new_figure(width: float = 5.0, height: float = 3.5, ncols: int = 1) -> tuple[Figure, list[Axes]]:
    """A figure not registered with pyplot (safe to build in any thread), with fixed margins:
    an automatic layout engine would cost more than the drawing itself."""
    fig = Figure(figsize=(width * ncols, height))
    fig.subplots_adjust(left=0.14, right=0.95, bottom=0.14, top=0.9, wspace=0.3)
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    return fig, axes


def smooth(values: Sequence[float], window: int) -> np.ndarray:
    """Trailing moving average over ``window`` values (the first values average what exists)."""
    x = np.asarray(values, dtype=float)
    csum = np.cumsum(np.insert(x, 0, 0.0))
    idx = np.arange(1, len(x) + 1)
    start = np.maximum(idx - window, 0)
    return (csum[idx] - csum[start]) / (idx - start)


def thin(n: int, most: int = 400) -> slice:
    """A stride that keeps at most ``most`` of ``n`` points (plots of long runs stay cheap)."""
    return slice(None, None, max(1, n // most))


MAX_MARKERS = 12  # knob-change lines drawn on a plot; more are thinned (evenly) and counted in the title


def thin_changes(changes: Sequence[Any], most: int = MAX_MARKERS) -> tuple[dict[int, list[str]], int]:
    """Group knob changes by step and keep at most ``most`` steps (evenly spread, the last one always):
    ``({step: ["lr=0.001", ...]}, number of steps with changes in all)``."""
    by_step: dict[int, list[str]] = {}
    for change in changes:
        new = f"{change.new:.3g}" if isinstance(change.new, float) else str(change.new)
        by_step.setdefault(change.step, []).append(f"{change.name}={new}")
    steps = sorted(by_step)
    if len(steps) > most:
        keep = {steps[round(i * (len(steps) - 1) / (most - 1))] for i in range(most)}
        return {st: by_step[st] for st in steps if st in keep}, len(steps)
    return by_step, len(steps)


def plot_history(ax: Axes, history: list[dict], metrics: Sequence[str], changes: Sequence[Any] = (),
                 window: int = 20, title: str = "training curves", ylabel: str = "value") -> None:
    """Curves of ``metrics`` over steps (moving average), with a dashed line where a knob changed
    (at most ``MAX_MARKERS`` of them: a run with many changes stays readable and cheap to draw)."""
    for name in metrics:
        rows = [r for r in history if name in r]
        if rows:
            keep = thin(len(rows))
            steps = np.array([r["step"] for r in rows])
            ax.plot(steps[keep], smooth([r[name] for r in rows], window)[keep], label=name)
    by_step, total = thin_changes(changes)
    for step, labels in by_step.items():
        ax.axvline(step, color="grey", linestyle="--", linewidth=0.8)
        ax.annotate(", ".join(labels), (step, 1.0), xycoords=("data", "axes fraction"),
                    rotation=90, va="top", ha="right", fontsize=8, color="grey")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    shown = f" ({len(by_step)} of {total} knob changes marked)" if total > len(by_step) else ""
    ax.set_title(title + shown)
    if any(any(name in r for r in history) for name in metrics):
        ax.legend(loc="best", fontsize=8)


def history_preview(metrics: Sequence[str] | Sequence[Sequence[str]], title: str = "training curves",
                    window: int = 20) -> Preview:
    """A preview of metric curves with knob-change markers. Give groups (``[["loss"], ["p_gold", "em"]]``)
    to put quantities of different scales on separate panels side by side. Its name is its title."""
    groups = [list(metrics)] if all(isinstance(m, str) for m in metrics) else [list(g) for g in metrics]

    def collect(session: Any) -> tuple[list[dict], list[Any]]:
        return list(session.history), list(session.knobs.changes)

    def draw(data: tuple[list[dict], list[Any]]) -> Figure:
        fig, axes = new_figure(5.0 if len(groups) == 1 else 3.6, 3.5, ncols=len(groups))
        for i, (ax, group) in enumerate(zip(axes, groups)):
            name = title if len(groups) == 1 else (f"{title}: " if i == 0 else "") + ", ".join(group)
            plot_history(ax, data[0], group, data[1], window=window, title=name, ylabel=" / ".join(group))
        return fig

    return Preview(title, collect, draw)
