"""The widget layer: sliders bound to knobs, buttons bound to a session, previews as images.

This is the only module of ``ragteach`` that imports ipywidgets. It draws a
:class:`~ragteach.live.session.TrainingSession`; it holds no training logic.

    view = LiveView(session, [toy_preview(...), history_preview(["loss_d", "loss_g"])])
    view            # shows the controls and previews
    session.start(5000)   # or the Start button; move the sliders while it trains
    view.run(5000)        # or train in this cell, handling the sliders between steps (the default on Colab)

Works with ipywidgets 7.7+ (Colab's) and 8.x.
"""
from __future__ import annotations

import html
import math
import sys
import threading
import time
from typing import Any, Sequence

import ipywidgets as W
from IPython.display import HTML, display

from ragteach.knobs import Knob
from ragteach.live.foreground import kernel_events, run_here
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


#: Shown beside a live view. While the view is live, CSS hides it; in a notebook reopened from disk the
#: widget cannot come back (its state lived in the kernel), and JupyterLab shows "model not found" there.
STALE_HINT = (  # JupyterLab and Notebook 7 (.jp-OutputArea), classic Notebook (.output)
    "<style>.jp-OutputArea:has(.widget-vbox) .ragteach-stale-hint,"
    ".jp-OutputArea:has(.jupyter-widgets.widget-container) .ragteach-stale-hint,"
    ".output:has(.widget-vbox) .ragteach-stale-hint{display:none}</style>"
    "<div class='ragteach-stale-hint' style='color:#555;font-size:90%'>▶ Live view: run this cell (or "
    "<i>Run ▸ Run All Cells</i>) to bring back its sliders, buttons and previews. A notebook reopened "
    "from disk cannot show them (\"model not found\"): they live in the running kernel.</div>")


def on_colab() -> bool:
    """Colab drops widget updates sent from other threads than the kernel's main one."""
    return "google.colab" in sys.modules


class LiveView(W.VBox):
    """Controls, status and previews of a session, refreshed at most ``1 / interval`` times a second.

    knobs: names of the knobs to show (default: all); a knob with ``visible_if`` is hidden while it does
    nothing. n_steps: how many steps the Start button runs (``None``: until Stop). The status line
    refreshes every ``interval`` seconds; a preview is redrawn only after at least ``slowdown`` times as
    long as its last drawing took, so drawing takes at most about 1/(1 + slowdown) of the time (10 % with
    the default 9). Previews are kept in the order given (two may share a name).

    foreground: train in the kernel's main thread (:meth:`run`, and the Start button), redrawing and handling
    the controls between steps, with no thread of the view's own; default: on Colab only. Otherwise a
    thread ("ragteach-preview") redraws while the session trains in its own thread.
    """

    def __init__(self, session: TrainingSession, previews: Sequence[Preview] = (),
                 knobs: Sequence[str] | None = None, n_steps: int | None = None,
                 interval: float = 0.25, slowdown: float = 9.0, foreground: bool | None = None) -> None:
        self.session, self.previews, self.n_steps = session, list(previews), n_steps
        self.foreground = on_colab() if foreground is None else foreground
        self._pump: Any = None  # handles the kernel's widget messages during a foreground run
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
        self.buttons["Pause"].on_click(lambda _: self._act(session.pause))
        self.buttons["Resume"].on_click(lambda _: self._act(session.resume))
        self.buttons["Stop"].on_click(lambda _: self._act(session.stop_soon if self._pump else session.stop))
        self.status = W.HTML()
        self.message = W.HTML()  # errors: refused knob values, a failed step
        self.images = [W.Image(format="png", layout=W.Layout(max_width="560px")) for _ in self.previews]
        self.drawn: list[int | None] = [None] * len(self.previews)  # the step each image shows
        self.failed: dict[int, str] = {}                              # preview index → its last error
        self.redraws = 0
        self._drawn_step = -1
        self._next_draw = 0.0  # perf_counter time before which previews are not redrawn
        self._closed = threading.Event()
        super().__init__([
            W.HBox(list(self.buttons.values()) + [self.status]),
            W.VBox(list(self.controls.values())),
            self.message,
            W.HBox(self.images, layout=W.Layout(flex_flow="row wrap")),
        ])
        self.refresh()
        self._thread = threading.Thread(target=self._refresh_loop, name="ragteach-preview", daemon=True)
        if not self.foreground:
            self._thread.start()

    def _ipython_display_(self) -> None:
        display(HTML(STALE_HINT))
        if hasattr(self, "_repr_mimebundle_"):  # ipywidgets 8
            display(self._repr_mimebundle_(), raw=True)
        else:                                   # ipywidgets 7 displays through _ipython_display_
            super()._ipython_display_()

    # ------------------------------------------------------------------ foreground training
    def run(self, n_steps: int | None = None, foreground: bool | None = None,
            reraise_interrupt: bool = False) -> None:
        """Train ``n_steps`` steps (default: the view's ``n_steps``) while the view shows them (the new rows are
        in ``session.history``). In the foreground (default: the view's mode) this cell trains and, between two
        steps, handles the sliders and buttons and redraws (as throttled as the background mode); otherwise
        ``session.run`` trains in its thread while the view's thread redraws. Ctrl-C stops after a step."""
        n_steps = self.n_steps if n_steps is None else n_steps
        if not (self.foreground if foreground is None else foreground):
            self.session.run(n_steps, reraise_interrupt=reraise_interrupt)
        else:
            self._run_here(n_steps, in_cell=True, reraise_interrupt=reraise_interrupt)

    def _run_here(self, n_steps: int | None, in_cell: bool, reraise_interrupt: bool = False) -> None:
        pump = kernel_events(in_cell=in_cell)
        if pump is None and "ipykernel" in sys.modules:
            self.message.value = ("<span style='color:#b00'>This kernel cannot handle the controls while a "
                                  "cell trains (ipykernel 7: use the background mode); they act after this run."
                                  "</span>")
        self._pump = pump or (lambda: None)
        next_refresh = time.perf_counter()

        def between() -> None:
            nonlocal next_refresh
            self._pump()
            if time.perf_counter() >= next_refresh:  # the status line, like the view's thread: every interval
                self.refresh(force=False)
                next_refresh = time.perf_counter() + self.interval

        try:
            run_here(self.session, n_steps, between, reraise_interrupt=reraise_interrupt)
        except Exception as exc:
            self.message.value = self._error_html(exc)
            raise
        finally:
            self._pump = None
            self.refresh()
            getattr(pump, "close", lambda: None)()

    # ------------------------------------------------------------------ controls -> knobs
    def _on_control(self, name: str):
        def handler(change: dict[str, Any]) -> None:
            try:
                self.session.set_knob(name, change["new"])
                self.message.value = ""
            except ValueError as exc:  # keep the old value, say why
                self.message.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"
                self.controls[name].value = change["old"]  # re-sets the knob to its own value: no-op
            self._sync_controls()
        return handler

    def _start(self) -> None:
        if self.session.running:
            self.message.value = "<span style='color:#b00'>Already training: press Stop first, then Start.</span>"
            return
        self.message.value = ""
        if self.foreground:  # trains inside this click's handler, in the kernel's main thread
            try:
                self._run_here(self.n_steps, in_cell=False)
            except Exception:  # already shown in the view: "Training stopped: ..."
                pass
            return
        self.session.start(self.n_steps)
        self._sync_buttons()

    def _act(self, action) -> None:
        action()
        self._sync_buttons()

    # ------------------------------------------------------------------ session -> view
    def _sync_controls(self) -> None:
        """Knobs set from code show up on their controls; knobs that do nothing now are hidden. Setting a
        control to the knob's own value calls the handler with an unchanged value, which records nothing."""
        knobs = self.session.knobs
        for name, widget in self.controls.items():
            value = knobs[name]
            if widget.value != value:
                widget.value = value
            shown = "" if knobs.visible(name) else "none"
            if widget.layout.display != shown:
                widget.layout.display = shown

    def _sync_buttons(self) -> None:
        """Only the buttons that would do something are enabled."""
        s = self.session
        enabled = {"Start": not s.running, "Pause": s.running and not s.paused, "Resume": s.paused,
                   "Stop": s.running}
        for label, on in enabled.items():
            if self.buttons[label].disabled == on:
                self.buttons[label].disabled = not on

    def status_text(self) -> str:
        """``step N — running, 150 steps/s · previews: step M`` (says when the previews lag behind)."""
        s = self.session
        text = f"<b>step {s.step}</b> — {s.status}"
        if s.status == "running" and s.steps_per_second:
            text += f", {s.steps_per_second:.0f} steps/s"
        shown = [d for d in self.drawn if d is not None]
        if shown and min(shown) < s.step:
            text += f" · previews show step {min(shown)}"
            text += " (drawing lags behind training)" if s.running else " (redrawing…)"
        return text

    def missing_previews(self) -> list[str]:
        """Names of the previews that have no picture yet (or whose drawing failed): empty means all appear."""
        return [p.name for i, p in enumerate(self.previews)
                if i in self.failed or not bytes(self.images[i].value).startswith(b"\x89PNG")]

    def _error_html(self, error: BaseException) -> str:
        return (f"<span style='color:#b00'><b>Training stopped:</b> {html.escape(str(error))} "
                f"Then press Start to continue from step {self.session.step}.</span>")

    def refresh(self, force: bool = True) -> None:
        """Update status, controls and buttons; redraw the previews if the step moved (and, unless
        ``force``, if the throttle allows it)."""
        s = self.session
        if s.error is not None:
            self.message.value = self._error_html(s.error)
        self._sync_controls()
        self._sync_buttons()
        if s.step != self._drawn_step and (force or time.perf_counter() >= self._next_draw):
            started = time.perf_counter()
            self._drawn_step = s.step
            for i, p in enumerate(self.previews):
                try:
                    png, step = p.render_at(s)
                except Exception as exc:  # a broken preview must not kill the view or the other previews
                    self.failed[i] = f"{type(exc).__name__}: {exc}"
                    continue
                self.failed.pop(i, None)
                self.images[i].value = png
                self.drawn[i] = step
            if self.failed:
                self.message.value = "<span style='color:#b00'>" + "<br>".join(
                    f"preview '{html.escape(self.previews[i].name)}' failed: {html.escape(e)}"
                    for i, e in self.failed.items()) + "</span>"
            self.redraws += 1
            took = time.perf_counter() - started
            self._next_draw = time.perf_counter() + max(self.interval, self.slowdown * took)
        self.status.value = self.status_text()

    def _refresh_loop(self) -> None:
        while not self._closed.wait(self.interval):
            if self._pump is not None:  # a foreground run draws from its own thread
                continue
            try:
                self.refresh(force=False)
            except Exception as exc:  # the view must keep refreshing
                self.message.value = f"<span style='color:#b00'>view refresh failed: {html.escape(str(exc))}</span>"

    def close(self) -> None:
        """Stop refreshing (waits for a redraw in progress) and close the widgets."""
        self._closed.set()
        if self._thread.is_alive():
            self._thread.join()
        super().close()
