"""Mode coverage on 2D mixtures, as in the PacGAN paper (Lin et al. 2018, following VEEGAN).

Generate samples (2,500 in the paper). Each sample is assigned to its nearest mode centre. It is
**high quality** if it lies within 3σ of that centre. A mode is **captured** if at least one
high-quality sample is assigned to it. Report the number of modes captured and the share of
high-quality samples.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ragteach.data.toy2d import GaussianMixture2D


@dataclass(frozen=True)
class ModeStats:
    modes_captured: int
    n_modes: int
    high_quality: float  # share of samples within 3σ of their nearest mode, in [0, 1]
    counts: torch.Tensor  # (K,) high-quality samples per mode

    def __str__(self) -> str:
        return f"{self.modes_captured}/{self.n_modes} modes, {100 * self.high_quality:.1f}% high quality"


def mode_stats(samples: torch.Tensor | np.ndarray, mixture: GaussianMixture2D, n_std: float = 3.0) -> ModeStats:
    """Modes captured and high-quality share of ``samples`` (N, 2) (a tensor or numpy array) against ``mixture``."""
    if isinstance(n_std, bool) or not isinstance(n_std, (int, float)) or not 0 < n_std < float("inf"):
        raise ValueError(f"n_std must be a finite number > 0 (the paper uses 3), got {n_std!r}")
    samples = torch.as_tensor(samples)
    if samples.ndim != 2 or samples.shape[1] != 2 or len(samples) == 0:
        raise ValueError(f"samples must be a non-empty (N, 2) tensor, got shape {tuple(samples.shape)}")
    bad = int((~torch.isfinite(samples).all(dim=1)).sum())
    if bad:
        raise ValueError(f"{bad} of {len(samples)} samples are NaN or infinite: the generator diverged. Lower the "
                         f"learning rates and retrain (or load a checkpoint) before scoring")
    dist = torch.cdist(samples.float(), mixture.centers)  # (N, K)
    nearest_dist, nearest = dist.min(dim=1)
    hq = nearest_dist <= n_std * mixture.std
    counts = torch.bincount(nearest[hq], minlength=mixture.n_modes)
    return ModeStats(int((counts > 0).sum()), mixture.n_modes, hq.float().mean().item(), counts)
