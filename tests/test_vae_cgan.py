import pytest
import torch

from ragteach.data.digits import load_digits
from ragteach.gan.conditional import CGANTrainer, CondGenerator, cgan_knobs
from ragteach.gan.models import article_mnist_config
from ragteach.live.session import TrainingSession
from ragteach.metrics.samples import DigitJudge
from ragteach.vae.model import VAE, VAEConfig, kl_to_standard_normal, reparameterize
from ragteach.vae.train import VAETrainer, vae_knobs


def test_kl_matches_closed_form_and_is_nonnegative():
    mu, logvar = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, torch.log(torch.tensor(4.0))]])
    # KL(N(1,1)||N(0,1)) = 0.5 ; KL(N(0,4)||N(0,1)) = 0.5(4 − 1 − log 4)
    want = 0.5 + 0.5 * (4 - 1 - torch.log(torch.tensor(4.0)))
    assert kl_to_standard_normal(mu, logvar).item() == pytest.approx(want.item(), rel=1e-5)
    assert kl_to_standard_normal(torch.zeros(1, 3), torch.zeros(1, 3)).item() == 0.0
    assert (kl_to_standard_normal(torch.randn(100, 4), torch.randn(100, 4)) >= 0).all()


def test_kl_matches_torch_distributions():
    mu, logvar = torch.randn(5, 3), torch.randn(5, 3)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    assert torch.allclose(kl_to_standard_normal(mu, logvar), torch.distributions.kl_divergence(q, p).sum(1), atol=1e-5)


def test_reparameterize_has_the_right_moments_and_gradients():
    mu = torch.full((20000, 1), 2.0, requires_grad=True)
    logvar = torch.full((20000, 1), torch.log(torch.tensor(9.0)).item(), requires_grad=True)
    z = reparameterize(mu, logvar, torch.Generator().manual_seed(0))
    assert abs(z.mean().item() - 2) < 0.1 and abs(z.std().item() - 3) < 0.1
    z.sum().backward()
    assert mu.grad is not None and logvar.grad is not None


def test_vae_training_lowers_the_negative_elbo_and_beta_changes_kl():
    d = load_digits()
    tr = VAETrainer(VAEConfig(latent_dim=2), d.x_train, seed=0)
    before = tr.evaluate(d.x_test)
    s = TrainingSession(tr, vae_knobs())
    s.run(400, progress=False)
    after = tr.evaluate(d.x_test)
    assert after["elbo"] > before["elbo"] + 5 and after["reconstruction mse"] < before["reconstruction mse"]
    kl_beta1 = after["kl"]
    s.set_knob("beta", 5.0)
    s.run(300, progress=False)
    assert tr.evaluate(d.x_test)["kl"] < kl_beta1  # a heavier KL weight squeezes the posterior
    with pytest.raises(ValueError, match=r"beta must be in \[0, 10\], got -1"):
        s.set_knob("beta", -1)


def test_decode_checks_latent_size():
    with pytest.raises(ValueError, match=r"z must have shape \(B, 2\)"):
        VAE(VAEConfig(latent_dim=2)).decode(torch.zeros(3, 5))


def test_conditional_generator_uses_its_label():
    G = CondGenerator(article_mnist_config())
    z = torch.randn(4, 100)
    a, b = G(z, torch.tensor([1, 1, 1, 1])), G(z, torch.tensor([7, 7, 7, 7]))
    assert not torch.allclose(a, b)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 9\], got values from 3 to 12"):
        G(z, torch.tensor([3, 12, 4, 5]))
    with pytest.raises(ValueError, match=r"z must have shape \(B, 100\)"):
        G(torch.zeros(4, 7), torch.tensor([1, 1, 1, 1]))


def test_trained_cgan_makes_the_digit_asked_for():
    """Conditional accuracy far above chance (10 %) after a short fixed-seed run; a cGAN that
    ignored its label would stay near 10 %."""
    d = load_digits()
    judge = DigitJudge(d.x_train, d.y_train)
    tr = CGANTrainer(article_mnist_config(), d.x_train, d.y_train, seed=0)
    TrainingSession(tr, cgan_knobs()).run(1000, progress=False)  # measured here: 97 % at 1,000 steps
    labels = torch.arange(10).repeat(30)
    acc = (judge.proba(tr.sample(labels)).argmax(1) == labels.numpy()).mean()
    assert acc > 0.6, acc


def test_cgan_checkpoint_round_trip_gives_identical_next_losses(tmp_path):
    d = load_digits()

    def session(seed):
        trainer = CGANTrainer(article_mnist_config(), d.x_train, d.y_train, seed=seed)
        return TrainingSession(trainer, cgan_knobs())

    s = session(0)
    s.run(10, progress=False)
    path = s.save(tmp_path / "cgan.pt")
    expected = s.run(3, progress=False)
    fresh = session(99)
    fresh.load(path)
    got = fresh.run(3, progress=False)
    assert [r["loss_d"] for r in got] == [r["loss_d"] for r in expected]
    assert [r["loss_g"] for r in got] == [r["loss_g"] for r in expected]
