"""Article 001's "relative augmentation": a distance term in the generator's loss.

    L_G = −E_z[D(G(z))] + λ · E_z[ ||G(z) − x||² ]

The article does not say which real x is paired with each G(z). Three readings, each a different model:

- ``random``  — x is a random real sample, drawn independently of z (as written). Since
  E_x||g − x||² = ||g − μ||² + tr Σ, the term pulls every sample toward the data **mean** μ:
  large λ gives the average digit, and on a ring, the empty centre.
- ``nearest`` — x is the training sample nearest to G(z). The term pulls each sample onto a
  training example: large λ makes G a **copier** (memorisation).
- ``fixed``   — every training example i gets its own fixed latent code z_i, and G(z_i) is pulled
  toward x_i: a reconstruction loss, as in GLO (Bojanowski et al. 2018).
"""
from __future__ import annotations

import torch

PAIRINGS = ("random", "nearest", "fixed")


def squared_distance(fake: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """E_z ||G(z) − x||²: the squared Euclidean distance per sample, averaged over the batch (the last
    two dimensions: K runs' batches (K, B, C) give K distances)."""
    if fake.shape != target.shape:
        raise ValueError(f"the real batch must have the shape of G's output: G gave {tuple(fake.shape)}, "
                         f"the real batch is {tuple(target.shape)}")
    return (fake - target).pow(2).sum(-1).mean(-1)


def nearest_targets(fake: torch.Tensor, data: torch.Tensor) -> torch.Tensor:
    """For each generated sample, the nearest row of ``data`` (no gradient flows into the choice)."""
    with torch.no_grad():
        idx = torch.cdist(fake, data).argmin(dim=1)  # (B,)
    return data[idx]


def check_pairing(pairing: str) -> str:
    if pairing not in PAIRINGS:
        raise ValueError(f"pairing must be one of {', '.join(PAIRINGS)}; got {pairing!r}")
    return pairing
