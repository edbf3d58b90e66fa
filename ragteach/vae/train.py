"""One VAE training step: minimise reconstruction + β·KL on a mini-batch (β is a live knob)."""
from __future__ import annotations

from typing import Any

import torch

from ragteach.live.knobs import Knob, Knobs
from ragteach.vae.model import VAE, VAEConfig


def vae_knobs(lr: float = 1e-3, beta: float = 1.0) -> Knobs:
    return Knobs.of(
        Knob("lr", lr, low=0.0, high=0.1, low_open=True, log=True, description="learning rate"),
        Knob("beta", beta, low=0.0, high=10.0, description="β (KL weight)"),
    )


class VAETrainer:
    """Holds a VAE, its Adam optimiser, the training images and a seeded generator; ``trainer(knobs)`` is a step."""

    def __init__(self, cfg: VAEConfig, x_train: torch.Tensor, batch_size: int = 64, seed: int = 0,
                 device: str | torch.device = "cpu") -> None:
        if x_train.ndim != 2 or x_train.shape[1] != cfg.data_dim:
            raise ValueError(f"x_train must have shape (N, {cfg.data_dim}), got {tuple(x_train.shape)}")
        torch.manual_seed(seed)
        self.device = torch.device(device)
        self.vae = VAE(cfg).to(self.device)
        self.opt = torch.optim.Adam(self.vae.parameters(), lr=1e-3)
        self.x_train, self.batch_size = x_train.to(self.device), batch_size
        self.rng = torch.Generator().manual_seed(seed)

    def __call__(self, k: dict[str, Any]) -> dict[str, float]:
        for group in self.opt.param_groups:
            group["lr"] = k["lr"]
        idx = torch.randint(len(self.x_train), (self.batch_size,), generator=self.rng)
        terms = self.vae.loss_terms(self.x_train[idx.to(self.device)], self.rng)
        loss = terms["recon"] + k["beta"] * terms["kl"]
        if not torch.isfinite(loss):
            raise FloatingPointError(f"VAE loss is {loss.item()}; the update was not applied. Lower the learning rate.")
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return {"loss": loss.item(), **{name: t.item() for name, t in terms.items()}}

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor) -> dict[str, float]:
        """Reconstruction error (mean squared, from μ), and the ELBO terms (β = 1), on images x."""
        self.vae.eval()
        mu, _ = self.vae.encode(x)
        mse = (self.vae.decode(mu) - x).pow(2).sum(dim=1).mean().item()
        terms = {n: t.item() for n, t in self.vae.loss_terms(x, torch.Generator().manual_seed(0)).items()}
        self.vae.train()
        return {"reconstruction mse": mse, **terms}

    def sample(self, n: int, seed: int = 1234) -> torch.Tensor:
        return self.vae.sample(n, torch.Generator().manual_seed(seed)).cpu()

    def state_dict(self) -> dict[str, Any]:
        return {"vae": self.vae.state_dict(), "opt": self.opt.state_dict(), "rng": self.rng.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.vae.load_state_dict(state["vae"])
        self.opt.load_state_dict(state["opt"])
        self.rng.set_state(state["rng"])
