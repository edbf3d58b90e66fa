"""Checkers for notebook 05 (generative models compared)."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from ragteach.exercises.checking import Result, run_learner
from ragteach.vae.model import kl_to_standard_normal

_MU = torch.tensor([[0.5, -1.0], [2.0, 0.0]])
_LOGVAR = torch.tensor([[0.0, 1.0], [-1.0, 0.5]])
_EPS = torch.tensor([[1.0, -0.5], [0.3, 2.0]])


def _tensor(out: object, shape: tuple[int, ...]) -> torch.Tensor | None:
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != shape:
        return None
    return out.detach().float()


def check_reparameterize(fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]) -> Result:
    """fn(mu, logvar, eps) should return z = μ + exp(½·log σ²)·ε."""
    out, failed = run_learner(fn, _MU.clone(), _LOGVAR.clone(), _EPS.clone())
    if failed is not None:
        return failed
    z = _tensor(out, (2, 2))
    if z is None:
        return Result(False, f"return a tensor shaped like mu, (2, 2); got {out!r}")
    if torch.allclose(z, _MU + torch.exp(0.5 * _LOGVAR) * _EPS):
        return Result(True, "z = μ + σ·ε")
    if torch.allclose(z, _MU + _LOGVAR.exp() * _EPS):
        return Result(False, "exp(log σ²) is the variance σ²; scale ε by the standard deviation σ = exp(½·log σ²).")
    if torch.allclose(z, _MU + _LOGVAR * _EPS):
        return Result(False, "logvar is log σ², not σ: take exp(0.5 * logvar).")
    return Result(False, "expected μ + σ·ε with σ = exp(0.5 * logvar).")


def check_kl(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Result:
    """fn(mu, logvar) should return KL(N(μ, σ²) || N(0, I)) per sample, shape (B,)."""
    out, failed = run_learner(fn, _MU.clone(), _LOGVAR.clone())
    if failed is not None:
        return failed
    want = kl_to_standard_normal(_MU, _LOGVAR)
    kl = _tensor(out, (2,))
    if kl is None:
        if isinstance(out, torch.Tensor) and out.shape == (2, 2):
            return Result(False, "sum the KL over the latent dimensions: one number per sample, shape (B,).")
        return Result(False, f"return one KL per sample, shape (2,); got {out!r}")
    if torch.allclose(kl, want, atol=1e-5):
        return Result(True, f"KL = {kl.tolist()}")
    if torch.allclose(kl, -want, atol=1e-5):
        return Result(False, "the sign is flipped: a KL divergence is never negative. KL = −½ Σ(1 + log σ² − μ² − σ²).")
    return Result(False, f"expected {[round(v, 4) for v in want.tolist()]}, got {[round(v, 4) for v in kl.tolist()]}")


def check_conditional_input(fn: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]) -> Result:
    """fn(z, y, n_classes) should return [z, one_hot(y)] concatenated along dimension 1."""
    z, y = torch.tensor([[0.1, 0.2], [0.3, 0.4]]), torch.tensor([2, 0])
    out, failed = run_learner(fn, z.clone(), y.clone(), 3)
    if failed is not None:
        return failed
    want = torch.cat([z, F.one_hot(y, 3).float()], dim=1)
    got = _tensor(out, (2, 5))
    if got is None:
        return Result(False, f"expected shape (2, 5) = (B, z_dim + n_classes), got {getattr(out, 'shape', out)}")
    if torch.allclose(got, want):
        return Result(True, "G sees z and which class to draw")
    if torch.allclose(got, torch.cat([F.one_hot(y, 3).float(), z], dim=1)):
        return Result(False, "right pieces, other order: put z first, then the one-hot label.")
    return Result(False, "use torch.nn.functional.one_hot(y, n_classes) and torch.cat([...], dim=1).")
