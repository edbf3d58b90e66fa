"""Discriminator rejection sampling (Azadi et al. 2019): let a trained D throw away the generator's samples it
believes are fake.

An optimal discriminator is D*(x) = p_data(x) / (p_data(x) + p_G(x)), so its logit is the log density ratio

    ℓ(x) = log D*(x) / (1 − D*(x)) = log p_data(x) / p_G(x).

Rejection sampling turns draws from p_G into draws from p_data: draw x ~ p_G and keep it with probability

    p_data(x) / (M · p_G(x)) = exp(ℓ(x) − ℓ_max),

where M = exp(ℓ_max) bounds the ratio. ℓ_max is estimated once, from a burn-in batch of G's samples: their
largest logit (the paper also raises it whenever a later sample beats it; here it stays fixed), or
(``bound_quantile`` < 1) a high quantile of them, so that a few samples where D's logit runs away (an MLP's
logit grows without bound far from the data) do not make it reject nearly everything. Samples above the bound
are always kept. A trained D is not optimal, so the kept samples are only
as good as D's picture of where the data lies; a D at chance everywhere keeps nearly everything.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ragteach.gan.models import Discriminator, Generator
from ragteach.training import check_positive_int, eval_mode


@dataclass(frozen=True)
class Rejection:
    samples: torch.Tensor   # (n, data_dim): the first n kept samples
    drawn: int              # how many samples G drew (burn-in excluded)
    accepted: int           # how many of them D kept (>= n: the last round may keep more than needed)

    @property
    def kept(self) -> float:
        """Share of G's draws that D kept."""
        return self.accepted / self.drawn


def rejection_sample(generator: Generator, discriminator: Discriminator, n: int, batch: int = 10_000,
                     bound_quantile: float = 1.0, seed: int = 0, max_draws: int | None = None) -> Rejection:
    """``n`` samples of ``generator``, each kept with probability min(1, exp(ℓ(x) − ℓ_max)), ℓ = D's logit.

    batch: samples drawn per round (the first round is the burn-in that estimates ℓ_max);
    bound_quantile: ℓ_max is this quantile of the burn-in's logits (1.0: their maximum);
    seed: the noise and the coin flips come from their own random generator (same seed, same samples);
    max_draws: give up (with an error) after this many draws; default 100·n.
    """
    check_positive_int("n", n)
    check_positive_int("batch", batch)
    if not 0.0 < bound_quantile <= 1.0:
        raise ValueError(f"bound_quantile must be in (0, 1] (1.0: the burn-in's largest logit), got {bound_quantile}")
    max_draws = 100 * n if max_draws is None else max_draws
    if discriminator.pack != 1:
        raise ValueError(f"rejection needs a D that judges single samples; this one judges packs of "
                         f"{discriminator.pack} (PacGAN). Use a GAN trained with pack=1")
    rng = torch.Generator().manual_seed(seed)
    device = next(generator.parameters()).device

    def draw() -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.randn(batch, generator.z_dim, generator=rng).to(device)
        x = generator(z)
        logit = discriminator(x)
        if not torch.isfinite(logit).all():
            raise ValueError("D gave a NaN or infinite logit: training diverged. Retrain with lower learning rates "
                             "(or load a checkpoint) before rejection sampling")
        return x.cpu(), logit.cpu()

    kept: list[torch.Tensor] = []
    count, drawn = 0, 0
    with torch.no_grad(), eval_mode(generator, discriminator):
        top = torch.quantile(draw()[1], bound_quantile).item()     # burn-in: the estimate of ℓ_max
        while count < n:
            if drawn >= max_draws:
                raise ValueError(f"D kept only {count} of the {n} samples asked for in {drawn:,} draws: it rejects "
                                 f"nearly everything. Lower bound_quantile (e.g. 0.99), ask for fewer samples or "
                                 f"raise max_draws")
            x, logit = draw()
            keep = torch.rand(batch, generator=rng) < torch.exp(logit - top)   # exp > 1 above the bound: kept
            kept.append(x[keep])
            count += int(keep.sum())
            drawn += batch
    return Rejection(torch.cat(kept)[:n], drawn, count)
