"""Building blocks shared by several models (GAN players, conditional GAN, VAE encoder/decoder)."""
from __future__ import annotations

import torch.nn as nn

ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2), "tanh": nn.Tanh}


def mlp(sizes: list[int], activation: str = "relu", out_activation: str | None = None) -> nn.Sequential:
    """Linear layers of the given sizes with ``activation`` between them (and ``out_activation`` after
    the last one, if given): ``[2, 128, 1]`` is Linear(2, 128) → activation → Linear(128, 1)."""
    for name in (activation, out_activation):
        if name is not None and name not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    if len(sizes) < 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
        raise ValueError(f"sizes must be at least two whole numbers >= 1 (input, ..., output), got {sizes!r}")
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    if out_activation is not None:
        layers.append(ACTIVATIONS[out_activation]())
    return nn.Sequential(*layers)
