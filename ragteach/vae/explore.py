"""Interactive plotly explorers of a finished VAE or conditional GAN: hover over the latent plane, see the digit.

Plain ``plotly.graph_objects.Figure`` objects (no FigureWidget, no kernel callbacks), so the same figure works
in JupyterLab, in Colab and on the static website. Two things make "hover shows the decoded digit" work without
a running kernel:

- **an image layer**: the decoder's output on a grid of latent codes, drawn under the points as one picture
  placed in data coordinates (``layout.images``), so the digit under the mouse is the decoded digit there;
  zooming in enlarges it;
- **a hover label that draws the digit**: 8x8 pixels as text, one block character per pixel shade
  (``"·░▒▓█"``), in a monospace font. Plotly hover labels cannot show pictures, but they can show text.

No Jupyter import here: a notebook shows a figure with ``fig.show()``.
"""
from __future__ import annotations

import base64
import io
from typing import Sequence

import numpy as np
import plotly.graph_objects as go
import torch

from ragteach.training import eval_mode

SHADES = "·░▒▓█"  # background, then darker and darker (spaces would collapse in a hover label)
MONO = "DejaVu Sans Mono, Menlo, Consolas, Liberation Mono, monospace"
CLASS_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def digit_text(image: torch.Tensor | np.ndarray, side: int = 8) -> str:
    """An image (side², values in [-1, 1], −1 = background) as rows of shade characters joined by <br>.

    Pixel v maps to ``SHADES[round((v + 1) / 2 · 4)]``; each pixel is two characters wide so that the
    digit keeps its aspect ratio in a monospace font."""
    x = np.asarray(image, dtype=np.float64).reshape(-1)
    if x.size != side * side:
        raise ValueError(f"image must have {side * side} pixels, got {x.size}")
    idx = np.clip(np.rint((np.clip(x, -1, 1) + 1) / 2 * (len(SHADES) - 1)), 0, len(SHADES) - 1).astype(int)
    rows = idx.reshape(side, side)
    return "<br>".join("".join(SHADES[i] * 2 for i in row) for row in rows)


def grid_png(images: torch.Tensor | np.ndarray, n: int, side: int = 8, scale: int = 4) -> str:
    """n x n images (n², side²) in [-1, 1] tiled row by row into one PNG with a 1-pixel white gap between
    tiles, as a data URI (dark ink on white, each pixel ``scale`` x ``scale``)."""
    from PIL import Image

    x = np.asarray(images, dtype=np.float32)
    if x.size != n * n * side * side:
        raise ValueError(f"need {n}x{n} images of {side}x{side} pixels, got an array of shape {x.shape}")
    x = x.reshape(n, n, side, side)
    step = side + 1
    canvas = np.full((n * step + 1, n * step + 1), -1.0, dtype=np.float32)
    for r in range(n):
        for c in range(n):
            canvas[1 + r * step:1 + r * step + side, 1 + c * step:1 + c * step + side] = x[r, c]
    grey = np.rint((1 - (np.clip(canvas, -1, 1) + 1) / 2) * 255).astype(np.uint8)  # −1 → white, 1 → black
    h, w = grey.shape
    img = Image.fromarray(grey, mode="L").resize((w * scale, h * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def grid_codes(x_range: tuple[float, float], y_range: tuple[float, float], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Centres of an n x n grid of cells covering the ranges: (xs (n,), ys (n,)), ys from top to bottom."""
    if n < 2:
        raise ValueError(f"the grid needs n >= 2 cells per side, got {n}")
    (x0, x1), (y0, y1) = x_range, y_range
    if not (x1 > x0 and y1 > y0):
        raise ValueError(f"ranges must be increasing, got {x_range} and {y_range}")
    wx, wy = (x1 - x0) / n, (y1 - y0) / n
    return x0 + wx * (np.arange(n) + 0.5), y1 - wy * (np.arange(n) + 0.5)


def _image_layer(source: str, x_range: tuple[float, float], y_range: tuple[float, float], opacity: float) -> dict:
    return dict(source=source, xref="x", yref="y", x=x_range[0], y=y_range[1], sizex=x_range[1] - x_range[0],
                sizey=y_range[1] - y_range[0], sizing="stretch", layer="below", opacity=opacity)


def _hover_grid(xs: np.ndarray, ys: np.ndarray, images: torch.Tensor, name: str, visible: bool = True) -> go.Scatter:
    """Invisible points at the grid centres whose hover label draws the decoded digit there."""
    gx, gy = np.meshgrid(xs, ys)  # row r of the picture is ys[r]
    return go.Scatter(x=gx.ravel(), y=gy.ravel(), mode="markers", name=name, visible=visible, showlegend=False,
                      marker=dict(size=14, opacity=0), text=[digit_text(img) for img in images],
                      hovertemplate="z = (%{x:.2f}, %{y:.2f})<br>decoded:<br>%{text}<extra></extra>")


def _layout(fig: go.Figure, title: str, x_range: tuple[float, float], y_range: tuple[float, float],
            xlabel: str, ylabel: str) -> None:
    # hoverdistance −1: wherever the mouse is, the nearest point (a test digit or a grid cell) shows its digit
    fig.update_layout(title=title, width=720, height=640, template="plotly_white", hovermode="closest", hoverdistance=-1,
                      hoverlabel=dict(font=dict(family=MONO, size=13), bgcolor="white"),
                      legend=dict(title="test digit", itemsizing="constant"), margin=dict(l=50, r=20, t=80, b=50))
    fig.update_xaxes(range=list(x_range), title=xlabel, showgrid=False, zeroline=False)
    fig.update_yaxes(range=list(y_range), title=ylabel, showgrid=False, zeroline=False, scaleanchor="x", scaleratio=1)


@torch.no_grad()
def vae_latent_explorer(vae: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, n_grid: int = 15,
                        lim: float | None = None, opacity: float = 0.55) -> go.Figure:
    """A 2-d latent map of a trained VAE: test digits at their encoder means μ(x), coloured by label, over the
    decoder's output on an ``n_grid`` x ``n_grid`` grid of z (drawn as one image, under the points).

    Hover a point: its label, μ(x), and decode(μ(x)) drawn in shade characters. Hover the background: the
    decoded digit of that grid cell. ``lim`` (default: covers 99 % of the points) sets the plane [−lim, lim]².
    """
    if vae.cfg.latent_dim != 2:
        raise ValueError(f"the explorer draws a 2-d latent plane; this VAE has latent_dim={vae.cfg.latent_dim}")
    if x.ndim != 2 or len(x) != len(y):
        raise ValueError(f"x must be (N, D) with one label per row, got {tuple(x.shape)} and {len(y)} labels")
    device = next(vae.parameters()).device
    with eval_mode(vae):
        mu = vae.encode(x.to(device))[0].cpu()
        decoded = vae.decode(mu.to(device)).cpu()
        if lim is None:
            lim = float(torch.quantile(mu.abs().flatten(), 0.99)) * 1.05
        if not lim > 0:
            raise ValueError(f"lim must be > 0, got {lim}")
        rng = (-lim, lim)
        xs, ys = grid_codes(rng, rng, n_grid)
        gx, gy = np.meshgrid(xs, ys)
        z = torch.tensor(np.stack([gx.ravel(), gy.ravel()], axis=1), dtype=torch.float32)
        grid = vae.decode(z.to(device)).cpu()
    fig = go.Figure()
    fig.add_trace(_hover_grid(xs, ys, grid, "decoded grid"))
    labels = np.asarray(y)
    for k in sorted(set(labels.tolist())):
        m = labels == k
        fig.add_trace(go.Scatter(
            x=mu[m, 0].numpy(), y=mu[m, 1].numpy(), mode="markers", name=str(k),
            marker=dict(size=7, color=CLASS_COLOURS[k % 10], line=dict(width=0.5, color="white")),
            text=[digit_text(img) for img in decoded[torch.as_tensor(m)]],
            hovertemplate=f"test digit {k}<br>μ(x) = (%{{x:.2f}}, %{{y:.2f}})<br>decode(μ):<br>%{{text}}<extra></extra>"))
    fig.add_layout_image(_image_layer(grid_png(grid, n_grid), rng, rng, opacity))
    _layout(fig, "VAE latent space: test digits at μ(x) over decode(z) · hover to see a decoded digit",
            rng, rng, "z₁", "z₂")
    return fig


@torch.no_grad()
def cgan_latent_explorer(generator: torch.nn.Module, z_base: torch.Tensor, classes: Sequence[int] = range(10),
                         n_grid: int = 9, lim: float = 2.5, start: int = 3) -> go.Figure:
    """The conditional GAN's G(z, y) over a grid of (z₁, z₂) ∈ [−lim, lim]², the other noise dimensions fixed at
    ``z_base`` (1, z_dim); buttons choose the class y. Hover a cell: its z₁, z₂ and the digit drawn there."""
    if z_base.ndim != 2 or z_base.shape[0] != 1:
        raise ValueError(f"z_base must have shape (1, z_dim), got {tuple(z_base.shape)}")
    classes = list(classes)
    if start not in classes:
        raise ValueError(f"start={start} is not one of the classes {classes}")
    rng = (-lim, lim)
    xs, ys = grid_codes(rng, rng, n_grid)
    gx, gy = np.meshgrid(xs, ys)
    z = z_base.repeat(n_grid * n_grid, 1)
    z[:, 0], z[:, 1] = torch.tensor(gx.ravel()), torch.tensor(gy.ravel())
    device = next(generator.parameters()).device
    fig, images = go.Figure(), []
    with eval_mode(generator):
        for k in classes:
            out = generator(z.to(device), torch.full((len(z),), k, dtype=torch.long, device=device)).cpu()
            fig.add_trace(_hover_grid(xs, ys, out, f"digit {k}", visible=(k == start)))
            images.append(_image_layer(grid_png(out, n_grid), rng, rng, 1.0))
    buttons = [dict(label=str(k), method="update",
                    args=[{"visible": [j == i for j in range(len(classes))]},
                          {"images": [images[i]], "title.text": f"conditional GAN: G(z, y={k}) over (z₁, z₂)"}])
               for i, k in enumerate(classes)]
    fig.update_layout(images=[images[classes.index(start)]],
                      updatemenus=[dict(type="buttons", direction="right", buttons=buttons, active=classes.index(start),
                                        x=0.12, xanchor="left", y=1.02, yanchor="bottom", showactive=True)])
    _layout(fig, f"conditional GAN: G(z, y={start}) over (z₁, z₂)", rng, rng, "z₁", "z₂")
    fig.update_layout(margin=dict(t=120), annotations=[dict(text="class y:", x=0.0, xref="paper", xanchor="left",
                                                            y=1.06, yref="paper", showarrow=False)])
    return fig

