"""Exercises of notebook 01 (GAN basics): the two players' losses and counting captured modes.

Each ``check_*`` takes the learner's function, prints a verdict, and returns the function to use from then on
(see :mod:`ragteach.exercises.checking`). The reference solutions below are the answer key.
"""
from __future__ import annotations

import torch

from ragteach.data.toy2d import ring
from ragteach.exercises.checking import Exercise, Mistake, reveal


# ---- reference solutions (the answer key) ------------------------------------------------------------------------
def discriminator_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """L_D = −mean(log D(x)) − mean(log(1 − D(G(z)))) from probabilities d_real = D(x), d_fake = D(G(z))."""
    return -(torch.log(d_real).mean() + torch.log(1 - d_fake).mean())


def generator_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """Non-saturating L_G = −mean(log D(G(z)))."""
    return -torch.log(d_fake).mean()


def count_modes(samples: torch.Tensor, centers: torch.Tensor, std: float) -> int:
    """How many centres are the nearest centre of at least one sample lying within 3·std of it."""
    dist, nearest = torch.cdist(samples, centers).min(dim=1)
    return len(set(nearest[dist <= 3 * std].tolist()))


# ---- random test inputs -----------------------------------------------------------------------------------------
def _probs(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    n = int(torch.randint(3, 9, (1,), generator=gen))
    return 0.05 + 0.9 * torch.rand(n, generator=gen), 0.05 + 0.9 * torch.rand(n, generator=gen)


def _fake_probs(gen: torch.Generator) -> tuple[torch.Tensor]:
    return (_probs(gen)[1],)


def _ring_samples(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Samples near a random subset of a ring's modes, plus junk far (> 3·std) from the other modes."""
    n_modes = int(torch.randint(6, 11, (1,), generator=gen))
    std = float(0.01 + 0.04 * torch.rand(1, generator=gen))
    mix = ring(n_modes=n_modes, std=std)
    order = torch.randperm(n_modes, generator=gen)
    hit, missed = order[: int(torch.randint(2, n_modes - 1, (1,), generator=gen))], order[-1:]
    near = mix.centers[hit.repeat(2)] + 0.5 * std * torch.randn(2 * len(hit), 2, generator=gen)
    junk = mix.centers[missed] * 1.3 + torch.zeros(3, 2)
    samples = torch.cat([near, junk])[torch.randperm(len(near) + 3, generator=gen)]
    return samples, mix.centers.clone(), std


# ---- the exercises ------------------------------------------------------------------------------------------------
D_LOSS = Exercise(
    "d_loss", discriminator_loss, _probs,
    success="L_D is small when D(x) → 1 on real data and D(G(z)) → 0 on generated data.",
    mistakes=(
        Mistake(lambda r, f: -torch.log(r).mean(), "only one of the two terms is there: D must score real AND "
                                                   "generated samples."),
        Mistake(lambda r, f: -torch.log(1 - f).mean(), "only one of the two terms is there: D must score real AND "
                                                       "generated samples."),
        Mistake(lambda r, f: -(torch.log(r).mean() + torch.log(f).mean()),
                "for generated samples D should be pushed towards 0: use log(1 − D(G(z)))."),
    ),
    sign_hint="the sign is flipped: D *maximises* E[log D(x)] + E[log(1 − D(G(z)))], so its loss is minus that.")

G_LOSS = Exercise(
    "g_loss", generator_loss, _fake_probs,
    success="the non-saturating loss: its gradient stays large while D still rejects G's samples.",
    mistakes=(
        Mistake(lambda f: torch.log(1 - f).mean(), "that is the minimax loss E[log(1 − D(G(z)))]; it saturates "
                                                   "when D is sure. Use −E[log D(G(z))] instead."),
        Mistake(lambda f: -torch.log(1 - f).mean(), "that rewards G for D(G(z)) → 0, the opposite of its goal."),
    ),
    sign_hint="the sign is flipped: G wants D(G(z)) → 1, so minimise −log D(G(z)).")


def _no_threshold(samples: torch.Tensor, centers: torch.Tensor, std: float) -> int:
    return len(set(torch.cdist(samples, centers).argmin(dim=1).tolist()))


def _count_samples(samples: torch.Tensor, centers: torch.Tensor, std: float) -> int:
    return int((torch.cdist(samples, centers).min(dim=1).values <= 3 * std).sum())


COUNT_MODES = Exercise(
    "count_modes", count_modes, _ring_samples,
    success="a mode counts once, however many samples sit on it: that is what mode collapse lowers.",
    mistakes=(
        Mistake(_no_threshold, "a sample far from every mode counted: require distance ≤ 3·std to the nearest "
                               "centre."),
        Mistake(_count_samples, "you counted samples; count the different modes that have at least one."),
    ))

EXERCISES = {e.name: e for e in (D_LOSS, G_LOSS, COUNT_MODES)}
check_d_loss, check_g_loss, check_count_modes = D_LOSS.check, G_LOSS.check, COUNT_MODES.check


# ---- predict, then run ------------------------------------------------------------------------------------------
def saturation_gradients(d_fake: float = 0.01) -> dict[str, float]:
    """|∂L_G/∂a| at the discriminator's logit a with D(G(z)) = σ(a) = d_fake, for both generator losses:
    minimax L = log(1 − σ(a)) gives |−σ(a)| = d_fake; non-saturating L = −log σ(a) gives |σ(a) − 1| = 1 − d_fake."""
    grads = {}
    for name, loss in (("minimax", lambda a: torch.log(1 - torch.sigmoid(a))),
                       ("non-saturating", lambda a: -torch.log(torch.sigmoid(a)))):
        a = torch.logit(torch.tensor(d_fake, dtype=torch.float64)).requires_grad_()
        loss(a).backward()
        grads[name] = abs(float(a.grad))
    return grads


def predict_saturation(prediction: object, d_fake: float = 0.01) -> bool:
    """Measure both gradients (autograd) at D(G(z)) = d_fake and reveal which loss gives G the larger one."""
    grads = saturation_gradients(d_fake)
    for name, g in grads.items():
        print(f"|∂L_G/∂logit| with the {name} loss at D(G(z)) = {d_fake}: {g:.4f}")
    larger = max(grads, key=grads.get)
    print(f"ratio non-saturating / minimax: {grads['non-saturating'] / grads['minimax']:.0f}×")
    return reveal(prediction, larger, choices=list(grads))
