"""One GAN training step, the seed's five-step loop made explicit.

(1) G and D are initialised in ``GANTrainer.__init__``; then every step
(2) G turns noise into fake data, (3) D scores real and fake data, (4) the losses measure the game,
(5) D and G each take an optimiser step. ``d_steps`` D updates are made per G update.

The trainer is a plain callable ``trainer(knob_values) -> metrics`` so a
:class:`~ragteach.live.session.TrainingSession` can drive it; it never imports Jupyter.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from ragteach.gan import randomize
from ragteach.gan.losses import G_LOSSES, d_loss
from ragteach.gan.models import Discriminator, GANConfig, Generator
from ragteach.live.knobs import Knob, Knobs

RealSampler = Callable[[int, torch.Generator], torch.Tensor]


def tensor_sampler(data: torch.Tensor) -> RealSampler:
    """Sample mini-batches of rows of ``data`` uniformly with replacement."""
    if data.ndim != 2 or len(data) == 0:
        raise ValueError(f"data must be a non-empty (N, D) tensor, got shape {tuple(data.shape)}")

    def sample(n: int, generator: torch.Generator) -> torch.Tensor:
        return data[torch.randint(len(data), (n,), generator=generator)]

    return sample


def gan_knobs(lr_g: float = 1e-3, lr_d: float = 1e-3, d_steps: int = 1, instance_noise: float = 0.0,
              noise_anneal_steps: int = 0, label_smoothing: float = 0.0, label_flip: float = 0.0) -> Knobs:
    """The knobs a GAN step reads; every one is range-checked."""
    return Knobs.of(
        Knob("lr_g", lr_g, low=0.0, high=0.1, low_open=True, log=True, description="G learning rate"),
        Knob("lr_d", lr_d, low=0.0, high=0.1, low_open=True, log=True, description="D learning rate"),
        Knob("d_steps", d_steps, low=1, high=10, kind="int", description="D steps per G step"),
        Knob("instance_noise", instance_noise, low=0.0, high=2.0, description="instance noise σ0"),
        Knob("noise_anneal_steps", noise_anneal_steps, low=0, high=100_000, kind="int",
             description="anneal noise over"),
        Knob("label_smoothing", label_smoothing, low=0.0, high=0.5, description="label smoothing α"),
        Knob("label_flip", label_flip, low=0.0, high=0.5, description="label flip prob."),
    )


class GANTrainer:
    """Holds G, D, their Adam optimisers and a seeded random generator; ``trainer(knobs)`` is one step.

    sample_real: draws a batch of real data (the *only* place real data enters).
    g_loss: ``"non_saturating"`` (−E log D(G(z))) or ``"minimax"`` (E log(1 − D(G(z)))).
    betas: Adam's (β1, β2); the seeds use (0.5, 0.999), the DCGAN setting.
    """

    def __init__(self, cfg: GANConfig, sample_real: RealSampler, batch_size: int = 256, seed: int = 0,
                 g_loss: str = "non_saturating", betas: tuple[float, float] = (0.5, 0.999),
                 device: str | torch.device = "cpu") -> None:
        if g_loss not in G_LOSSES:
            raise ValueError(f"g_loss must be one of {sorted(G_LOSSES)}, got {g_loss!r}")
        if batch_size <= 0 or batch_size % cfg.pack:
            raise ValueError(f"batch_size must be a positive multiple of pack={cfg.pack}, got {batch_size}")
        self.cfg, self.sample_real, self.batch_size = cfg, sample_real, batch_size
        self.g_loss_name, self.device = g_loss, torch.device(device)
        torch.manual_seed(seed)  # the initial weights
        self.G = Generator(cfg).to(self.device)
        self.D = Discriminator(cfg).to(self.device)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=1e-3, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=1e-3, betas=betas)
        self.rng = torch.Generator().manual_seed(seed)  # batches, noise, flips
        self.steps = 0

    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.cfg.z_dim, generator=self.rng).to(self.device)

    def _d_step(self, k: dict[str, Any], noise_std: float) -> dict[str, float]:
        real = self.sample_real(self.batch_size, self.rng).to(self.device)
        with torch.no_grad():
            fake = self.G(self._noise(self.batch_size))
        real = randomize.add_instance_noise(real, noise_std, self.rng)
        fake = randomize.add_instance_noise(fake, noise_std, self.rng)
        real_logits, fake_logits = self.D(real), self.D(fake)
        n = real_logits.shape[0]
        real_t = randomize.targets(n, 1.0 - k["label_smoothing"], k["label_flip"], self.rng).to(self.device)
        fake_t = randomize.targets(n, 0.0, k["label_flip"], self.rng).to(self.device)
        loss = d_loss(real_logits, fake_logits, real_t, fake_t)
        _check_finite("loss_d", loss, self.steps)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        return {"loss_d": loss.item(), "d_real": torch.sigmoid(real_logits).mean().item(),
                "d_fake": torch.sigmoid(fake_logits).mean().item()}

    def _g_step(self, noise_std: float) -> float:
        fake = randomize.add_instance_noise(self.G(self._noise(self.batch_size)), noise_std, self.rng)
        loss = G_LOSSES[self.g_loss_name](self.D(fake))
        _check_finite("loss_g", loss, self.steps)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        return loss.item()

    def __call__(self, k: dict[str, Any]) -> dict[str, float]:
        """One step: ``d_steps`` discriminator updates, then one generator update."""
        _set_lr(self.opt_g, k["lr_g"])
        _set_lr(self.opt_d, k["lr_d"])
        noise_std = randomize.annealed_std(k["instance_noise"], self.steps, k["noise_anneal_steps"])
        for _ in range(k["d_steps"]):
            metrics = self._d_step(k, noise_std)
        metrics["loss_g"] = self._g_step(noise_std)
        metrics["noise_std"] = noise_std
        self.steps += 1
        return metrics

    def sample(self, n: int, seed: int = 1234) -> torch.Tensor:
        """n generated samples from fixed noise (same ``seed``, same z: previews are comparable)."""
        self.G.eval()
        out = self.G.sample(n, torch.Generator().manual_seed(seed)).cpu()
        self.G.train()
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"G": self.G.state_dict(), "D": self.D.state_dict(), "opt_g": self.opt_g.state_dict(),
                "opt_d": self.opt_d.state_dict(), "rng": self.rng.get_state(), "steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.rng.set_state(state["rng"])
        self.steps = int(state["steps"])


def _set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for group in opt.param_groups:
        group["lr"] = lr


def _check_finite(name: str, loss: torch.Tensor, step: int) -> None:
    """Refuse to apply an update from a NaN/inf loss, so the last good weights are kept."""
    if not torch.isfinite(loss):
        raise FloatingPointError(
            f"{name} is {loss.item()} at step {step}; the update was not applied. "
            f"Lower the learning rates (lr_g, lr_d) and run again.")
