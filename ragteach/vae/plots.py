"""Pictures of a VAE: the 2D latent map (decoded digits on a grid of z values)."""
from __future__ import annotations

from typing import Any

import torch
from matplotlib.figure import Figure

from ragteach.images import plot_digits
from ragteach.live.preview import Preview, new_figure, trained_with
from ragteach.training import eval_mode
from ragteach.vae.model import VAE


@torch.no_grad()
def latent_grid(vae: VAE, n: int = 10, lim: float = 2.5) -> torch.Tensor:
    """Decode an n x n grid of z in [−lim, lim]² (the first two latent dimensions; others 0): (n², 64)."""
    axis = torch.linspace(-lim, lim, n)
    zy, zx = torch.meshgrid(axis.flip(0), axis, indexing="ij")  # top row = largest z2
    z = torch.zeros(n * n, vae.cfg.latent_dim)
    z[:, 0], z[:, 1] = zx.flatten(), zy.flatten()
    return vae.decode(z.to(next(vae.parameters()).device)).cpu()


def latent_map_preview(vae: VAE, n: int = 10, lim: float = 2.5) -> Preview:
    """Live 2D latent map: how the decoder lays the digits out over the latent plane."""

    def collect(session: Any) -> dict[str, Any]:
        with eval_mode(vae):
            images = latent_grid(vae, n, lim)
        return {"images": images.numpy(), "step": session.step, "beta": trained_with(session, "beta")}

    def draw(d: dict[str, Any]) -> Figure:
        fig, (ax,) = new_figure(4.2, 4.4)
        plot_digits(ax, d["images"], nrow=n,
                    title=f"decoded z ∈ [−{lim}, {lim}]²\nstep {d['step']}, trained with β={d['beta']:g}")
        return fig

    return Preview("latent map", collect, draw)
