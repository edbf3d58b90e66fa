"""Pictures of a GAN: 2D samples over D's decision surface, GAN Lab's two views (how G warps its input
space, and the gradient field that moves the samples), and digit grids."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ragteach.data.toy2d import GaussianMixture2D
from ragteach.gan.losses import G_LOSSES
from ragteach.gan.train import GANTrainer
from ragteach.training import eval_mode
from ragteach.images import plot_digits
from ragteach.live.preview import Preview, new_figure, trained_with
from ragteach.metrics.modes import mode_stats, nearest_distance


def decision_surface(trainer: GANTrainer, lim: float, n: int = 50) -> np.ndarray:
    """D(x) = sigmoid(logit) on an n x n grid over [-lim, lim]^2 (each point judged as a full pack)."""
    axis = torch.linspace(-lim, lim, n)
    xx, yy = torch.meshgrid(axis, axis, indexing="xy")
    points = torch.stack([xx.flatten(), yy.flatten()], dim=1).to(trainer.device)
    with torch.no_grad():
        # A pack of m copies of the same point: D's opinion of "m samples all here".
        packed = points.repeat_interleave(trainer.cfg.pack, dim=0)
        return torch.sigmoid(trainer.D(packed)).reshape(n, n).cpu().numpy()


def generator_manifold(trainer: GANTrainer, lines: int = 15, lim: float = 2.5, points: int = 60) -> np.ndarray:
    """G's image of a square grid in z-space: ``(2 · lines, points, 2)`` polylines in x-space (GAN Lab's
    "manifold" view). The lines show how G stretches, folds and squeezes its input plane onto the data."""
    if trainer.cfg.z_dim != 2:
        raise ValueError(f"the manifold view needs 2-d noise (z_dim = 2), this generator has z_dim = {trainer.cfg.z_dim}")
    ticks, along = torch.linspace(-lim, lim, lines), torch.linspace(-lim, lim, points)
    rows = torch.stack([torch.stack([along, torch.full_like(along, t)], 1) for t in ticks])   # (lines, points, 2)
    grid = torch.cat([rows, rows.flip(-1)])                                                  # + the columns
    with torch.no_grad(), eval_mode(trainer.G):
        out = trainer.G(grid.reshape(-1, 2).to(trainer.device)).cpu()
    return out.reshape(2 * lines, points, 2).numpy()


def generator_gradient_field(trainer: GANTrainer, n: int = 120, seed: int = 1234) -> tuple[np.ndarray, np.ndarray]:
    """Where G's next update pushes each generated point: ``(points (n, 2), −∇_x L_G (n, 2))`` with
    L_G the trainer's generator loss (e.g. −log D(x)) at x = G(z), D held fixed (GAN Lab's gradient view).
    Uses ``torch.autograd.grad``, so no parameter's ``.grad`` is touched."""
    with torch.no_grad(), eval_mode(trainer.G):
        x = trainer.G.sample(n, torch.Generator().manual_seed(seed))
    x = x.detach().requires_grad_(True)
    logits = trainer.D(x.repeat_interleave(trainer.cfg.pack, dim=0))  # each point judged as a full pack
    loss = G_LOSSES[trainer.g_loss_name](logits) * len(logits)       # a sum: one gradient per point
    (grad,) = torch.autograd.grad(loss, x)
    return x.detach().cpu().numpy(), (-grad).cpu().numpy()


def gan_lab_preview(trainer: GANTrainer, mixture: GaussianMixture2D) -> Preview:
    """GAN Lab's views, live: left, G's image of a grid in z-space over the real points; right, D(x) as a
    heat map with the generated points and arrows where G's loss pushes them."""
    lim = float(mixture.centers.abs().max()) * 1.5
    real = mixture.sample(400, torch.Generator().manual_seed(0)).numpy()

    def collect(session: Any) -> dict[str, Any]:
        points, push = generator_gradient_field(trainer)
        return {"manifold": generator_manifold(trainer), "surface": decision_surface(trainer, lim),
                "points": points, "push": push, "step": session.step}

    def draw(d: dict[str, Any]) -> Figure:
        fig, (left, right) = new_figure(4.2, 4.2, ncols=2)
        fig.subplots_adjust(left=0.07, right=0.97, bottom=0.1, top=0.88, wspace=0.15)
        left.scatter(real[:, 0], real[:, 1], s=3, c="black", alpha=0.4)
        for line in d["manifold"]:
            left.plot(line[:, 0], line[:, 1], color="tab:orange", linewidth=0.6)
        left.set_title(f"step {d['step']}: G maps a grid of z", fontsize=10)
        right.imshow(d["surface"], extent=(-lim, lim, -lim, lim), origin="lower", cmap="coolwarm", vmin=0, vmax=1,
                     alpha=0.6)
        push = d["push"] / (np.abs(d["push"]).max() + 1e-12)
        right.quiver(d["points"][:, 0], d["points"][:, 1], push[:, 0], push[:, 1], color="black", width=0.004,
                     scale=8)
        right.scatter(d["points"][:, 0], d["points"][:, 1], s=5, c="tab:orange")
        right.set_title("D(x), and where G's loss moves G(z)", fontsize=10)
        for ax in (left, right):
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_aspect("equal")
        return fig

    return Preview("GAN Lab views", collect, draw)


def plot_toy(ax: Axes, real: np.ndarray, fake: np.ndarray, surface: np.ndarray | None, lim: float,
             title: str = "") -> None:
    """Real points (black), generated points (orange), D(x) as a heat map (blue = "fake", red = "real")."""
    if surface is not None:
        im = ax.imshow(surface, extent=(-lim, lim, -lim, lim), origin="lower", cmap="coolwarm",
                       vmin=0, vmax=1, alpha=0.6)
        ax.figure.colorbar(im, ax=ax, label="D(x)", shrink=0.8)
    ax.scatter(real[:, 0], real[:, 1], s=4, c="black", label="real")
    ax.scatter(fake[:, 0], fake[:, 1], s=4, c="tab:orange", alpha=0.6, label="generated")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=7, markerscale=3)


def toy_preview(trainer: GANTrainer, mixture: GaussianMixture2D, n: int = 500) -> Preview:
    """Live 'GAN Lab' picture: samples over D's decision surface, with the mode score in the title."""
    lim = float(mixture.centers.abs().max()) * 1.5
    real = mixture.sample(n, torch.Generator().manual_seed(0)).numpy()

    def collect(session: Any) -> dict[str, Any]:
        fake = trainer.sample(2500)
        return {"fake": fake[:n].numpy(), "surface": decision_surface(trainer, lim),
                "stats": mode_stats(fake, mixture), "step": session.step}

    def draw(d: dict[str, Any]) -> Figure:
        fig, (ax,) = new_figure(4.8, 4.2)
        plot_toy(ax, real, d["fake"], d["surface"], lim, f"step {d['step']}: {d['stats']}")
        return fig

    return Preview("samples and D(x)", collect, draw)


def digits_preview(trainer: GANTrainer, n: int = 64) -> Preview:
    """Live grid of generated digits from fixed noise."""

    def collect(session: Any) -> dict[str, Any]:
        return {"images": trainer.sample(n).numpy(), "step": session.step}

    def draw(d: dict[str, Any]) -> Figure:
        fig, (ax,) = new_figure(4.0, 4.2)
        plot_digits(ax, d["images"], title=f"generated digits, step {d['step']}")
        return fig

    return Preview("generated digits", collect, draw)


def nearest_pairs_preview(trainer: GANTrainer, x_train: torch.Tensor, n: int = 16) -> Preview:
    """Live: generated digits (top rows) above their nearest training images (bottom rows).
    Near-identical pairs mean the generator is copying its training set."""

    def collect(session: Any) -> dict[str, Any]:
        fake = trainer.sample(n)
        nearest = x_train[torch.cdist(fake, x_train).argmin(dim=1)]
        lam = trained_with(session, "lam") if "lam" in session.knobs else 0.0
        return {"images": torch.cat([fake, nearest]).numpy(), "step": session.step, "lam": lam}

    def draw(d: dict[str, Any]) -> Figure:
        fig, (ax,) = new_figure(4.4, 4.6)
        fig.subplots_adjust(left=0.04, right=0.96, bottom=0.03, top=0.85)
        plot_digits(ax, d["images"], nrow=8,
                    title=f"step {d['step']}, trained with λ={d['lam']:g}\ntop: generated\n"
                          f"bottom: nearest training digit")
        return fig

    return Preview("generated vs nearest", collect, draw)


# ----------------------------------------------------------------------------- toy runs over several seeds
def _band(ax: Axes, runs: list[Any], values: Any, color: str) -> None:
    """Mean over seeds (line) and the range over seeds (shaded) of ``values(run)`` at each evaluation."""
    v = np.array([values(r) for r in runs], dtype=float)
    ax.plot(runs[0].curve("step"), v.mean(0), color=color, marker="o", ms=3,
            label=f"{runs[0]['method']} (mean of {len(v)})")
    ax.fill_between(runs[0].curve("step"), v.min(0), v.max(0), color=color, alpha=0.2)


def toy_run_curves(groups: list[tuple[list[Any], str]], mixtures: list[GaussianMixture2D],
                   ceiling: list[dict[str, Any]], sharpen_fraction: float) -> Figure:
    """One column per mixture, three rows: modes captured, high-quality %, D's accuracy % over training.

    groups: (runs, colour) pairs, e.g. ``[(runs["GAN"], "tab:blue")]``: each group's toy runs of a mixture
        (:class:`ragteach.runs.Run` records with curves ``modes``, ``high_quality``, ``d_accuracy``) are drawn as their mean and range; a group without runs on a
        mixture is left out of that column.
    ceiling: rows of ``real_ceiling_rows`` (real data scored the same way), drawn dotted.
    sharpen_fraction: the learning rate falls over this last fraction of each run; where it starts to fall is
        drawn dashed, in the group's colour (groups may train for different numbers of steps).
    """
    import matplotlib.pyplot as plt   # pyplot here only: the live previews draw on figures pyplot does not track

    fig, axes = plt.subplots(3, len(mixtures), figsize=(6 * len(mixtures), 10), sharex="col", squeeze=False)
    for col, mix in enumerate(mixtures):
        for group, color in groups:
            rs = [r for r in group if r["mixture"] == mix.name]
            if rs:
                _band(axes[0, col], rs, lambda r: r.curve("modes"), color)
                _band(axes[1, col], rs, lambda r: [100 * h for h in r.curve("high_quality")], color)
                _band(axes[2, col], rs, lambda r: [100 * a for a in r.curve("d_accuracy")], color)
                for ax in axes[:, col]:
                    ax.axvline(rs[0].curve("step")[-1] * (1 - sharpen_fraction), color=color, linestyle="--", linewidth=0.8)
        ceil = next(r for r in ceiling if r["mixture"] == mix.name)
        axes[0, col].axhline(ceil["modes_mean"], color="black", linestyle=":", label="real data")
        axes[1, col].axhline(ceil["hq_mean"], color="black", linestyle=":", label="real data (ceiling)")
        axes[2, col].axhline(50, color="black", linestyle=":", label="chance")
        for ax in axes[:, col]:
            ax.legend(fontsize=7)
        axes[0, col].set_title(f"{mix.name}: modes captured (dashed: lr starts to fall)")
        axes[1, col].set_title(f"{mix.name}: high-quality samples %")
        axes[2, col].set_title(f"{mix.name}: D's accuracy on fresh real and generated samples %")
        axes[2, col].set_xlabel("step")
    return fig


def toy_run_samples(runs: list[Any], n: int = 2500) -> Figure:
    """One panel per run: ``n`` of its samples (orange) over its mixture's modes (black), scored in the title."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(runs), figsize=(3.5 * len(runs), 3.4), squeeze=False)
    for ax, run in zip(axes[0], runs):
        x, mix = run.sample(n), run["data"]
        ax.scatter(x[:, 0], x[:, 1], s=1, alpha=0.4, c="tab:orange")
        ax.scatter(mix.centers[:, 0], mix.centers[:, 1], s=8, c="black")
        ax.set_title(f"{run['method']}, {mix.name}, seed {run['seed']}\n{mode_stats(x, mix)}", fontsize=8)
        ax.set_aspect("equal")
    return fig


def miss_distance_figure(runs: list[Any], n: int = 2500, seed: int = 0) -> Figure:
    """One panel per mixture: how far each sample lies from its nearest mode, in units of σ, for the
    generated samples of ``runs`` (pooled over seeds) and as many real samples; dashed at 3σ and 6σ.

    runs: toy :class:`ragteach.runs.Run` records (settings ``mixture`` and ``data``, the mixture). The y axis is logarithmic, so the few samples far from every
    mode stay visible next to the many on the modes."""
    import matplotlib.pyplot as plt

    mixtures = {r["mixture"]: r["data"] for r in runs}
    fig, axes = plt.subplots(1, len(mixtures), figsize=(6 * len(mixtures), 4), squeeze=False, layout="constrained")
    for ax, (name, mix) in zip(axes[0], mixtures.items()):
        fake = torch.cat([r.sample(n) for r in runs if r["mixture"] == name])
        real = mix.sample(len(fake), torch.Generator().manual_seed(seed))
        gen_r, real_r = nearest_distance(fake, mix), nearest_distance(real, mix)
        top = max(gen_r.max().item(), real_r.max().item(), 10.0)
        bins = np.logspace(-1.5, np.log10(top * 1.01), 50)
        for r, label, color in ((real_r, "real data", "black"), (gen_r, "generated", "tab:blue")):
            ax.hist(r.numpy(), bins=bins, weights=np.full(len(r), 100 / len(r)), histtype="step", color=color,
                    label=f"{label} ({len(r):,} samples)")
        for k in (3, 6):
            ax.axvline(k, color="grey", linestyle="--", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("distance to the nearest mode / σ (dashed: 3σ and 6σ)")
        ax.set_ylabel("% of samples per bin")
        ax.set_title(f"{name}: where the samples lie")
        ax.legend(fontsize=7)
    return fig
