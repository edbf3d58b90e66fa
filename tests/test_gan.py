import math

import pytest
import torch
import torch.nn.functional as F

from ragteach.data.digits import load_digits
from ragteach.data.toy2d import grid, ring
from ragteach.gan import randomize
from ragteach.gan.losses import d_loss, g_loss_minimax, g_loss_non_saturating
from ragteach.gan.models import Discriminator, GANConfig, article_digits_config, toy_config
from ragteach.gan.train import GANTrainer, gan_knobs, tensor_sampler
from ragteach.live.session import TrainingSession
from ragteach.metrics.modes import mode_stats


def test_losses_match_their_formulas_in_probabilities():
    real_logits, fake_logits = torch.tensor([2.0, -0.5]), torch.tensor([-1.0, 0.3])
    dr, df = torch.sigmoid(real_logits), torch.sigmoid(fake_logits)
    assert torch.allclose(d_loss(real_logits, fake_logits), -dr.log().mean() - (1 - df).log().mean())
    assert torch.allclose(g_loss_non_saturating(fake_logits), -df.log().mean())
    assert torch.allclose(g_loss_minimax(fake_logits), (1 - df).log().mean())


def test_d_loss_with_soft_targets_is_cross_entropy():
    r, f = torch.tensor([1.0]), torch.tensor([-1.0])
    got = d_loss(r, f, 0.9, 0.0)
    want = F.binary_cross_entropy(torch.sigmoid(r), torch.tensor([0.9])) + F.binary_cross_entropy(
        torch.sigmoid(f), torch.tensor([0.0]))
    assert torch.allclose(got, want)


def test_losses_stay_finite_when_d_is_certain():
    huge = torch.tensor([80.0])
    assert torch.isfinite(d_loss(huge, -huge)) and torch.isfinite(g_loss_non_saturating(-huge))


def test_packing_concatenates_consecutive_samples():
    D = Discriminator(GANConfig(data_dim=2, pack=4))
    assert D(torch.randn(12, 2)).shape == (3,)
    with pytest.raises(ValueError, match="multiple of pack=4"):
        D(torch.randn(10, 2))


def test_article_digits_config_outputs_images_in_range():
    from ragteach.gan.models import Generator
    G = Generator(article_digits_config())
    x = G(torch.randn(5, 100))
    assert x.shape == (5, 64) and x.abs().max() <= 1


def test_mixtures_follow_pacgan_protocol():
    r, g = ring(), grid()
    assert r.n_modes == 8 and r.std == 0.01 and torch.allclose(r.centers.norm(dim=1), torch.ones(8))
    assert g.n_modes == 25 and g.std == 0.05 and set(g.centers[:, 0].tolist()) == {-4, -2, 0, 2, 4}
    x = r.sample(2500, torch.Generator().manual_seed(0))
    stats = mode_stats(x, r)
    assert stats.modes_captured == 8 and stats.high_quality > 0.98  # P(r ≤ 3σ) = 1 − exp(−4.5) ≈ 98.9 % in 2D


def test_randomize_helpers():
    assert randomize.annealed_std(0.5, 50, 100) == 0.25 and randomize.annealed_std(0.5, 200, 100) == 0.0
    assert randomize.annealed_std(0.5, 10, 0) == 0.5
    t = randomize.targets(10_000, 0.9, 0.2, torch.Generator().manual_seed(0))
    assert abs((t < 0.5).float().mean().item() - 0.2) < 0.02 and torch.allclose(t[t < 0.5], torch.tensor(0.1))
    with pytest.raises(ValueError, match="flip_prob"):
        randomize.targets(3, 1.0, 1.5)


def test_trainer_refuses_bad_arguments():
    with pytest.raises(ValueError, match="g_loss"):
        GANTrainer(toy_config(), ring().sample, g_loss="wasserstein")
    with pytest.raises(ValueError, match="multiple of pack=4"):
        GANTrainer(toy_config(pack=4), ring().sample, batch_size=10)
    with pytest.raises(ValueError, match=r"non-empty \(N, D\)"):
        tensor_sampler(torch.zeros(0, 2))


def test_knobs_change_the_optimiser_and_the_number_of_d_steps():
    trainer = GANTrainer(toy_config(), ring().sample, batch_size=32)
    s = TrainingSession(trainer, gan_knobs())
    s.set_knob("lr_d", 3e-4)
    s.run(1, progress=False)
    assert trainer.optimizers["D"].param_groups[0]["lr"] == 3e-4
    before = trainer.optimizers["D"].state[trainer.optimizers["D"].param_groups[0]["params"][0]]["step"].item()
    s.set_knob("d_steps", 3)
    s.run(1, progress=False)
    after = trainer.optimizers["D"].state[trainer.optimizers["D"].param_groups[0]["params"][0]]["step"].item()
    assert after - before == 3


def test_training_on_the_ring_learns_real_structure():
    """A fixed-seed learning test: from ≤ 1 mode at init to (nearly) the whole ring, sharp samples."""
    from ragteach.gan.experiments import final, train_toy

    mix = ring()
    untrained = GANTrainer(toy_config(), mix.sample, batch_size=128, seed=0)
    assert mode_stats(untrained.sample(2500), mix).modes_captured <= 1
    run = train_toy(mix, steps=1600, eval_every=400, sharpen_lr=1e-4, lr_g=1e-3, lr_d=1e-3, seed=0)
    modes, hq = final(run)
    assert modes >= 7 and hq > 0.5, (modes, hq)  # measured here: 8 modes, ~80 % high quality


def test_digits_load_offline_in_range():
    d = load_digits()
    assert d.x_train.shape[1] == 64 and len(d.x_train) + len(d.x_test) == 1797
    assert d.x_train.min() == -1 and d.x_train.max() == 1
    assert sorted(set(d.y_test.tolist())) == list(range(10))
    with pytest.raises(ValueError, match="test_fraction"):
        load_digits(test_fraction=1.5)


def test_train_fraction_is_stratified():
    d = load_digits()
    x, y = d.train_fraction(0.1)
    assert abs(len(x) - 0.1 * len(d.x_train)) < 1 and sorted(set(y.tolist())) == list(range(10))
    with pytest.raises(ValueError, match="fraction"):
        d.train_fraction(0.0)
