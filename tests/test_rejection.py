import pytest
import torch
from torch import nn

from ragteach.gan.experiments import networks

from conftest import toy_run
from ragteach.lessons.gan_basics import rejection_verdict
from ragteach.gan.rejection import rejection_sample


class Identity(nn.Module):
    """G(z) = z: p_G = N(0, I)."""

    z_dim = 2

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z


class RatioD(nn.Module):
    """The optimal D's logit for p_data = N(μ, I) against p_G = N(0, I): ℓ(x) = x·μ − |μ|²/2."""

    pack = 1

    def __init__(self, mu: tuple[float, float], scale: float = 1.0) -> None:
        super().__init__()
        self.mu, self.scale = torch.tensor(mu), scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * (x @ self.mu - 0.5 * self.mu.dot(self.mu))


def test_rejection_with_the_optimal_discriminator_draws_from_the_data_distribution():
    result = rejection_sample(Identity(), RatioD((1.0, 0.0)), n=20000, seed=0)
    mean, std = result.samples.mean(0), result.samples.std(0)
    assert result.samples.shape == (20000, 2)
    assert abs(mean[0] - 1.0) < 0.05 and abs(mean[1]) < 0.05          # N(0, I) moved to N((1, 0), I)
    assert abs(std[0] - 1.0) < 0.05 and abs(std[1] - 1.0) < 0.05
    # keeping exp(ℓ − ℓ_max) of the draws: ℓ_max ≈ the largest x0 of the draws, so few are kept
    assert 0.0 < result.kept < 0.2


def test_a_discriminator_at_chance_keeps_everything_and_the_seed_fixes_the_samples():
    chance = RatioD((0.0, 0.0))                       # ℓ = 0 everywhere: D cannot tell, so nothing is rejected
    a, b = rejection_sample(Identity(), chance, n=500, seed=3), rejection_sample(Identity(), chance, n=500, seed=3)
    assert a.kept == 1.0 and torch.equal(a.samples, b.samples)
    assert not torch.equal(a.samples, rejection_sample(Identity(), chance, n=500, seed=4).samples)


def test_rejection_refuses_packed_discriminators_nan_logits_and_says_when_it_rejects_everything():
    packed = RatioD((0.0, 0.0))
    packed.pack = 4
    with pytest.raises(ValueError, match="packs of 4"):
        rejection_sample(Identity(), packed, n=10)
    with pytest.raises(ValueError, match="NaN or infinite logit"):
        rejection_sample(Identity(), RatioD((float("nan"), 0.0)), n=10)
    with pytest.raises(ValueError, match="rejects nearly everything"):
        rejection_sample(Identity(), RatioD((1.0, 0.0), scale=200.0), n=10_000, batch=1000, max_draws=5000)
    with pytest.raises(ValueError, match="n must be"):
        rejection_sample(Identity(), RatioD((0.0, 0.0)), n=0)
    with pytest.raises(ValueError, match="bound_quantile must be in"):
        rejection_sample(Identity(), RatioD((0.0, 0.0)), n=10, bound_quantile=1.5)


def test_a_lower_bound_quantile_keeps_more_and_always_keeps_samples_above_the_bound():
    d = RatioD((1.0, 0.0))
    exact, bounded = rejection_sample(Identity(), d, n=5000), rejection_sample(Identity(), d, n=5000, bound_quantile=0.5)
    assert bounded.kept > 2 * exact.kept
    # above the bound (the burn-in's median logit, x0 ≈ 0.5) every draw is kept: the kept samples' x0 is
    # not pushed as far right as the exact rule pushes it
    assert bounded.samples[:, 0].mean() < exact.samples[:, 0].mean() - 0.2


def _runs(method: str, hq: list[float], kept: float | None = None) -> list:
    return [toy_run(method, "ring", s, steps=[10], modes=[8], high_quality=[h], kept=kept) for s, h in enumerate(hq)]


def test_rejection_verdict_follows_the_measurements():
    plain = _runs("GAN", [0.960, 0.965, 0.955, 0.962])
    better = _runs("GAN + D rejection", [0.985, 0.990, 0.984, 0.986], kept=0.7)
    same = _runs("GAN + D rejection", [0.962, 0.958, 0.961, 0.963], kept=0.99)
    said_better, said_same = rejection_verdict(plain, better), rejection_verdict(plain, same)
    assert "high-quality share rose" in said_better and "D kept 70.0 ± 0.0 %" in said_better
    assert "high-quality share did not change clearly" in said_same
    with pytest.raises(ValueError, match="no plain run"):
        rejection_verdict(_runs("GAN", [0.9, 0.9])[:0], better)


def test_rejection_runs_use_each_batched_runs_own_networks():
    from ragteach.data.toy2d import ring
    from ragteach.gan.experiments import train_toy_runs
    from ragteach.lessons.gan_basics import rejection_rows, rejection_runs

    runs = train_toy_runs(ring(), "GAN", seeds=[0, 1], steps=20, eval_every=10, batch_size=16)
    g1, _ = networks(runs[1])
    z = torch.randn(5, 2)
    with torch.no_grad():
        assert torch.allclose(g1(z), runs[0].trainer.G(z.expand(2, 5, 2))[1])
    cleaned = rejection_runs(runs, n=300)
    assert [r["method"] for r in cleaned] == ["GAN + D rejection"] * 2 and [r["seed"] for r in cleaned] == [0, 1]
    assert all(0 < r.scores["kept"] <= 1 and r.curve("step") == [20] for r in cleaned)
    rows = rejection_rows(runs, cleaned)
    assert [row["D kept %"] == "" for row in rows] == [True, False]
