"""Showing images: grids of 8×8 digits (real, generated, decoded), used by every digits notebook."""
from __future__ import annotations

import numpy as np
import torch
from matplotlib.axes import Axes


def plot_digits(ax: Axes, images: torch.Tensor | np.ndarray, nrow: int = 8, title: str = "") -> None:
    """Show images (N, 64) in [-1, 1] as an nrow-wide grid of 8x8 tiles."""
    x = np.asarray(images, dtype=np.float32).reshape(-1, 8, 8)
    ncol = int(np.ceil(len(x) / nrow))
    canvas = np.full((ncol * 9 + 1, nrow * 9 + 1), -1.0, dtype=np.float32)
    for i, img in enumerate(x):
        r, c = divmod(i, nrow)
        canvas[1 + 9 * r:9 + 9 * r, 1 + 9 * c:9 + 9 * c] = img
    ax.imshow(canvas, cmap="gray_r", vmin=-1, vmax=1)
    ax.set_axis_off()
    ax.set_title(title)
