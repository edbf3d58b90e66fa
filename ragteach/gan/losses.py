"""The adversarial game, written with D's logits s (D(x) = sigmoid(s)).

Value function (Goodfellow et al. 2014):  V(G, D) = E_x[log D(x)] + E_z[log(1 − D(G(z)))].
D maximises V; G minimises it. Since log D = logsigmoid(s) and log(1 − D) = logsigmoid(−s), every
loss below is a mean of ``logsigmoid`` terms, which stays finite when D is very sure.

Each mean is over the last dimension: logits of shape (N,) give one loss, logits (K, N) of K runs trained
side by side (:mod:`ragteach.gan.batched`) give K losses, one per run.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor,
           real_target: float | torch.Tensor = 1.0, fake_target: float | torch.Tensor = 0.0) -> torch.Tensor:
    """L_D = −E_x[log D(x)] − E_z[log(1 − D(G(z)))], i.e. binary cross-entropy.

    With targets other than 1 and 0 (label smoothing or flipping), each term becomes the
    cross-entropy against that target: −t·log D − (1 − t)·log(1 − D).
    """
    real_t = torch.as_tensor(real_target, dtype=real_logits.dtype).expand_as(real_logits)
    fake_t = torch.as_tensor(fake_target, dtype=fake_logits.dtype).expand_as(fake_logits)
    return (F.binary_cross_entropy_with_logits(real_logits, real_t, reduction="none").mean(-1)
            + F.binary_cross_entropy_with_logits(fake_logits, fake_t, reduction="none").mean(-1))


def g_loss_minimax(fake_logits: torch.Tensor) -> torch.Tensor:
    """L_G = E_z[log(1 − D(G(z)))]: the value function itself. Its gradient vanishes when D wins."""
    return F.logsigmoid(-fake_logits).mean(-1)


def g_loss_non_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """L_G = −E_z[log D(G(z))]: same fixed point, strong gradients early on (Goodfellow et al.)."""
    return -F.logsigmoid(fake_logits).mean(-1)


G_LOSSES = {"non_saturating": g_loss_non_saturating, "minimax": g_loss_minimax}


def g_loss_article(fake_logits: torch.Tensor) -> torch.Tensor:
    """L_adv = −E_z[D(G(z))], article 001's adversarial term exactly as written: minus the mean
    *probability* (not its log). Its gradient σ'(s) = D(1 − D) vanishes both when D is sure the sample is
    fake and when it is sure it is real."""
    return -torch.sigmoid(fake_logits).mean(-1)


G_LOSSES["article"] = g_loss_article


def rasgan_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Relativistic average GAN (Jolicoeur-Martineau 2018), discriminator side.

    With C the critic's logit and D̃(x) = σ(C(x) − E_fake C):
    L_D = −E_x[log σ(C(x) − E_z C(G(z)))] − E_z[log(1 − σ(C(G(z)) − E_x C(x)))].
    D judges "is real *more* realistic than fake, on average" instead of "is this real".
    """
    return _relativistic(real_logits, fake_logits)


def rasgan_g_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """RaSGAN, generator side: the same expression with real and fake swapped,
    L_G = −E_z[log σ(C(G(z)) − E_x C(x))] − E_x[log(1 − σ(C(x) − E_z C(G(z))))].
    Unlike the standard G loss, real samples appear in it, so G also gets gradient through them."""
    return _relativistic(fake_logits, real_logits)


def _relativistic(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """−E[log σ(a − E b)] − E[log(1 − σ(b − E a))]: L_D with a = C(x), b = C(G(z)); L_G with them swapped."""
    return (-F.logsigmoid(a - b.mean(-1, keepdim=True)).mean(-1)
            - F.logsigmoid(-(b - a.mean(-1, keepdim=True))).mean(-1))
