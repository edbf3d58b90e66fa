"""The article's toy dynamics of random activation: ``y_t = y_{t−1}·P(t) + ε_t`` with ``P(t) = λ·Beta(α, β)``."""
from __future__ import annotations

import numpy as np

from ragteach.gpt.random_activation import ActivationSettings


def sample_p(settings: ActivationSettings, n: int, seed: int = 0) -> np.ndarray:
    """n draws of the per-step p under ``settings`` (fixed p repeated, or λ·Beta(α, β))."""
    if settings.source == "fixed":
        return np.full(n, settings.p)
    return settings.lam * np.random.default_rng(seed).beta(settings.alpha, settings.beta, size=n)


def simulate_dynamics(steps: int, settings: ActivationSettings, y0: float = 1.0, noise_std: float = 0.1,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The article's toy dynamics ``y_t = y_{t−1}·P(t) + ε_t``, ε_t ~ N(0, noise_std²).

    Returns (y, P) of length ``steps + 1`` (``P[0]`` unused). With P(t) drawn independently of y,
    ``E[y_t | y_0] = y_0·E[P]^t``: the starting signal decays geometrically **when E[P] < 1** (``P ≤ 1`` alone
    is not enough: a fixed P = 1 never forgets y_0) and the noise takes over, with stationary variance
    ``σ²/(1 − E[P²])`` (which needs E[P²] < 1).
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if noise_std < 0:
        raise ValueError(f"noise_std must be >= 0, got {noise_std}")
    rng = np.random.default_rng(seed)
    P = np.concatenate([[1.0], sample_p(settings, steps, seed=seed + 1)])
    eps = rng.normal(0.0, noise_std, size=steps + 1)
    y = np.empty(steps + 1)
    y[0] = y0
    for t in range(1, steps + 1):
        y[t] = y[t - 1] * P[t] + eps[t]
    return y, P
