"""K runs of a GAN variant (λ term, RaSGAN, augmentations) in one vectorised step equal the runs trained alone."""
import pytest
import torch

from ragteach.data.digits import load_digits
from ragteach.gan.batched import BatchedGANTrainer
from ragteach.lessons.relative_augmentation import digits_config, digits_methods
from ragteach.gan.train import GANTrainer, gan_knobs, tensor_sampler
from ragteach.live.session import TrainingSession


METHODS = {**digits_methods(), "article's loss, λ=0.1, fixed x": {"g_loss": "article", "lam": 0.1, "pairing": "fixed"}}


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.usefixtures("float64")
def test_each_batched_run_equals_the_same_run_trained_alone(method):
    d = load_digits()
    sets = [d.x_train[:300].double(), d.train_fraction(0.1)[0].double()]   # runs on different training sets
    kw = dict(METHODS[method])
    knobs = gan_knobs(lam=kw.pop("lam", None), pairing=kw.pop("pairing", "random"), lam_max=1.0).snapshot()
    seeds = [3, 0]
    batched = BatchedGANTrainer(digits_config(), [tensor_sampler(x) for x in sets], seeds, batch_size=32,
                                distance_data=sets, **kw)
    alone = [GANTrainer(digits_config(), tensor_sampler(x), batch_size=32, seed=s, distance_data=x, **kw)
             for x, s in zip(sets, seeds)]
    for _ in range(6):
        m = batched(knobs)
        singles = [t(knobs) for t in alone]
    for i, t in enumerate(alone):
        assert torch.allclose(batched.sample(100)[i], t.sample(100), atol=1e-9), (method, i)
        for name in ("loss_d", "loss_g"):
            assert batched.run_metrics[name][i].item() == pytest.approx(singles[i][name], abs=1e-9)
    assert m["loss_g"] == pytest.approx(sum(s["loss_g"] for s in singles) / 2, abs=1e-9)
    assert not torch.allclose(batched.sample(100)[0], batched.sample(100)[1], atol=1e-3)   # runs differ


def test_checkpoint_round_trip_keeps_every_run_and_its_fixed_codes(tmp_path):
    d = load_digits()
    sets = [d.x_train[:200], d.x_train[200:300]]
    t = BatchedGANTrainer(digits_config(), [tensor_sampler(x) for x in sets], [0, 1], batch_size=16,
                          g_loss="article", distance_data=sets)
    session = TrainingSession(t, gan_knobs(lam=0.1, pairing="fixed", lam_max=1.0))
    session.run(3, progress=False)
    path = session.save(tmp_path / "v.pt")
    session.run(2, progress=False)
    after = t.sample(20)
    session.load(path)
    session.run(2, progress=False)
    assert torch.equal(t.sample(20), after)
    other = BatchedGANTrainer(digits_config(), tensor_sampler(d.x_train), [0, 1], batch_size=16,
                              distance_data=[d.x_train[:50], d.x_train[:50]])
    with pytest.raises(ValueError, match="fixed latent codes"):
        other.load_state_dict(t.state_dict())


def test_bad_input_says_what_to_change():
    d = load_digits()
    sample = tensor_sampler(d.x_train)
    with pytest.raises(ValueError, match="one training set per run"):
        BatchedGANTrainer(digits_config(), sample, [0, 1], distance_data=[d.x_train])
    with pytest.raises(ValueError, match=r"distance_data must have shape \(N, 64\)"):
        BatchedGANTrainer(digits_config(), sample, [0], distance_data=[torch.zeros(5, 3)])
    with pytest.raises(ValueError, match="objective"):
        BatchedGANTrainer(digits_config(), sample, [0], objective="wasserstein")
    with pytest.raises(ValueError, match="need the training sets"):
        BatchedGANTrainer(digits_config(), sample, [0], batch_size=8)(
            gan_knobs(lam=0.1, pairing="nearest", lam_max=1.0).snapshot())
