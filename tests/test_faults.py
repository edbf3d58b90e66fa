"""Faults found by probing the public API from outside, as a learner, a teacher and a careless script would:
each case here failed (a thread left training, silent training on bad data, a grading run one file could stop,
or an error that did not say what to change) before it was fixed."""
import _thread
import threading
import time

import numpy as np
import pytest
import torch

from ragteach.knobs import Knob, Knobs
from ragteach.live.session import TrainingError, TrainingSession
from tests.test_session import ctrl_c_raises, make  # noqa: F401  (ctrl_c_raises is a fixture)


# ---------------------------------------------------------------------------- 1. Ctrl-C in the first milliseconds
def test_ctrl_c_at_any_point_of_run_leaves_no_thread_and_the_next_run_takes_exactly_its_steps(ctrl_c_raises):
    """The interrupt lands 2 ms into run(): often inside Thread.start(). 40 tries, each must end with no
    thread training, and run(3) afterwards must take exactly 3 steps."""
    s, rec = make(delay=0.002)
    for _ in range(40):
        timer = threading.Timer(0.002, _thread.interrupt_main)
        try:
            timer.start()
            s.run(200, progress=False)
        except KeyboardInterrupt:  # it may land before run() began (even in timer.start()): nothing started
            pass
        timer.join()
        assert not s.running
        stopped_at = s.step
        time.sleep(0.01)
        assert s.step == stopped_at == len(rec.seen)  # nothing trains unattended
        s.run(3, progress=False)
        assert s.step == stopped_at + 3 == len(rec.seen) and s.status == "finished"
    assert [r["step"] for r in s.history] == list(range(s.step))
    assert not [t for t in threading.enumerate() if t.name == "ragteach-training" and t.is_alive()
                and t is not s._thread]


# ---------------------------------------------------------------------------- 2. one throttled path for every setter
@pytest.mark.parametrize("setter", ["knobs.set", "knobs[name]", "knobs.update", "session.set_knob"])
def test_every_knob_setter_waits_while_training_runs(monkeypatch, setter):
    """A loop hammering any setter must leave the training thread the interpreter lock: each change made
    while the session runs waits (1 ms); none waits while it does not run."""
    import ragteach.knobs as K

    s, _ = make(delay=0.001)
    waits = []
    monkeypatch.setattr(K, "_yield_to_training", lambda: waits.append(1))
    set_it = {"knobs.set": lambda v: s.knobs.set("p", v),
              "knobs[name]": lambda v: s.knobs.__setitem__("p", v),
              "knobs.update": lambda v: s.knobs.update(p=v),
              "session.set_knob": lambda v: s.set_knob("p", v)}[setter]
    set_it(0.1)
    assert waits == []
    s.start(None)
    s.pause()
    try:
        for v in (0.2, 0.3, 0.4):
            set_it(v)
    finally:
        s.stop()
    assert waits == [1] * 3


# ---------------------------------------------------------------------------- unclear errors: session and knobs
def test_knobs_take_numpy_scalars_and_refuse_huge_ints_with_a_value_error():
    knobs = Knobs.of(Knob("lam", 0.5, low=0.0, high=10.0), Knob("d_steps", 1, low=1, high=10, kind="int"),
                     Knob("lr_g", 1e-3, low=0.0, high=1.0, low_open=True), Knob("ema", True, kind="bool"))
    knobs.set("lam", np.float32(3))
    knobs.set("d_steps", np.int64(4))
    knobs.set("ema", np.bool_(False))
    assert knobs["lam"] == 3.0 and knobs["d_steps"] == 4 and knobs["ema"] is False
    for name, value in (("lam", 10**400), ("d_steps", 10**400), ("lr_g", -10**400)):
        with pytest.raises(ValueError, match=f"{name} must be a finite number"):
            knobs.set(name, value)
    with pytest.raises(ValueError, match="lam must be a number"):
        knobs.set("lam", np.bool_(True))  # a bool is never a number of a numeric knob


def test_a_knob_whose_low_is_above_its_high_says_so():
    with pytest.raises(ValueError, match="low=1 is above high=0; swap them"):
        Knob("x", 0.5, low=1, high=0)


def test_run_takes_a_numpy_whole_number():
    s, _ = make()
    s.run(np.int64(3), progress=False)
    assert s.step == 3


def test_a_session_needs_a_step_function_and_a_dict_of_numbers_from_it():
    with pytest.raises(TypeError, match="step_fn must be a function"):
        TrainingSession(None)
    with pytest.raises(TrainingError, match="returned None; it must return a dict of metrics"):
        TrainingSession(lambda k: None).run(1, progress=False)
    for value in ("abc", torch.ones(2)):
        s = TrainingSession(lambda k, v=value: {"loss": v})
        with pytest.raises(TrainingError, match="the metric 'loss' is .* not a number"):
            s.run(1, progress=False)
        assert s.step == 0 and s.history == []


def test_loading_a_file_that_is_not_a_checkpoint_says_so(tmp_path):
    s, _ = make()
    empty, text = tmp_path / "empty.pt", tmp_path / "notes.txt"
    empty.write_bytes(b"")
    text.write_text("experiment notes\n")
    for path in (empty, text):
        with pytest.raises(ValueError, match="is not a session checkpoint"):
            s.load(path)


def test_saving_to_a_folder_names_the_fix(tmp_path):
    s, _ = make()
    with pytest.raises(IsADirectoryError, match="is a folder; give a file name"):
        s.save(tmp_path)


def test_a_checkpoint_with_a_bad_history_or_step_changes_nothing():
    from ragteach.data.toy2d import ring
    from ragteach.gan.models import toy_config
    from ragteach.gan.train import GANTrainer, gan_knobs

    trainer = GANTrainer(toy_config(), ring().sample, seed=0)
    s = TrainingSession(trainer, gan_knobs(), state={"trainer": trainer})
    s.run(5, progress=False)
    ckpt = s.checkpoint()
    with pytest.raises(ValueError, match="history must be a list of rows"):
        s.restore({**ckpt, "history": [1, 2, 3]})
    with pytest.raises(ValueError, match="step is 1000000000 but its 'trainer' state has taken 5 steps"):
        s.restore({**ckpt, "step": 10**9})
    assert s.step == trainer.steps == 5 and len(s.history) == 5
