"""The live session without a browser: knobs reach steps, pause loses nothing, errors surface."""
import threading
import time

import pytest
import torch

from ragteach.data.toy2d import ring
from ragteach.gan.models import toy_config
from ragteach.gan.train import GANTrainer, gan_knobs
from ragteach.knobs import Knob, Knobs
from ragteach.live.session import TrainingError, TrainingSession


class Recorder:
    """A step function that records the knob values each step saw, and can be slowed down."""

    def __init__(self, delay: float = 0.0, fail_at: int | None = None):
        self.seen: list[dict] = []
        self.delay, self.fail_at = delay, fail_at

    def __call__(self, k):
        if self.fail_at is not None and len(self.seen) == self.fail_at:
            raise ValueError("shape mismatch in the toy step")
        self.seen.append(dict(k))
        time.sleep(self.delay)
        return {"loss": float(len(self.seen))}


def make(delay=0.0, **kw):
    rec = Recorder(delay, **kw)
    knobs = Knobs.of(Knob("p", 0.5, low=0.0, high=1.0), Knob("lam", 0.0, low=0.0, high=10.0))
    return TrainingSession(rec, knobs), rec


def test_blocking_run_counts_steps_and_records_history():
    s, rec = make()
    rows = s.run(5, progress=False)
    assert s.step == 5 and [r["step"] for r in rows] == [0, 1, 2, 3, 4]
    assert rows[0]["p"] == 0.5 and rows[-1]["loss"] == 5.0


def test_knob_change_reaches_the_next_step():
    s, rec = make()
    s.run(3, progress=False)
    s.set_knob("p", 0.9)
    s.run(1, progress=False)
    assert rec.seen[2]["p"] == 0.5 and rec.seen[3]["p"] == 0.9
    assert s.knobs.changes[-1].step == 3  # recorded at the first step that used it


def test_knob_change_during_background_run_takes_effect_within_one_step():
    s, rec = make(delay=0.01)
    s.start(None)
    time.sleep(0.05)
    s.set_knob("p", 0.25)
    changed_at = s.step  # the step running now may still see the old value ...
    time.sleep(0.1)
    s.stop()
    first = next(i for i, k in enumerate(rec.seen) if k["p"] == 0.25)
    assert first <= changed_at + 1  # ... but the one after it must see the new one
    assert all(k["p"] == 0.25 for k in rec.seen[first:])


def test_invalid_value_is_refused_and_the_run_goes_on_with_the_old_one():
    s, rec = make(delay=0.002)
    s.start(50)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\], got 1.5"):
        s.set_knob("p", 1.5)
    s.wait()
    assert s.step == 50 and all(k["p"] == 0.5 for k in rec.seen)


def test_pause_and_resume_lose_and_repeat_no_step():
    s, rec = make(delay=0.005)
    s.start(60)
    time.sleep(0.05)
    s.pause()
    time.sleep(0.05)
    paused_at = s.step
    time.sleep(0.05)
    assert s.step == paused_at and s.status == "paused"
    s.resume()
    s.wait()
    assert s.step == 60 and [r["step"] for r in s.history] == list(range(60))
    assert len(rec.seen) == 60


def test_stop_then_run_continues_the_step_count():
    s, rec = make(delay=0.002)
    s.start(None)
    time.sleep(0.03)
    s.stop()
    stopped = s.step
    s.run(5, progress=False)
    assert s.step == stopped + 5 and [r["step"] for r in s.history] == list(range(stopped + 5))


def test_exception_in_background_stops_run_and_is_reraised_by_wait():
    s, rec = make(fail_at=7)
    s.start(20)
    with pytest.raises(TrainingError, match="shape mismatch"):
        s.wait()
    assert s.step == 7 and len(s.history) == 7  # the last good step is kept
    s.step_fn.fail_at = None
    s.run(3, progress=False)  # and training can go on
    assert s.step == 10


def test_error_from_background_run_is_reraised_by_next_blocking_run():
    s, rec = make(fail_at=2)
    s.start(5)
    s._thread.join()
    assert s.status == "error"
    with pytest.raises(TrainingError, match="shape mismatch"):
        s.run(1, progress=False)


def test_nan_metric_stops_with_advice():
    s = TrainingSession(lambda k: {"loss_d": float("nan")})
    with pytest.raises(TrainingError, match="loss_d=nan is not finite.*lower the learning"):
        s.run(3, progress=False)
    assert s.step == 0 and s.history == []


def test_start_twice_is_refused():
    s, _ = make(delay=0.01)
    s.start(None)
    with pytest.raises(RuntimeError, match="already running"):
        s.start(5)
    s.stop()


def test_stress_many_knob_changes_from_another_thread():
    s, rec = make(delay=0.0005)
    s.start(400)
    errors, accepted = [], []

    def twiddle():
        for i in range(500):
            value = (i % 100) / 100
            try:
                s.set_knob("p", value)
                accepted.append(value)
                s.set_knob("lam", 100.0)  # always refused
            except ValueError:
                pass
            except Exception as exc:  # anything else is a bug
                errors.append(exc)

    threads = [threading.Thread(target=twiddle) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s.wait(timeout=30)
    assert not s.running, "deadlock: the run did not finish"
    assert errors == []
    assert s.step == 400 and [r["step"] for r in s.history] == list(range(400))
    assert all(k["lam"] == 0.0 for k in rec.seen)
    assert s.knobs["p"] == accepted[-1] or s.knobs["p"] in accepted


def gan_session(seed=0):
    mix = ring()
    trainer = GANTrainer(toy_config(), mix.sample, batch_size=64, seed=seed)
    return TrainingSession(trainer, gan_knobs()), trainer


def test_checkpoint_round_trip_gives_identical_next_losses(tmp_path):
    s, _ = gan_session()
    s.run(20, progress=False)
    s.set_knob("lr_d", 5e-4)
    path = s.save(tmp_path / "ckpt.pt")
    torch.load(path, weights_only=True)  # loads without pickle's arbitrary code
    expected = s.run(5, progress=False)

    fresh, _ = gan_session(seed=99)  # different weights and random state
    fresh.load(path)
    assert fresh.step == 20 and fresh.knobs["lr_d"] == 5e-4 and len(fresh.history) == 20
    got = fresh.run(5, progress=False)
    assert [r["loss_d"] for r in got] == [r["loss_d"] for r in expected]
    assert [r["loss_g"] for r in got] == [r["loss_g"] for r in expected]


def test_nan_loss_in_gan_keeps_last_good_weights():
    s, trainer = gan_session()
    s.run(3, progress=False)
    before = [p.clone() for p in trainer.D.parameters()]
    with torch.no_grad():
        trainer.G.net[0].weight.fill_(float("nan"))
    with pytest.raises(TrainingError, match="loss of D is nan at step 3; no update of this step was applied"):
        s.run(1, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, trainer.D.parameters()))
    assert s.step == 3


def test_periodic_metrics_are_merged_every_n_steps():
    from ragteach.training import with_periodic_metrics
    calls = []
    step = with_periodic_metrics(lambda k: {"loss": 1.0}, 3, lambda: calls.append(1) or {"score": len(calls)})
    s = TrainingSession(step)
    s.run(7, progress=False)
    assert s.series("score") == ([2, 5], [1, 2]) and len(s.metric("loss")) == 7
    with pytest.raises(ValueError, match="every"):
        with_periodic_metrics(step, 0, dict)


def test_metric_named_like_a_knob_is_refused():
    s = TrainingSession(lambda k: {"p": 0.3}, Knobs.of(Knob("p", 0.5, low=0.0, high=1.0)))
    with pytest.raises(TrainingError, match=r"\['p'\] are also knob names"):
        s.run(1, progress=False)


def test_wait_for_step_blocks_until_the_run_gets_there_or_ends():
    s, rec = make(delay=0.002)
    s.start(None)
    s.wait_for_step(10)
    assert s.step >= 10 and s.running
    s.set_knob("p", 0.75)                # a scripted slider move at a known point of the run
    s.wait_for_step(s.step + 5)
    s.stop()
    first = next(i for i, k in enumerate(rec.seen) if k["p"] == 0.75)
    assert first >= 10 and all(k["p"] == 0.75 for k in rec.seen[first:])
    s.wait_for_step(10_000)              # no run under way: returns at once instead of hanging
    with pytest.raises(ValueError, match="step must be"):
        s.wait_for_step(-1)


def test_wait_for_step_reraises_a_training_error():
    s, _ = make(delay=0.001, fail_at=5)
    s.start(50)
    with pytest.raises(TrainingError, match="shape mismatch"):
        s.wait_for_step(40)


# ---------------------------------------------------------------------------- Ctrl-C, status, knob records
@pytest.fixture
def ctrl_c_raises():
    """Ctrl-C raises KeyboardInterrupt, as in Jupyter's kernel, even when the test runner started with SIGINT
    ignored (a background job of a non-interactive shell inherits SIG_IGN)."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_in_run_stops_cleanly_and_the_next_run_takes_exactly_its_steps(ctrl_c_raises):
    """KeyboardInterrupt raised in the waiting (main) thread, as Ctrl-C or Jupyter's stop button does."""
    import _thread

    s, rec = make(delay=0.002)
    timer = threading.Timer(0.2, _thread.interrupt_main)
    timer.start()
    s.run(100_000, progress=False)
    timer.join()
    stopped_at = s.step
    assert 0 < stopped_at < 100_000 and not s.running and s.status == "stopped"
    time.sleep(0.05)
    assert s.step == stopped_at == len(rec.seen)  # no step after run() returned
    s.run(50, progress=False)
    assert s.step == stopped_at + 50 == len(rec.seen) and s.status == "finished"
    assert [r["step"] for r in s.history] == list(range(s.step))


def test_an_experiment_interrupted_in_run_stops_there_instead_of_going_on_shorter(ctrl_c_raises, capsys):
    """reraise_interrupt=True: the same clean stop (all state kept), then KeyboardInterrupt again, so that an
    experiment's table never reports a run that trained fewer steps than it says."""
    import _thread

    s, rec = make(delay=0.002)
    timer = threading.Timer(0.2, _thread.interrupt_main)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        s.run(100_000, progress=False, reraise_interrupt=True)
    timer.join()
    assert 0 < s.step < 100_000 and s.status == "stopped" and s.step == len(rec.seen)
    assert "nothing is lost" not in capsys.readouterr().out   # no "call run() again": the experiment stopped


def test_status_tells_not_started_from_finished_and_stopped():
    s, _ = make(delay=0.002)
    assert s.status == "not started"
    s.run(3, progress=False)
    assert s.status == "finished"
    s.start(None)
    s.stop()
    assert s.status == "stopped"
    with pytest.raises(ValueError):
        s.start(True)


def test_second_start_while_running_is_refused_with_a_message_about_stop():
    s, _ = make(delay=0.01)
    s.start(None)
    try:
        with pytest.raises(RuntimeError, match="already running: stop it"):
            s.start(5)
    finally:
        s.stop()


def test_knob_changes_within_one_step_coalesce_and_a_round_trip_leaves_no_record():
    s, rec = make()
    s.run(2, progress=False)
    for v in (0.1, 0.2, 0.3, 0.9):
        s.set_knob("p", v)
    assert [(c.step, c.old, c.new) for c in s.knobs.changes] == [(2, 0.5, 0.9)]
    s.set_knob("p", 0.5)  # back to what step 2 would have used anyway
    assert list(s.knobs.changes) == []
    s.set_knob("p", 0.7)
    s.run(1, progress=False)
    s.set_knob("p", 0.6)
    assert [(c.step, c.new) for c in s.knobs.changes] == [(2, 0.7), (3, 0.6)]
