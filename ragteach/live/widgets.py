"""The widget layer: sliders bound to knobs, buttons bound to a session, previews as images.

This is the only module of ``ragteach`` that imports ipywidgets. It draws a
:class:`~ragteach.live.session.TrainingSession`; it holds no training logic.

    view = LiveView(session, [toy_preview(...), history_preview(["loss_d", "loss_g"])])
    view            # shows the controls and previews
    session.start(5000)   # or the Start button; move the sliders while it trains
"""
from __future__ import annotations

import math
import threading
import time
from typing import Any, Sequence

import ipywidgets as W

from ragteach.knobs import Knob
from ragteach.live.preview import Preview
from ragteach.live.session import TrainingSession


def knob_widget(knob: Knob) -> W.ValueWidget:
    """A control that can only offer values the knob accepts (its range is the knob's range)."""
    style = {"description_width": "initial"}
    label = knob.description or knob.name
    common = dict(description=label, style=style, continuous_update=False,
                  layout=W.Layout(width="360px"))
    if knob.kind == "choice":
        return W.Dropdown(options=list(knob.choices), value=knob.value, description=label, style=style)
    if knob.kind == "bool":
        return W.Checkbox(value=knob.value, description=label, style=style)
    if knob.low is None or knob.high is None:
        raise ValueError(f"knob {knob.name!r} needs both low and high bounds to get a slider")
    if knob.kind == "int":
        low = int(knob.low) + (1 if knob.low_open else 0)
        high = int(knob.high) - (1 if knob.high_open else 0)
        return W.IntSlider(value=knob.value, min=low, max=high, **common)
    if knob.log:
        # 10**min .. 10**max; an open lower bound at 0 starts four decades below the top.
        lo = math.log10(knob.low) if knob.low > 0 else math.log10(knob.high) - 4
        hi = math.log10(knob.high)
        return W.FloatLogSlider(value=knob.value, base=10, min=lo, max=hi, step=0.05,
                                readout_format=".1e", **common)
    step = (knob.high - knob.low) / 100
    low = knob.low + (step if knob.low_open else 0.0)
    high = knob.high - (step if knob.high_open else 0.0)
    return W.FloatSlider(value=knob.value, min=low, max=high, step=step, readout_format=".3g", **common)


class LiveView(W.VBox):
    """Controls, status and previews of a session, refreshed at most ``1 / interval`` times a second.

    knobs: names of the knobs to show (default: all). n_steps: how many steps the Start button runs
    (``None``: until Stop). The status line refreshes every ``interval`` seconds; a preview is redrawn
    only after at least ``slowdown`` times as long as its last drawing took, so drawing takes at most
    about 1/(1 + slowdown) of the time (10 % with the default 9).
    """

    def __init__(self, session: TrainingSession, previews: Sequence[Preview] = (),
                 knobs: Sequence[str] | None = None, n_steps: int | None = None,
                 interval: float = 0.25, slowdown: float = 9.0) -> None:
        self.session, self.previews, self.n_steps = session, list(previews), n_steps
        self.interval, self.slowdown = interval, slowdown
        names = list(knobs) if knobs is not None else [k.name for k in session.knobs]
        self.controls: dict[str, W.ValueWidget] = {}
        for name in names:
            widget = knob_widget(session.knobs.knobs[name])
            widget.observe(self._on_control(name), names="value")
            self.controls[name] = widget
        self.buttons = {label: W.Button(description=label, layout=W.Layout(width="90px"))
                        for label in ("Start", "Pause", "Resume", "Stop")}
        self.buttons["Start"].on_click(lambda _: self._start())
        self.buttons["Pause"].on_click(lambda _: session.pause())
        self.buttons["Resume"].on_click(lambda _: session.resume())
        self.buttons["Stop"].on_click(lambda _: session.stop())
        self.status = W.HTML()
        self.message = W.HTML()  # errors: refused knob values, a failed step
        self.images = {p.name: W.Image(format="png", layout=W.Layout(max_width="520px")) for p in self.previews}
        self.redraws = 0
        self._drawn_step = -1
        self._next_draw = 0.0  # perf_counter time before which previews are not redrawn
        self._closed = threading.Event()
        super().__init__([
            W.HBox(list(self.buttons.values()) + [self.status]),
            W.VBox(list(self.controls.values())),
            self.message,
            W.HBox(list(self.images.values()), layout=W.Layout(flex_flow="row wrap")),
        ])
        self.refresh()
        self._thread = threading.Thread(target=self._refresh_loop, name="ragteach-preview", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ controls -> knobs
    def _on_control(self, name: str):
        def handler(change: dict[str, Any]) -> None:
            try:
                self.session.set_knob(name, change["new"])
                self.message.value = ""
            except ValueError as exc:  # keep the old value, say why
                self.message.value = f"<span style='color:#b00'>{exc}</span>"
                self.controls[name].value = change["old"]  # re-sets the knob to its own value: no-op
        return handler

    def _start(self) -> None:
        try:
            self.session.start(self.n_steps)
            self.message.value = ""
        except RuntimeError as exc:
            self.message.value = f"<span style='color:#b00'>{exc}</span>"

    # ------------------------------------------------------------------ session -> view
    def _sync_controls(self) -> None:
        """Knobs set from code show up on their controls. Setting a control to the knob's own value
        calls the handler with an unchanged value, which records nothing, so no guard flag is needed."""
        for name, widget in self.controls.items():
            value = self.session.knobs[name]
            if widget.value != value:
                widget.value = value

    def refresh(self, force: bool = True) -> None:
        """Update status and controls; redraw the previews if the step moved (and, unless ``force``,
        if the throttle allows it)."""
        s = self.session
        rate = f", {s.steps_per_second:.0f} steps/s" if s.status == "running" and s.steps_per_second else ""
        self.status.value = f"<b>step {s.step}</b> — {s.status}{rate}"
        if s.error is not None:
            self.message.value = (f"<span style='color:#b00'><b>Training stopped:</b> {s.error}</span>")
        self._sync_controls()
        if s.step != self._drawn_step and (force or time.perf_counter() >= self._next_draw):
            started = time.perf_counter()
            self._drawn_step = s.step
            for p in self.previews:
                self.images[p.name].value = p.render(s)
            self.redraws += 1
            took = time.perf_counter() - started
            self._next_draw = time.perf_counter() + max(self.interval, self.slowdown * took)

    def _refresh_loop(self) -> None:
        while not self._closed.wait(self.interval):
            try:
                self.refresh(force=False)
            except Exception as exc:  # a broken preview must not kill the view
                self.message.value = f"<span style='color:#b00'>preview failed: {exc}</span>"

    def close(self) -> None:
        """Stop refreshing (waits for a redraw in progress) and close the widgets."""
        self._closed.set()
        self._thread.join()
        super().close()
