"""scikit-learn's 8x8 handwritten digits (1,797 images, shipped with the package: no download).

Pixels are integers 0..16; we scale them to [-1, 1] (``x / 8 - 1``) so that a generator with a
tanh output can reach every value.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Digits:
    """Train/test split of the digits as float tensors in [-1, 1], shape (N, 64), and labels."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    image_shape = (8, 8)
    n_classes = 10

    def train_fraction(self, fraction: float, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """A stratified share of the training set (e.g. 0.1 for the "less data" experiments)."""
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        if fraction == 1.0:
            return self.x_train, self.y_train
        from sklearn.model_selection import train_test_split

        idx, _ = train_test_split(np.arange(len(self.y_train)), train_size=fraction, random_state=seed,
                                  stratify=self.y_train.numpy())
        idx = torch.as_tensor(np.sort(idx))
        return self.x_train[idx], self.y_train[idx]


def to_unit_range(pixels: np.ndarray) -> torch.Tensor:
    """Map pixel values 0..16 to [-1, 1]."""
    return torch.as_tensor(pixels, dtype=torch.float32) / 8.0 - 1.0


def load_digits(test_fraction: float = 0.25, seed: int = 0) -> Digits:
    """Load and split the digits with a fixed, stratified shuffle."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    from sklearn.datasets import load_digits as _load
    from sklearn.model_selection import train_test_split

    data = _load()
    x_tr, x_te, y_tr, y_te = train_test_split(
        data.data, data.target, test_size=test_fraction, random_state=seed, stratify=data.target)
    return Digits(to_unit_range(x_tr), torch.as_tensor(y_tr), to_unit_range(x_te), torch.as_tensor(y_te))
