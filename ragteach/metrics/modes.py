"""Mode coverage on 2D mixtures, as in the PacGAN paper (Lin et al. 2018, following VEEGAN).

Generate samples (2,500 in the paper). Each sample is assigned to its nearest mode centre. It is
**high quality** if it lies within 3σ of that centre. A mode is **captured** if at least one
high-quality sample is assigned to it. Report the number of modes captured and the share of
high-quality samples.

:func:`miss_shares` says where the other samples lie: just outside a mode (3σ to 6σ), or far from every
mode, i.e. between modes, where real data almost never lies.
"""
from __future__ import annotations

import numbers
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
    if isinstance(n_std, (bool, np.bool_)) or not isinstance(n_std, numbers.Real) or not 0 < n_std < float("inf"):
        raise ValueError(f"n_std must be a finite number > 0 (the paper uses 3), got {n_std!r}")
    r, nearest = _nearest(samples, mixture)
    hq = r <= n_std
    counts = torch.bincount(nearest[hq], minlength=mixture.n_modes)
    return ModeStats(int((counts > 0).sum()), mixture.n_modes, hq.float().mean().item(), counts)


def _nearest(samples: torch.Tensor | np.ndarray, mixture: GaussianMixture2D) -> tuple[torch.Tensor, torch.Tensor]:
    """(N,) distance of each sample to its nearest mode centre in units of σ, and (N,) that mode's index."""
    samples = torch.as_tensor(samples)
    if samples.ndim != 2 or samples.shape[1] != 2 or len(samples) == 0:
        raise ValueError(f"samples must be a non-empty (N, 2) tensor, got shape {tuple(samples.shape)}")
    bad = int((~torch.isfinite(samples).all(dim=1)).sum())
    if bad:
        raise ValueError(f"{bad} of {len(samples)} samples are NaN or infinite: the generator diverged. Lower the "
                         f"learning rates and retrain (or load a checkpoint) before scoring")
    dist, nearest = torch.cdist(samples.float(), mixture.centers).min(dim=1)
    return dist / mixture.std, nearest


def nearest_distance(samples: torch.Tensor | np.ndarray, mixture: GaussianMixture2D) -> torch.Tensor:
    """(N,) distance of each sample to its nearest mode centre, in units of the mixture's σ."""
    return _nearest(samples, mixture)[0]


@dataclass(frozen=True)
class MissShares:
    """Shares of samples (each in [0, 1], summing to 1) by their distance r to the nearest mode centre."""

    near: float      # r ≤ 3σ: high quality (the share mode_stats reports)
    loose: float     # 3σ < r ≤ 6σ: just outside a mode, as a slightly too wide mode would put them
    between: float   # r > 6σ: far from every mode (between modes, or off the data altogether)


def miss_shares(samples: torch.Tensor | np.ndarray, mixture: GaussianMixture2D, n_std: float = 3.0,
                far_std: float = 6.0) -> MissShares:
    """Where the samples that are not high quality lie.

    A real sample of a 2-d Gaussian mode lies farther than kσ from its centre with probability e^{−k²/2}:
    1.1 % beyond 3σ, 1.5·10⁻⁸ beyond 6σ. So real data puts its misses in the "loose" band and essentially
    none "between" modes; a generator's samples beyond 6σ are samples no real mode explains.
    """
    if not 0 < n_std < far_std < float("inf"):
        raise ValueError(f"need 0 < n_std < far_std (e.g. 3 and 6), got n_std={n_std!r}, far_std={far_std!r}")
    r = nearest_distance(samples, mixture)
    loose = (r > n_std) & (r <= far_std)
    return MissShares((r <= n_std).float().mean().item(), loose.float().mean().item(),
                      (r > far_std).float().mean().item())
