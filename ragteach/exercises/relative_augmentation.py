"""Checkers for notebook 02 (relative augmentation)."""
from __future__ import annotations

from typing import Callable

import torch

from ragteach.exercises.checking import Result, as_float, close, run_learner
from ragteach.gan.losses import rasgan_d_loss

_FAKE = torch.tensor([[0.0, 1.0, 2.0], [1.0, -1.0, 0.5]])
_REAL = torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])


def check_distance_term(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Result:
    """fn(fake, real) should return E_z||G(z) − x||²: squared distance per sample, averaged over the batch."""
    out, failed = run_learner(fn, _FAKE.clone(), _REAL.clone())
    if failed is not None:
        return failed
    got, diff = as_float(out), _FAKE - _REAL
    want = float(diff.pow(2).sum(1).mean())
    if got is None:
        return Result(False, f"return one number, got {type(out).__name__} of shape {getattr(out, 'shape', '?')}")
    if close(got, want):
        return Result(True, f"E||G(z) − x||² = {got:.3f}")
    if close(got, float(diff.pow(2).mean())):
        return Result(False, "you averaged over the pixels too: sum the squares over each sample's pixels, "
                             "then average over the batch.")
    if close(got, float(diff.norm(dim=1).mean())):
        return Result(False, "that is the distance, not its square.")
    if close(got, -want):
        return Result(False, "the sign is flipped: the term is a penalty, added to G's loss.")
    return Result(False, f"expected {want:.3f} on the test batch, got {got:.3f}")


def check_limit_point(fn: Callable[[torch.Tensor], torch.Tensor]) -> Result:
    """fn(x) should return the g minimising mean_i ||g − x_i||² over the rows x_i of x."""
    x = torch.tensor([[0.0, 0.0], [4.0, 0.0], [2.0, 6.0], [10.0, 2.0]])
    out, failed = run_learner(fn, x.clone())
    if failed is not None:
        return failed
    out = torch.as_tensor(out, dtype=torch.float32)
    if out.shape != (2,):
        return Result(False, f"return one point of shape (2,), got shape {tuple(out.shape)}")
    if torch.allclose(out, x.mean(0)):
        return Result(True, f"g* = {out.tolist()}: the mean. With random pairing, a large λ pulls every sample there.")
    if torch.allclose(out, x.median(0).values):
        return Result(False, "the median minimises the sum of |g − x_i| (absolute), not of squares.")
    return Result(False, "set the gradient of mean_i ||g − x_i||² to zero and solve for g.")


def check_rasgan_d_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Result:
    """fn(real_logits, fake_logits) should return RaSGAN's discriminator loss."""
    cr, cf = torch.tensor([1.0, 2.0, -0.5]), torch.tensor([-1.0, 0.5, 0.0])
    out, failed = run_learner(fn, cr.clone(), cf.clone())
    if failed is not None:
        return failed
    got, want = as_float(out), float(rasgan_d_loss(cr, cf))
    if got is None:
        return Result(False, f"return one number, got {type(out).__name__}")
    if close(got, want):
        return Result(True, f"L_D = {got:.4f}")
    standard = float(-torch.nn.functional.logsigmoid(cr).mean() - torch.nn.functional.logsigmoid(-cf).mean())
    if close(got, standard):
        return Result(False, "that is the standard GAN loss: subtract the *other* side's mean logit inside σ.")
    return Result(False, f"expected {want:.4f} on the test logits, got {got:.4f}")
