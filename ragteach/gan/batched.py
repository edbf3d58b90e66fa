"""K independent GAN runs trained in one vectorised step: many seeds for the price of a few.

A toy GAN is tiny (2-d data, 128-unit layers): one step costs mostly Python and launch overhead, not
arithmetic. Stacking K runs turns each layer's ``x @ W + b`` into one batched product over runs,

    h[k] = x[k] @ W[k] + b[k]        for k = 0 .. K-1   (``torch.baddbmm``),

with ``W`` of shape (K, in, out). Run k never sees run k's neighbours: its loss L_k depends only on its
own weights, so the gradient of Σ_k L_k with respect to W[k] is ∂L_k/∂W[k], and Adam works element by
element. Each run k is therefore the run ``GANTrainer(seed=seeds[k])`` would make alone:

- its initial weights are drawn exactly as that trainer draws them (``Generator(cfg)`` then
  ``Discriminator(cfg)`` under ``seeded(seed)``), then stacked;
- its batches, noise and label flips come from its own ``torch.Generator(seed)``, in the single
  trainer's order (per step: D-steps × [real batch, z, instance noise real/fake, flips real/fake],
  then G's z and instance noise).

Only floating-point summation order differs (a batched product vs a plain one), so runs agree to float
tolerance, not bit for bit. ``tests/test_batched.py`` checks it.

Supported: the standard objective with the non-saturating, minimax or article G loss, packing,
instance noise, label smoothing, label flipping, ``d_steps``. The knobs are shared by all K runs.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ragteach.gan import randomize
from ragteach.gan.models import Discriminator, GANConfig, Generator
from ragteach.metrics.discriminator import d_accuracy
from ragteach.training import (CheckpointMismatchError, Metrics, Trainer, check_positive_int, check_seed,
                               seeded, set_lr)

RealSampler = Callable[[int, torch.Generator], torch.Tensor]

# G losses per run, from D's logits s of shape (K, N): each returns (K,), one loss per run.
BATCHED_G_LOSSES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "non_saturating": lambda s: -F.logsigmoid(s).mean(dim=1),   # −E log D(G(z))
    "minimax": lambda s: F.logsigmoid(-s).mean(dim=1),           # E log(1 − D(G(z)))
    "article": lambda s: -torch.sigmoid(s).mean(dim=1),          # −E D(G(z))
}
_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu, "leaky_relu": lambda x: F.leaky_relu(x, 0.2), "tanh": torch.tanh}


class StackedMLP(nn.Module):
    """K MLPs of one shape, evaluated together: x (K, B, in) -> (K, B, out).

    Layer i holds ``weight_i`` (K, in, out) and ``bias_i`` (K, 1, out); hidden layers apply
    ``activation``, the last one ``out_activation`` (or nothing)."""

    def __init__(self, nets: Sequence[nn.Module], activation: str, out_activation: str | None = None) -> None:
        super().__init__()
        for name in (activation, out_activation):
            if name is not None and name not in _ACTIVATIONS:
                raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {name!r}")
        layers = [[m for m in net.modules() if isinstance(m, nn.Linear)] for net in nets]
        if not layers or any(len(ls) != len(layers[0]) for ls in layers):
            raise ValueError("StackedMLP needs one or more MLPs of the same shape")
        self.weights = nn.ParameterList(
            [nn.Parameter(torch.stack([ls[i].weight.detach().t() for ls in layers]).contiguous())
             for i in range(len(layers[0]))])
        self.biases = nn.ParameterList(
            [nn.Parameter(torch.stack([ls[i].bias.detach()[None] for ls in layers]).contiguous())
             for i in range(len(layers[0]))])
        self.activation, self.out_activation = activation, out_activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(b, x, w)                   # (K, B, out) = b + x @ w, per run
            if i < last:
                x = _ACTIVATIONS[self.activation](x)
            elif self.out_activation is not None:
                x = _ACTIVATIONS[self.out_activation](x)
        return x

    def unstack(self, k: int, net: nn.Module) -> nn.Module:
        """Copy run ``k``'s weights into ``net`` (an MLP of the same shape) and return it."""
        linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for lin, w, b in zip(linears, self.weights, self.biases):
                lin.weight.copy_(w[k].t())
                lin.bias.copy_(b[k, 0])
        return net


class BatchedGANTrainer(Trainer):
    """``len(seeds)`` independent GANs of one architecture, one vectorised step for all of them.

    cfg: the shared architecture (packing included).
    sample_real: one real-data sampler for every run, or a sequence of one per run (e.g. ring and grid
        runs side by side: same architecture, other data).
    seeds: run k is ``GANTrainer(cfg, sample_real[k], batch_size, seed=seeds[k])``.
    batch_size: samples per run and step; D sees ``batch_size // cfg.pack`` packed examples.

    ``trainer(knob_values)`` returns the mean over runs of each metric; ``run_metrics`` holds the
    last step's per-run values (tensors of shape (K,)); ``sample(n)`` gives every run's samples.
    """

    fix = "Lower the learning rates (lr_g, lr_d) and run again."

    def __init__(self, cfg: GANConfig, sample_real: RealSampler | Sequence[RealSampler], seeds: Sequence[int],
                 batch_size: int = 256, g_loss: str = "non_saturating",
                 betas: tuple[float, float] = (0.5, 0.999), device: str | torch.device = "cpu") -> None:
        seeds = [check_seed(s) for s in seeds]
        if not seeds:
            raise ValueError("seeds must name at least one run, e.g. seeds=[0, 1, 2, 3, 4]")
        super().__init__(seed=seeds[0], device=device)
        check_positive_int("batch_size", batch_size)
        if batch_size % cfg.pack:
            raise ValueError(f"batch_size must be a positive multiple of pack={cfg.pack}, got {batch_size}")
        if g_loss not in BATCHED_G_LOSSES:
            raise ValueError(f"g_loss must be one of {sorted(BATCHED_G_LOSSES)}, got {g_loss!r}")
        samplers = list(sample_real) if isinstance(sample_real, Sequence) else [sample_real] * len(seeds)
        if len(samplers) != len(seeds) or not all(callable(s) for s in samplers):
            raise ValueError(f"sample_real must be one sampler or one per run ({len(seeds)}), got {len(samplers)}")
        self.cfg, self.samplers, self.seeds, self.batch_size = cfg, samplers, seeds, batch_size
        self.g_loss_name = g_loss
        gens, discs = [], []
        for s in seeds:                       # the same draws as GANTrainer(seed=s): G first, then D
            with seeded(s):
                gens.append(Generator(cfg))
                discs.append(Discriminator(cfg))
        self.G = StackedMLP(gens, cfg.g_activation, cfg.g_out).to(self.device)
        self.D = StackedMLP(discs, "leaky_relu").to(self.device)
        self.modules = {"G": self.G, "D": self.D}
        # Adam is elementwise, so one optimiser over the stacked weights updates each run as its own Adam
        # would; fused=True does Adam's arithmetic in one pass over the tensors (same result up to rounding)
        self.optimizers = {"G": torch.optim.Adam(self.G.parameters(), lr=1e-3, betas=betas, fused=True),
                           "D": torch.optim.Adam(self.D.parameters(), lr=1e-3, betas=betas, fused=True)}
        self.rngs = [torch.Generator().manual_seed(s) for s in seeds]   # one stream per run
        self.rng = self.rngs[0]
        self.run_metrics: dict[str, torch.Tensor] = {}

    @property
    def n_runs(self) -> int:
        return len(self.seeds)

    # ------------------------------------------------------------------ per-run draws
    def _stack(self, draw: Callable[[int, torch.Generator], torch.Tensor]) -> torch.Tensor:
        """``draw(k, rng_k)`` for every run, stacked to (K, ...)."""
        return torch.stack([draw(k, g) for k, g in enumerate(self.rngs)]).to(self.device)

    def _noise(self) -> torch.Tensor:
        return self._stack(lambda k, g: torch.randn(self.batch_size, self.cfg.z_dim, generator=g))

    def _instance_noise(self, like: torch.Tensor, std: float) -> torch.Tensor:
        """x̃ = x + σ·ε, ε drawn per run from that run's generator (as randomize.add_instance_noise)."""
        if std == 0:
            return like
        return like + std * self._stack(lambda k, g: torch.randn(like.shape[1:], generator=g))

    def _d(self, x: torch.Tensor) -> torch.Tensor:
        """D's logits (K, B/m): samples i*m .. i*m+m-1 of each run form one pack, as in Discriminator."""
        K, B, C = x.shape
        return self.D(x.reshape(K, B // self.cfg.pack, self.cfg.pack * C)).squeeze(-1)

    # ------------------------------------------------------------------ the step
    def train_step(self, k: dict[str, Any]) -> Metrics:
        """``d_steps`` discriminator updates, then one generator update, for all runs at once."""
        if k.get("lam") or k.get("pairing", "random") != "random":
            raise ValueError("BatchedGANTrainer has no distance term (lam); use GANTrainer for it")
        set_lr(self.optimizers["G"], k["lr_g"])
        set_lr(self.optimizers["D"], k["lr_d"])
        std = randomize.annealed_std(k["instance_noise"], self.steps, k["noise_anneal_steps"])
        for _ in range(k["d_steps"]):
            self._d_step(k, std)
        self._g_step(std)
        metrics = {name: float(v.mean()) for name, v in self.run_metrics.items()}
        metrics["noise_std"] = std
        return metrics

    def _d_step(self, k: dict[str, Any], std: float) -> None:
        n = self.batch_size // self.cfg.pack
        real = self._stack(lambda i, g: self.samplers[i](self.batch_size, g))
        z = self._noise()
        with torch.no_grad():
            fake = self.G(z)
        x = torch.cat([self._instance_noise(real, std), self._instance_noise(fake, std)], dim=1)
        real_logits, fake_logits = self._d(x).split(n, dim=1)    # one pass of D over real and fake packs
        real_t = self._stack(lambda i, g: randomize.targets(n, 1.0 - k["label_smoothing"], k["label_flip"], g))
        fake_t = self._stack(lambda i, g: randomize.targets(n, 0.0, k["label_flip"], g))
        # L_D per run: BCE(real, t_real) + BCE(fake, t_fake), each a mean over that run's packs
        per_run = (F.binary_cross_entropy_with_logits(real_logits, real_t, reduction="none").mean(1)
                   + F.binary_cross_entropy_with_logits(fake_logits, fake_t, reduction="none").mean(1))
        self.update("D", per_run.sum())
        self.run_metrics.update(loss_d=per_run.detach(), d_real=torch.sigmoid(real_logits).mean(1).detach(),
                                d_fake=torch.sigmoid(fake_logits).mean(1).detach())

    def _g_step(self, std: float) -> None:
        fake = self.G(self._noise())
        self.D.requires_grad_(False)      # G's step needs ∂L/∂x through D, not D's own weight gradients
        try:
            per_run = BATCHED_G_LOSSES[self.g_loss_name](self._d(self._instance_noise(fake, std)))
        finally:
            self.D.requires_grad_(True)
        self.update("G", per_run.sum())
        self.run_metrics["loss_g"] = per_run.detach()

    # ------------------------------------------------------------------ samples and single runs
    def sample(self, n: int, seed: int = 1234) -> torch.Tensor:
        """(K, n, data_dim): every run's G on the same fixed noise (as ``GANTrainer.sample``)."""
        check_positive_int("n", n)
        z = torch.randn(n, self.cfg.z_dim, generator=torch.Generator().manual_seed(seed)).to(self.device)
        with torch.no_grad():
            return self.G(z.expand(self.n_runs, n, self.cfg.z_dim)).cpu()

    def d_accuracy(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """(K,): each run's D accuracy (see :mod:`ragteach.metrics.discriminator`) on real and fake samples
        of shape (K, n, data_dim), packed as in training (n a multiple of ``cfg.pack``)."""
        if real.shape[1] % self.cfg.pack or fake.shape[1] % self.cfg.pack:
            raise ValueError(f"give a multiple of pack={self.cfg.pack} samples per run, got {real.shape[1]} and "
                             f"{fake.shape[1]}")
        with torch.no_grad():
            return d_accuracy(self._d(real.to(self.device)), self._d(fake.to(self.device))).cpu()

    def generator(self, k: int) -> Generator:
        """Run ``k``'s generator as a plain :class:`Generator` (for previews or further use)."""
        if not 0 <= k < self.n_runs:
            raise IndexError(f"run index must be in 0 .. {self.n_runs - 1}, got {k}")
        return self.G.unstack(k, Generator(self.cfg))

    def discriminator(self, k: int) -> Discriminator:
        """Run ``k``'s discriminator as a plain :class:`Discriminator`."""
        if not 0 <= k < self.n_runs:
            raise IndexError(f"run index must be in 0 .. {self.n_runs - 1}, got {k}")
        return self.D.unstack(k, Discriminator(self.cfg))

    # ------------------------------------------------------------------ checkpoints: every run's generator
    def extra_state(self) -> dict[str, Any]:
        return {"rngs": [g.get_state() for g in self.rngs], "seeds": list(self.seeds)}

    def check_extra_state(self, extra: Mapping[str, Any]) -> None:
        if list(extra.get("seeds", [])) != self.seeds:
            raise CheckpointMismatchError(f"the checkpoint's runs have seeds {extra.get('seeds')}, "
                                          f"this trainer's have {self.seeds}")
        if len(extra.get("rngs", [])) != self.n_runs:
            raise CheckpointMismatchError("the checkpoint holds another number of random generators")

    def load_extra_state(self, extra: Mapping[str, Any]) -> None:
        for g, state in zip(self.rngs, extra["rngs"]):
            g.set_state(state)
