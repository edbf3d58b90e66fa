"""The GAN game in closed form, checked numerically on 1D densities (ragteach/gan/theory.py)."""
import math

import pytest
import torch

from ragteach.gan import theory

torch.set_num_threads(1)

X = torch.linspace(-14, 14, 14001, dtype=torch.float64)  # wide enough that every density integrates to 1
DX = float(X[1] - X[0])
P_DATA = theory.mixture_pdf(X, [-2.0, 2.0], 0.5)


@pytest.mark.parametrize("g_mean, g_std", [(0.0, 1.0), (2.0, 0.5), (-3.0, 1.5), (0.0, 2.5)])
def test_value_at_the_optimal_discriminator_is_minus_log4_plus_twice_js(g_mean, g_std):
    p_g = theory.gaussian_pdf(X, g_mean, g_std)
    d_star = theory.optimal_discriminator(P_DATA, p_g)
    js = theory.js_divergence(P_DATA, p_g, DX)
    assert theory.value_function(d_star, P_DATA, p_g, DX) == pytest.approx(-math.log(4) + 2 * js, abs=1e-6)
    # D* is the best discriminator: any other (here: D* pushed towards ½, or a constant) does worse
    for other in (0.5 * d_star + 0.25, torch.full_like(d_star, 0.7)):
        assert theory.value_function(other, P_DATA, p_g, DX) < theory.value_function(d_star, P_DATA, p_g, DX)


def test_js_is_zero_for_equal_densities_and_log2_for_disjoint_ones():
    assert theory.js_divergence(P_DATA, P_DATA, DX) == pytest.approx(0.0, abs=1e-9)
    far = theory.gaussian_pdf(X, 7.0, 0.1)
    near_zero = theory.gaussian_pdf(X, -7.0, 0.1)
    assert theory.js_divergence(near_zero, far, DX) == pytest.approx(math.log(2), abs=1e-6)
    assert torch.allclose(theory.optimal_discriminator(P_DATA, P_DATA)[P_DATA > 1e-6],
                          torch.tensor(0.5, dtype=torch.float64))


def test_a_trained_discriminator_approaches_d_star_where_there_is_data():
    g = torch.Generator().manual_seed(0)
    real = torch.cat([torch.randn(1000, generator=g) * 0.5 - 2, torch.randn(1000, generator=g) * 0.5 + 2])
    fake = torch.randn(2000, generator=g) * 1.0
    f = theory.fit_discriminator(real.float(), fake.float(), steps=400, seed=0)
    grid = torch.linspace(-3, 3, 61)
    with torch.no_grad():
        learned = torch.sigmoid(f(grid[:, None])).squeeze(1).double()
    d_star = theory.optimal_discriminator(theory.mixture_pdf(grid.double(), [-2.0, 2.0], 0.5),
                                          theory.gaussian_pdf(grid.double(), 0.0, 1.0))
    assert (learned - d_star).abs().mean() < 0.08


def test_bad_densities_are_refused():
    with pytest.raises(ValueError, match="same grid"):
        theory.optimal_discriminator(P_DATA, P_DATA[:-1])
    with pytest.raises(ValueError, match=">= 0"):
        theory.js_divergence(P_DATA, -P_DATA, DX)
    with pytest.raises(ValueError, match="std must be > 0"):
        theory.gaussian_pdf(X, 0.0, 0.0)


def test_gan_lab_views_follow_the_networks():
    from ragteach.data.toy2d import ring
    from ragteach.gan.models import toy_config
    from ragteach.gan.plots import gan_lab_preview, generator_gradient_field, generator_manifold
    from ragteach.gan.train import GANTrainer, gan_knobs
    from ragteach.live import TrainingSession

    trainer = GANTrainer(toy_config(), ring().sample, batch_size=64, seed=0)
    lines = generator_manifold(trainer, lines=5, points=7)
    assert lines.shape == (10, 7, 2)
    z = torch.tensor([[-2.5, -2.5]])
    with torch.no_grad():
        assert torch.allclose(torch.from_numpy(lines[0, 0]), trainer.G(z)[0], atol=1e-6)
    points, push = generator_gradient_field(trainer, n=16)
    assert points.shape == push.shape == (16, 2)
    assert all(p.grad is None for p in trainer.D.parameters())  # the view leaves no gradient behind
    # the push is −∇_x(−log D(x)) = ∇_x log D(x): moving along it raises D(x)
    x = torch.from_numpy(points)
    step = torch.from_numpy(push) * 1e-3 / (torch.from_numpy(push).norm(dim=1, keepdim=True) + 1e-12)
    with torch.no_grad():
        assert (trainer.D(x + step) >= trainer.D(x) - 1e-6).float().mean() > 0.9
    session = TrainingSession(trainer, gan_knobs())
    assert gan_lab_preview(trainer, ring()).render(session).startswith(b"\x89PNG")
