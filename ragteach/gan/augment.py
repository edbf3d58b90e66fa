"""Augmenting images for a GAN's discriminator, the right way and the article's way.

DiffAugment (Zhao et al. 2020): apply the *same kind* of random, differentiable transformation T to
real AND generated images before D sees them, and back-propagate through T into G:
    L_D = −E_x[log D(T(x))] − E_z[log(1 − D(T(G(z))))],   L_G = −E_z[log D(T(G(z)))].
D then cannot tell real from fake by the augmentation, and G is never asked to produce it.

The article's data preparation (random crop with padding, horizontal flip, normalise) is applied to
**real images only**. Then the augmented images *are* the data distribution D is taught, and G learns
to produce them: flipped digits leak into the samples.

Images are flat (B, H·W) tensors in [-1, 1] where -1 is the background.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

BACKGROUND = -1.0


def _as_images(x: torch.Tensor, size: int) -> torch.Tensor:
    if x.ndim != 2 or x.shape[1] != size * size:
        raise ValueError(f"expected flat images of shape (B, {size * size}), got {tuple(x.shape)}")
    return x.reshape(-1, 1, size, size)


def translate(x: torch.Tensor, size: int = 8, shift: int = 1, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each image by a random (dx, dy) in [−shift, shift]², filling with background. Differentiable."""
    img = _as_images(x, size)
    B = img.shape[0]
    padded = F.pad(img, (shift, shift, shift, shift), value=BACKGROUND)  # (B, 1, size+2s, size+2s)
    dx = torch.randint(0, 2 * shift + 1, (B,), generator=generator)
    dy = torch.randint(0, 2 * shift + 1, (B,), generator=generator)
    rows = (dy[:, None] + torch.arange(size)[None, :]).to(x.device)  # (B, size)
    cols = (dx[:, None] + torch.arange(size)[None, :]).to(x.device)
    b = torch.arange(B, device=x.device)[:, None, None]
    out = padded[b, 0, rows[:, :, None], cols[:, None, :]]  # (B, size, size)
    return out.reshape(B, size * size)


def cutout(x: torch.Tensor, size: int = 8, ratio: float = 0.5, generator: torch.Generator | None = None) -> torch.Tensor:
    """Paint a random square of side ratio·size with background (multiplying by a 0/1 mask). Differentiable."""
    img = _as_images(x, size)
    B, side = img.shape[0], max(1, int(round(ratio * size)))
    top = torch.randint(0, size - side + 1, (B,), generator=generator)
    left = torch.randint(0, size - side + 1, (B,), generator=generator)
    r = torch.arange(size)
    inside = (((r[None, :] >= top[:, None]) & (r[None, :] < top[:, None] + side))[:, :, None]
              & ((r[None, :] >= left[:, None]) & (r[None, :] < left[:, None] + side))[:, None, :])  # (B, size, size)
    keep = (~inside).to(x.dtype).to(x.device).reshape(B, size * size)
    return x * keep + BACKGROUND * (1 - keep)


def diff_augment(x: torch.Tensor, size: int = 8, generator: torch.Generator | None = None) -> torch.Tensor:
    """DiffAugment's "translation,cutout" policy for small images."""
    return cutout(translate(x, size, generator=generator), size, generator=generator)


def article_preparation(x: torch.Tensor, size: int = 8, pad: int = 1, generator: torch.Generator | None = None) -> torch.Tensor:
    """Article 001's real-image preparation scaled to 8×8: random crop after padding by ``pad`` (its 4 on
    32×32 images), then a horizontal flip with probability 1/2. Normalising to [-1, 1] is done at loading."""
    shifted = translate(x, size, shift=pad, generator=generator)
    img = shifted.reshape(-1, size, size)
    flip = torch.rand(img.shape[0], generator=generator) < 0.5
    img = torch.where(flip[:, None, None].to(x.device), img.flip(-1), img)
    return img.reshape(-1, size * size)
