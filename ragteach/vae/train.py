"""One VAE training step: minimise reconstruction + β·KL on a mini-batch (β is a live knob)."""
from __future__ import annotations

from typing import Any

import torch

from ragteach.knobs import Knob, Knobs
from ragteach.training import Trainer, check_data, check_positive_int, eval_mode, seeded, set_lr
from ragteach.vae.model import VAE, VAEConfig


def vae_knobs(lr: float = 1e-3, beta: float = 1.0) -> Knobs:
    return Knobs.of(
        Knob("lr", lr, low=0.0, high=0.1, low_open=True, log=True, description="learning rate"),
        Knob("beta", beta, low=0.0, high=10.0, description="β (KL weight)"),
    )


class VAETrainer(Trainer):
    """Holds a VAE, its Adam optimiser, the training images and a seeded generator; ``trainer(knobs)`` is a step."""

    def default_knobs(self) -> Knobs:
        return vae_knobs()

    def __init__(self, cfg: VAEConfig, x_train: torch.Tensor, batch_size: int = 64, seed: int = 0,
                 device: str | torch.device = "cpu") -> None:
        check_data("x_train", x_train, cfg.data_dim)  # pixels in [-1, 1], read as Bernoulli means (x + 1)/2
        check_positive_int("batch_size", batch_size)
        super().__init__(seed, device)
        with seeded(seed):  # the initial weights
            self.vae = VAE(cfg).to(self.device)
        self.opt = torch.optim.Adam(self.vae.parameters(), lr=1e-3)
        self.modules, self.optimizers = {"vae": self.vae}, {"vae": self.opt}
        self.x_train, self.batch_size = x_train.to(self.device), batch_size

    def train_step(self, k: dict[str, Any]) -> dict[str, float]:
        set_lr(self.opt, k["lr"])
        idx = torch.randint(len(self.x_train), (self.batch_size,), generator=self.rng)
        terms = self.vae.loss_terms(self.x_train[idx.to(self.device)], self.rng)
        loss = terms["recon"] + k["beta"] * terms["kl"]
        self.update("vae", loss)
        return {"loss": loss.item(), **{name: t.item() for name, t in terms.items()}}

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor) -> dict[str, float]:
        """Reconstruction error (mean squared, from μ), and the ELBO terms (β = 1), on images x."""
        with eval_mode(self.vae):
            mu, _ = self.vae.encode(x)
            mse = (self.vae.decode(mu) - x).pow(2).sum(dim=1).mean().item()
            terms = {n: t.item() for n, t in self.vae.loss_terms(x, torch.Generator().manual_seed(0)).items()}
        return {"reconstruction mse": mse, **terms}

    def sample(self, n: int, *, seed: int = 1234) -> torch.Tensor:
        check_positive_int("n", n)
        with eval_mode(self.vae):
            return self.vae.sample(n, torch.Generator().manual_seed(seed)).cpu()
