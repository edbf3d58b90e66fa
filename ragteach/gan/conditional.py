"""Conditional GAN (Mirza & Osindero 2014): both players see the class label y.

G(z, y) makes a sample of class y; D(x, y) judges whether x is a real sample *of class y*. The label
enters as a one-hot vector concatenated to the input of each network:

    L_D = −E_{x,y}[log D(x, y)] − E_{z,y}[log(1 − D(G(z, y), y))],   L_G = −E_{z,y}[log D(G(z, y), y)].
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from ragteach.gan.losses import d_loss, g_loss_non_saturating
from ragteach.gan.models import GANConfig
from ragteach.layers import mlp
from ragteach.metrics.discriminator import d_accuracy
from ragteach.knobs import Knob, Knobs
from ragteach.training import Trainer, check_positive_int, eval_mode, seeded, set_lr


def check_labels(y: torch.Tensor, n_classes: int) -> torch.Tensor:
    y = torch.as_tensor(y)
    if y.dtype.is_floating_point or y.ndim != 1:
        raise ValueError(f"labels must be a 1-D tensor of whole numbers, got dtype {y.dtype}, shape {tuple(y.shape)}")
    if len(y) and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"labels must be in [0, {n_classes - 1}], got values from {int(y.min())} to {int(y.max())}")
    return y


class CondGenerator(nn.Module):
    """G: (z (B, z_dim), y (B,)) -> x (B, data_dim)."""

    def __init__(self, cfg: GANConfig, n_classes: int = 10) -> None:
        super().__init__()
        self.z_dim, self.n_classes = cfg.z_dim, n_classes
        self.net = mlp([cfg.z_dim + n_classes, *cfg.g_hidden, cfg.data_dim], cfg.g_activation, cfg.g_out)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must have shape (B, {self.z_dim}), got {tuple(z.shape)}")
        y = check_labels(y, self.n_classes)
        onehot = F.one_hot(y, self.n_classes).to(z.dtype)  # (B, n_classes)
        return self.net(torch.cat([z, onehot], dim=1))


class CondDiscriminator(nn.Module):
    """D: (x (B, data_dim), y (B,)) -> logits (B,)."""

    def __init__(self, cfg: GANConfig, n_classes: int = 10) -> None:
        super().__init__()
        self.n_classes = n_classes
        self.net = mlp([cfg.data_dim + n_classes, *cfg.d_hidden, 1], "leaky_relu")

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        onehot = F.one_hot(check_labels(y, self.n_classes), self.n_classes).to(x.dtype)
        return self.net(torch.cat([x, onehot], dim=1)).squeeze(-1)


def cgan_knobs(lr_g: float = 1e-3, lr_d: float = 1e-3) -> Knobs:
    return Knobs.of(
        Knob("lr_g", lr_g, low=0.0, high=0.1, low_open=True, log=True, description="G learning rate"),
        Knob("lr_d", lr_d, low=0.0, high=0.1, low_open=True, log=True, description="D learning rate"),
    )


class CGANTrainer(Trainer):
    """A conditional GAN on labelled data; ``trainer(knobs)`` is one D step and one G step (all or nothing)."""

    fix = "Lower the learning rates (lr_g, lr_d) and run again."

    def default_knobs(self) -> Knobs:
        return cgan_knobs()

    def __init__(self, cfg: GANConfig, x: torch.Tensor, y: torch.Tensor, batch_size: int = 64, seed: int = 0,
                 n_classes: int = 10, betas: tuple[float, float] = (0.5, 0.999),
                 device: str | torch.device = "cpu") -> None:
        if len(x) != len(y) or len(x) == 0:
            raise ValueError(f"x and y must be non-empty and of equal length, got {len(x)} and {len(y)}")
        check_positive_int("batch_size", batch_size)
        super().__init__(seed, device)
        self.cfg, self.n_classes = cfg, n_classes
        with seeded(seed):  # the initial weights
            self.G = CondGenerator(cfg, n_classes).to(self.device)
            self.D = CondDiscriminator(cfg, n_classes).to(self.device)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=1e-3, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=1e-3, betas=betas)
        self.modules = {"G": self.G, "D": self.D}
        self.optimizers = {"G": self.opt_g, "D": self.opt_d}
        self.x, self.y = x.to(self.device), check_labels(y, n_classes).to(self.device)
        self.batch_size = batch_size

    def train_step(self, k: dict[str, Any]) -> dict[str, float]:
        set_lr(self.opt_g, k["lr_g"])
        set_lr(self.opt_d, k["lr_d"])
        B = self.batch_size
        idx = torch.randint(len(self.x), (B,), generator=self.rng).to(self.device)
        real, labels = self.x[idx], self.y[idx]
        fake_labels = torch.randint(self.n_classes, (B,), generator=self.rng).to(self.device)
        z = torch.randn(B, self.cfg.z_dim, generator=self.rng).to(self.device)
        fake = self.G(z, fake_labels)
        loss_d = d_loss(self.D(real, labels), self.D(fake.detach(), fake_labels))
        self.update("D", loss_d)
        loss_g = g_loss_non_saturating(self.D(fake, fake_labels))
        self.update("G", loss_g)
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        """``d_accuracy``: D's accuracy on held-out images ``x`` with their labels ``y`` against G's images of
        the same labels (fixed noise); 0.5 when D cannot tell them apart."""
        labels = check_labels(torch.as_tensor(y), self.n_classes).to(self.device)
        with eval_mode(self.D):
            return {"d_accuracy": float(d_accuracy(self.D(x.to(self.device), labels),
                                                   self.D(self.sample(labels).to(self.device), labels)))}

    @torch.no_grad()
    def sample(self, labels: torch.Tensor | list[int], *, seed: int = 1234,
               z: torch.Tensor | None = None) -> torch.Tensor:
        """One sample per requested label (fixed noise for a given seed, or the z given)."""
        labels = check_labels(torch.as_tensor(labels), self.n_classes)
        if z is None:
            z = torch.randn(len(labels), self.cfg.z_dim, generator=torch.Generator().manual_seed(seed))
        with eval_mode(self.G):
            return self.G(z.to(self.device), labels.to(self.device)).cpu()
