"""The widget layer without a browser: controls are bound to knobs and previews redraw."""
import time
from typing import Callable

import pytest

pytest.importorskip("ipywidgets")

from ragteach.data.toy2d import ring
from ragteach.gan.models import toy_config
from ragteach.gan.plots import toy_preview
from ragteach.gan.train import GANTrainer, gan_knobs
from ragteach.knobs import Knob, Knobs
from ragteach.live.preview import history_preview
from ragteach.live.session import TrainingSession
from ragteach.live.widgets import LiveView, knob_widget

PNG = b"\x89PNG"


@pytest.fixture
def view():
    mix = ring()
    trainer = GANTrainer(toy_config(), mix.sample, batch_size=32)
    session = TrainingSession(trainer, gan_knobs())
    v = LiveView(session, [toy_preview(trainer, mix), history_preview(["loss_d", "loss_g"])],
                 interval=0.05, slowdown=0.0)
    yield v
    v.session.stop()
    v.close()


def test_slider_range_is_the_knob_range():
    w = knob_widget(Knob("p", 0.8, low=0.0, high=1.0))
    assert (w.min, w.max) == (0.0, 1.0)
    w.value = 1.5  # a slider clamps: it cannot even offer an invalid value
    assert w.value == 1.0
    lr = knob_widget(Knob("lr", 1e-3, low=0.0, high=0.1, low_open=True, log=True))
    assert 10 ** lr.min > 0
    assert knob_widget(Knob("k", 2, low=1, high=5, kind="int")).max == 5
    assert knob_widget(Knob("c", "a", kind="choice", choices=("a", "b"))).options == ("a", "b")


def test_moving_a_slider_sets_the_knob_and_code_moves_the_slider(view):
    view.controls["lr_d"].value = 1e-4
    assert view.session.knobs["lr_d"] == pytest.approx(1e-4)
    view.session.set_knob("d_steps", 3)
    view.refresh()
    assert view.controls["d_steps"].value == 3


def test_refused_value_shows_message_and_restores_control():
    knobs = Knobs.of(Knob("p", 0.5, low=0.0, high=1.0))
    session = TrainingSession(lambda k: {"loss": 1.0}, knobs)
    v = LiveView(session)
    handler = v._on_control("p")
    handler({"old": 0.5, "new": 7.0})
    assert "p must be in [0, 1], got 7" in v.message.value and session.knobs["p"] == 0.5
    v.close()


def test_previews_change_while_training_runs(view):
    first = bytes(view.images[0].value)
    assert first.startswith(PNG)
    view.session.start(None)
    deadline = time.time() + 60
    while view.redraws < 3 and time.time() < deadline:
        time.sleep(0.05)
    view.session.stop()
    assert view.redraws >= 3, "the preview did not redraw while training ran"
    assert bytes(view.images[0].value) != first
    view.refresh()
    assert f"step {view.session.step}" in view.status.value


def test_throttle_limits_redraws():
    trainer = GANTrainer(toy_config(), ring().sample, batch_size=32)
    session = TrainingSession(trainer, gan_knobs())
    v = LiveView(session, [history_preview(["loss_d"])], interval=0.05, slowdown=1000.0)
    session.start(None)
    time.sleep(1.0)
    session.stop()
    v.close()
    assert v.redraws <= 2  # the first draw at construction, then at most one more in the window


def test_buttons_drive_the_session(view):
    view.buttons["Start"].click()
    view.session.wait_for_step(1)          # waits for steps, not for time: a loaded machine only takes longer
    view.buttons["Pause"].click()
    assert view.session.status == "paused"
    paused = view.session.step             # the step under way when Pause was clicked may still finish
    view.buttons["Resume"].click()
    view.session.wait_for_step(paused + 2)
    view.buttons["Stop"].click()
    assert view.session.step > paused + 1 and not view.session.running


def test_training_error_is_shown_in_the_view():
    session = TrainingSession(lambda k: {"loss": float("nan")})
    v = LiveView(session)
    session.start(1)
    session._finished.wait(10)
    v.refresh()
    assert "Training stopped" in v.message.value and "not finite" in v.message.value
    v.close()


def test_every_preview_appears_even_when_two_share_a_name():
    """Notebook 02's third preview never showed: previews were keyed by name and two were 'history'."""
    trainer = GANTrainer(toy_config(), ring().sample, batch_size=32)
    session = TrainingSession(trainer, gan_knobs())
    same = [history_preview(["loss_d"]), history_preview(["loss_g"])]
    assert same[0].name == same[1].name
    v = LiveView(session, [toy_preview(trainer, ring()), *same])
    session.run(3, progress=False)
    v.refresh()
    assert len(v.images) == 3 and v.missing_previews() == []
    assert len({bytes(i.value) for i in v.images}) == 3
    v.close()


def test_a_failing_preview_is_reported_and_the_others_still_draw():
    from ragteach.live.preview import Preview

    session = TrainingSession(lambda k: {"loss": 1.0})
    broken = Preview("broken", lambda s: 1 / 0, lambda d: None)
    v = LiveView(session, [history_preview(["loss"]), broken])
    assert v.missing_previews() == ["broken"] and "ZeroDivisionError" in v.message.value
    assert bytes(v.images[0].value).startswith(PNG)
    v.close()


def test_buttons_are_enabled_only_when_they_do_something_and_status_names_the_state(view):
    b = view.buttons
    assert "not started" in view.status.value
    assert [not b[x].disabled for x in ("Start", "Pause", "Resume", "Stop")] == [True, False, False, False]
    b["Start"].click()
    assert [not b[x].disabled for x in ("Start", "Pause", "Resume", "Stop")] == [False, True, False, True]
    b["Pause"].click()
    assert [not b[x].disabled for x in ("Start", "Pause", "Resume", "Stop")] == [False, False, True, True]
    b["Stop"].click()
    view.refresh()
    assert "stopped" in view.status.value and not b["Start"].disabled and b["Stop"].disabled
    view.session.run(2, progress=False)
    view.refresh()
    assert "finished" in view.status.value


def test_start_while_running_speaks_of_buttons(view):
    view.session.start(None)
    try:
        view._start()
        assert "press Stop first" in view.message.value and "()" not in view.message.value
    finally:
        view.session.stop()


def test_knobs_that_do_nothing_now_are_hidden():
    from ragteach.gpt.random_activation import activation_knob_list

    session = TrainingSession(lambda k: {"loss": 1.0}, Knobs.of(*activation_knob_list()))
    v = LiveView(session)
    assert v.controls["alpha"].layout.display == "none" and v.controls["p"].layout.display == ""
    v.controls["source"].value = "beta"
    assert v.controls["alpha"].layout.display == "" and v.controls["p"].layout.display == "none"
    v.close()


def test_preview_titles_show_the_knob_value_the_model_was_trained_with():
    from ragteach.live.preview import trained_with

    knobs = Knobs.of(Knob("lam", 0.0, low=0.0, high=1.0))
    session = TrainingSession(lambda k: {"loss": 1.0}, knobs)
    assert trained_with(session, "lam") == 0.0
    session.run(2, progress=False)
    session.set_knob("lam", 0.7)  # the slider moved, but no step has used it yet
    assert trained_with(session, "lam") == 0.0
    session.run(1, progress=False)
    assert trained_with(session, "lam") == 0.7


def test_status_says_when_previews_lag():
    session = TrainingSession(lambda k: {"loss": 1.0})
    v = LiveView(session, [history_preview(["loss"])], interval=60)
    session.run(5, progress=False)
    v.status.value = v.status_text()
    assert "previews show step 0" in v.status.value
    v.refresh()
    assert "previews show" not in v.status.value
    v.close()


def test_many_knob_changes_are_thinned_on_the_loss_plot():
    from ragteach.live.preview import MAX_MARKERS, thin_changes
    from ragteach.knobs import KnobChange

    changes = [KnobChange(step, "lr", 0.1, 0.2 + step) for step in range(1000)]
    kept, total = thin_changes(changes)
    assert total == 1000 and len(kept) == MAX_MARKERS and 0 in kept and 999 in kept


def test_live_view_displays_a_re_run_hint_beside_itself(view, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell
    from ragteach.live.widgets import STALE_HINT

    shell = InteractiveShell.instance()
    outputs = []
    monkeypatch.setattr(shell.display_pub, "publish", lambda data, **kw: outputs.append(data))
    view._ipython_display_()
    assert "ragteach-stale-hint" in outputs[0]["text/html"] and "run this cell" in STALE_HINT
    assert "application/vnd.jupyter.widget-view+json" in outputs[1]


# ----------------------------------------------------------------------------- foreground mode
def _recording_sends(monkeypatch) -> list[str]:
    """Widgets created after this get a comm that records the thread of every message sent on it (its
    comm_open, state updates, images, echoes) as a kernel's comm would send it (ipywidgets 7 and 8)."""
    import threading
    import uuid

    import ipywidgets.widgets.widget as widget_module

    threads: list[str] = []
    base = getattr(widget_module, "Comm", object)  # ipywidgets 7 checks that a comm is ipykernel's Comm

    class RecordingComm(base):
        kernel = "recording"  # ipywidgets sends only on a comm that has a kernel

        def __init__(self, *args, **kwargs) -> None:
            self.comm_id = kwargs.get("comm_id") or uuid.uuid4().hex
            self.send()  # the comm_open message

        def send(self, data=None, metadata=None, buffers=None) -> None:
            threads.append(threading.current_thread().name)

        def on_msg(self, callback) -> None:
            pass

        on_close = on_msg

        def close(self, *args, **kwargs) -> None:
            pass

    if base is not object:  # ipywidgets 7
        monkeypatch.setattr(widget_module, "Comm", RecordingComm)
    else:                               # ipywidgets 8
        monkeypatch.setattr(widget_module.comm, "create_comm", RecordingComm)
    return threads


def _scripted_events(monkeypatch, view, script: dict[int, Callable]) -> list[str]:
    """Stand in for the kernel's event handling: at step s, ``script[s](view)`` runs in the thread that polls
    (as a slider move or a click arriving from the browser would); returns the statuses seen while polling."""
    import ragteach.live.widgets as widgets

    seen: list[str] = []

    def pump() -> None:
        seen.append(view.session.status)
        action = script.pop(view.session.step, None)
        if action is not None:
            action(view)

    monkeypatch.setattr(widgets, "kernel_events", lambda **kw: pump)
    return seen


def _gan_view(foreground: bool) -> LiveView:
    mix = ring()
    trainer = GANTrainer(toy_config(), mix.sample, batch_size=32, seed=0)
    session = TrainingSession(trainer, gan_knobs())
    return LiveView(session, [toy_preview(trainer, mix), history_preview(["loss_d", "loss_g"])],
                    interval=0.0, slowdown=0.0, foreground=foreground)


def test_foreground_run_sends_every_widget_message_from_the_main_thread(monkeypatch):
    threads = _recording_sends(monkeypatch)
    view = _gan_view(foreground=True)
    first = bytes(view.images[0].value)
    paused_polls = []

    def pause(v):
        v.buttons["Pause"].click()
        script[8] = resume_later

    def resume_later(v):  # poll five times while paused (the step does not move), then press Resume
        paused_polls.append(v.session.status)
        if len(paused_polls) < 5:
            script[8] = resume_later
        else:
            v.buttons["Resume"].click()

    script = {5: lambda v: setattr(v.controls["lr_d"], "value", 1e-4), 8: pause,
              15: lambda v: v.buttons["Stop"].click()}
    seen = _scripted_events(monkeypatch, view, script)
    del threads[:]
    view.run(40)
    rows = view.session.history
    assert threads and set(threads) == {"MainThread"}, f"widget messages sent from {sorted(set(threads))}"
    assert not view._thread.is_alive(), "a foreground view must not start its preview thread"
    s = view.session
    assert [r["lr_d"] for r in rows[:5]] == [1e-3] * 5 and rows[5]["lr_d"] == 1e-4   # same knob history
    assert [(c.name, c.new, c.step) for c in s.knobs.changes] == [("lr_d", 1e-4, 5)]
    assert paused_polls == ["paused"] * 5 and seen.count("paused") >= 5
    assert len(rows) == s.step == 15 and s.status == "stopped"   # Stop arrived after step 15
    assert bytes(view.images[0].value) != first and f"step {s.step}" in view.status.value
    view.close()


def test_background_run_sends_from_other_threads_which_the_recorder_sees(monkeypatch):
    """The recorder above can fail: in the background mode the view's own thread sends the redraws."""
    threads = _recording_sends(monkeypatch)
    view = _gan_view(foreground=False)
    view.run(200)
    view.close()
    assert "ragteach-preview" in threads


def test_foreground_refuses_a_bad_knob_value_as_the_background_does(monkeypatch):
    view = _gan_view(foreground=True)
    _scripted_events(monkeypatch, view, {2: lambda v: v._on_control("label_flip")({"old": 0.0, "new": 7.0})})
    view.run(4)
    assert "label_flip must be" in view.message.value and view.session.knobs["label_flip"] == 0.0
    assert view.session.status == "finished" and len(view.session.history) == 4
    view.close()


@pytest.mark.parametrize("reraise", [False, True])
def test_ctrl_c_in_the_foreground_stops_between_two_steps(reraise, capsys):
    import signal

    def step(knobs):
        if len(session.history) == 3:
            signal.raise_signal(signal.SIGINT)  # Ctrl-C in the middle of step 3: the step still completes
        return {"loss": 1.0}

    session = TrainingSession(step)
    view = LiveView(session, foreground=True)
    if reraise:
        with pytest.raises(KeyboardInterrupt):
            view.run(10, reraise_interrupt=True)
    else:
        view.run(10)
        assert "Interrupted after step 4; nothing is lost" in capsys.readouterr().out
    assert session.step == len(session.history) == 4 and session.status == "stopped"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is put back
    view.run(2)                                                             # and training continues
    assert session.step == 6 and session.status == "finished"
    view.close()


def test_a_failed_foreground_step_is_shown_and_raised_and_start_runs_in_the_foreground():
    from ragteach.live.session import TrainingError

    session = TrainingSession(lambda k: {"loss": float("nan")})
    view = LiveView(session, foreground=True)
    with pytest.raises(TrainingError, match="not finite"):
        view.run(3)
    assert "Training stopped" in view.message.value and session.status != "running"
    ok = TrainingSession(lambda k: {"loss": 1.0})
    button_view = LiveView(ok, n_steps=5, foreground=True)
    button_view.buttons["Start"].click()  # trains inside the click's handler
    assert ok.step == 5 and ok.status == "finished" and not button_view.buttons["Start"].disabled
    view.close()
    button_view.close()


def test_colab_gets_the_foreground_mode(monkeypatch):
    import sys
    import types

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert LiveView(TrainingSession(lambda k: {"loss": 1.0})).foreground
    monkeypatch.delitem(sys.modules, "google.colab")
    assert not LiveView(TrainingSession(lambda k: {"loss": 1.0})).foreground
