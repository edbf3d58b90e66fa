"""The widget layer without a browser: controls are bound to knobs and previews redraw."""
import time

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
    session = TrainingSession(trainer, gan_knobs(), state={"gan": trainer})
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
    time.sleep(0.2)
    view.buttons["Pause"].click()
    time.sleep(0.1)
    paused = view.session.step
    assert view.session.status == "paused"
    view.buttons["Resume"].click()
    time.sleep(0.2)
    view.buttons["Stop"].click()
    assert view.session.step > paused and not view.session.running


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
    session = TrainingSession(trainer, gan_knobs(), state={"gan": trainer})
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
    from ragteach.gpt.random_activation import activation_knobs

    session = TrainingSession(lambda k: {"loss": 1.0}, activation_knobs())
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
