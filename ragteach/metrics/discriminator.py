"""How well the discriminator tells real from generated data: its accuracy on fresh samples.

D outputs a logit s; it calls an example real when s > 0 (D(x) = σ(s) > 0.5). Its accuracy on n real and
n generated examples is

    acc = ½ · ( mean[s_real > 0] + mean[s_fake < 0] ),

so 0.5 is chance (D cannot tell them apart: its loss sits at 2 ln 2 ≈ 1.386) and 1 is perfect. A GAN needs a
D that is ahead of G: a D stuck at chance gives G no direction to improve in.
"""
from __future__ import annotations

import torch


def d_accuracy(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """½(mean[s_real > 0] + mean[s_fake < 0]) over the last dimension: shape (...,) from (..., n)."""
    if real_logits.shape[:-1] != fake_logits.shape[:-1] or real_logits.numel() == 0 or fake_logits.numel() == 0:
        raise ValueError(f"real and fake logits must be non-empty with the same leading shape, got "
                         f"{tuple(real_logits.shape)} and {tuple(fake_logits.shape)}")
    if not (torch.isfinite(real_logits).all() and torch.isfinite(fake_logits).all()):
        raise ValueError("D's logits contain NaN or infinity: the discriminator diverged; lower lr_d and retrain")
    return 0.5 * ((real_logits > 0).float().mean(-1) + (fake_logits < 0).float().mean(-1))
