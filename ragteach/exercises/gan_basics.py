"""Checkers for notebook 01 (GAN basics)."""
from __future__ import annotations

from typing import Callable

import torch

from ragteach.data.toy2d import ring
from ragteach.exercises.checking import Result, as_float, close, run_learner
from ragteach.metrics.modes import mode_stats

# Fixed probabilities D(x) for 4 real and D(G(z)) for 4 generated samples.
_REAL = torch.tensor([0.9, 0.8, 0.6, 0.95])
_FAKE = torch.tensor([0.1, 0.3, 0.5, 0.05])


def check_d_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Result:
    """fn(d_real, d_fake) should return L_D = −mean(log D(x)) − mean(log(1 − D(G(z))))."""
    out, failed = run_learner(fn, _REAL.clone(), _FAKE.clone())
    if failed is not None:
        return failed
    got = as_float(out)
    want = float(-_REAL.log().mean() - (1 - _FAKE).log().mean())
    if got is None:
        return Result(False, f"return one number (a 0-d tensor or float), got {type(out).__name__} {out!r}")
    if close(got, want):
        return Result(True, f"L_D = {got:.4f}")
    if close(got, -want):
        return Result(False, "the sign is flipped: D *maximises* E[log D(x)] + E[log(1 − D(G(z)))], "
                             "so its loss is minus that.")
    if close(got, float(-_REAL.log().mean())) or close(got, float(-(1 - _FAKE).log().mean())):
        return Result(False, "only one of the two terms is there: D must score real AND generated samples.")
    if close(got, float(-_REAL.log().mean() - _FAKE.log().mean())):
        return Result(False, "for generated samples D should be pushed towards 0: use log(1 − D(G(z))).")
    return Result(False, f"expected {want:.4f} on the test inputs, got {got:.4f}")


def check_g_loss(fn: Callable[[torch.Tensor], torch.Tensor]) -> Result:
    """fn(d_fake) should return the non-saturating L_G = −mean(log D(G(z)))."""
    out, failed = run_learner(fn, _FAKE.clone())
    if failed is not None:
        return failed
    got = as_float(out)
    want = float(-_FAKE.log().mean())
    if got is None:
        return Result(False, f"return one number, got {type(out).__name__}")
    if close(got, want):
        return Result(True, f"L_G = {got:.4f}")
    if close(got, float((1 - _FAKE).log().mean())):
        return Result(False, "that is the minimax loss E[log(1 − D(G(z)))]; it saturates when D is sure. "
                             "Use −E[log D(G(z))] instead.")
    if close(got, -want):
        return Result(False, "the sign is flipped: G wants D(G(z)) → 1, so minimise −log D(G(z)).")
    return Result(False, f"expected {want:.4f} on the test inputs, got {got:.4f}")


def check_count_modes(fn: Callable[[torch.Tensor, torch.Tensor, float], int]) -> Result:
    """fn(samples, centers, std) should return how many modes have ≥ 1 sample within 3·std."""
    mix = ring()
    gen = torch.Generator().manual_seed(0)
    # Samples near 5 of the 8 modes, plus far-away junk next to mode 0 (not within 3σ).
    near = mix.centers[torch.tensor([1, 2, 2, 4, 5, 7])] + 0.5 * mix.std * torch.randn(6, 2, generator=gen)
    junk = mix.centers[0] * 1.3 + torch.zeros(3, 2)
    samples = torch.cat([near, junk])
    out, failed = run_learner(fn, samples.clone(), mix.centers.clone(), mix.std)
    if failed is not None:
        return failed
    want = mode_stats(samples, mix).modes_captured
    got = as_float(out)
    if got == want:
        return Result(True, f"{int(got)} modes captured")
    if got == want + 1:
        return Result(False, "a sample far from every mode counted: require distance ≤ 3·std to the nearest centre.")
    return Result(False, f"expected {want} on the test samples, got {out!r}")
