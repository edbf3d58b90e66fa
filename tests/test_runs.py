"""The experiment core (ragteach/runs.py): one run record and one training loop for every lesson."""
import pickle

import pytest
import torch

from ragteach.data.toy2d import ring
from ragteach.gan.batched import BatchedGANTrainer
from ragteach.gan.models import toy_config
from ragteach.gan.train import GANTrainer, gan_knobs
from ragteach.live.session import TrainingSession
from ragteach.runs import Run, Schedule, train_runs


def _loss_d(trainer):
    return lambda: [{"loss_d": float(v)} for v in trainer.run_metrics["loss_d"].reshape(-1)]


def test_one_run_measured_at_every_evaluation_equals_the_same_steps_in_a_session():
    trainer = GANTrainer(toy_config(), ring().sample, batch_size=32, seed=3)
    run, = train_runs(trainer, [{"seed": 3}], 10, 4, _loss_d(trainer), knobs=gan_knobs())
    twin = GANTrainer(toy_config(), ring().sample, batch_size=32, seed=3)
    session = TrainingSession(twin, gan_knobs())
    session.run(10, progress=False)
    assert run.curve("step") == [4, 8, 10] and run.index is None and run["seed"] == 3
    assert run.curve("loss_d") == [session.history[i]["loss_d"] for i in (3, 7, 9)]
    assert all(row["s/step"] > 0 for row in run.history) and run.seconds > 0
    assert torch.equal(run.sample(20), twin.sample(20)) and trainer.transactional


def test_runs_of_a_batched_trainer_share_its_time_and_keep_their_own_rows():
    trainer = BatchedGANTrainer(toy_config(), ring().sample, [0, 1, 2], batch_size=32)
    runs = train_runs(trainer, [{"seed": s} for s in (0, 1, 2)], 6, 3, _loss_d(trainer))
    assert [r.index for r in runs] == [0, 1, 2] and len({r.curve("loss_d")[-1] for r in runs}) == 3
    assert torch.equal(runs[1].sample(20), trainer.sample(20)[1])
    assert runs[0].seconds == runs[2].seconds
    with pytest.raises(ValueError, match="one settings dict per run"):
        train_runs(trainer, [{"seed": 0}], 2, 1)


def test_the_schedule_lowers_every_learning_rate_knob_from_its_own_start():
    trainer = GANTrainer(toy_config(), ring().sample, batch_size=32, seed=0)
    seen = []
    train_runs(trainer, [{}], 8, 4, lambda: seen.append({n: o.param_groups[0]["lr"] for n, o in
                                                           trainer.optimizers.items()}) or [{}],
               knobs=gan_knobs(lr_g=2e-3, lr_d=1e-3), schedule=Schedule(1e-5, 0.5, "step"))
    assert seen == [{"G": 2e-3, "D": 1e-3}, {"G": 1e-5, "D": 1e-5}]


def test_a_stored_run_keeps_its_samples_when_its_trainer_is_not_kept():
    trainer = BatchedGANTrainer(toy_config(), ring().sample, [0, 1], batch_size=32)
    run = train_runs(trainer, [{}, {}], 2, 2)[1]
    run.samples, run.keep_trainer = run.sample(8), False
    stored = pickle.loads(pickle.dumps(run))
    assert stored.trainer is None and torch.equal(stored.sample(8), run.sample(8))
    with pytest.raises(ValueError, match="only 8 samples: ask for at most 8"):
        stored.sample(9)
    assert pickle.loads(pickle.dumps(Run({"a": 1}, trainer=trainer))).trainer is not None
    with pytest.raises(ValueError, match="kept no trainer, only 0 samples"):
        Run({}).sample(1)
