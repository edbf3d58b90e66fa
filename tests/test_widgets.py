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
    first = bytes(view.images["samples"].value)
    assert first.startswith(PNG)
    view.session.start(None)
    deadline = time.time() + 60
    while view.redraws < 3 and time.time() < deadline:
        time.sleep(0.05)
    view.session.stop()
    assert view.redraws >= 3, "the preview did not redraw while training ran"
    assert bytes(view.images["samples"].value) != first
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
    session._thread.join()
    v.refresh()
    assert "Training stopped" in v.message.value and "not finite" in v.message.value
    v.close()
