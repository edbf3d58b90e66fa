"""K independent GAN runs trained in one vectorised step: many seeds for the price of a few.

A toy GAN is tiny (2-d data, 128-unit layers): one step costs mostly Python and launch overhead, not
arithmetic. Stacking K runs turns each layer's ``x @ W + b`` into one batched product over runs,

    h[k] = x[k] @ W[k] + b[k]        for k = 0 .. K-1   (``torch.baddbmm``),

with ``W`` of shape (K, in, out). The step is :class:`~ragteach.gan.train.GANTrainer`'s own: its losses average
over the last dimension, so logits (K, N) give K losses, and their sum is what ``backward`` sees. Run k never
sees its neighbours: ∂(Σ_j L_j)/∂W[k] = ∂L_k/∂W[k], and Adam works element by element. Each run k is
therefore the run ``GANTrainer(seed=seeds[k])`` would make alone: its initial weights (and the λ term's fixed
codes) are drawn by that trainer, and its batches, noise, flips and augmentations come from its own
generator in the same order. Only floating-point summation order differs (a batched product vs a plain
one), so runs agree to float tolerance, not bit for bit: ``tests/test_batched.py`` checks it.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ragteach.gan.models import Discriminator, GANConfig, Generator
from ragteach.gan.train import GANTrainer, RealSampler, Transform, check_real
from ragteach.metrics.discriminator import d_accuracy
from ragteach.training import CheckpointMismatchError, Trainer, check_positive_int, check_seed

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


class BatchedGANTrainer(GANTrainer):
    """``len(seeds)`` independent GANs of one architecture, trained by :class:`GANTrainer`'s own step.

    cfg: the shared architecture (packing included).
    sample_real: one real-data sampler for every run, or a sequence of one per run (e.g. ring and grid
        runs side by side: same architecture, other data).
    seeds: run k is ``GANTrainer(cfg, sample_real[k], batch_size, seed=seeds[k], ...)``.
    distance_data: one training set per run, for the λ term's ``nearest`` and ``fixed`` pairings.
    g_loss / objective / augment / real_transform: as in :class:`GANTrainer`; the knobs are shared by all runs.

    ``trainer(knob_values)`` returns the mean over runs of each metric; ``run_metrics`` holds the
    last step's per-run values (tensors of shape (K,)); ``sample(n)`` gives every run's samples.
    """

    distance_sets = fixed_z = None   # the λ term's training sets and codes, only with distance_data=

    def __init__(self, cfg: GANConfig, sample_real: RealSampler | Sequence[RealSampler], seeds: Sequence[int],
                 batch_size: int = 256, g_loss: str = "non_saturating", betas: tuple[float, float] = (0.5, 0.999),
                 objective: str = "standard", augment: Transform | None = None,
                 real_transform: Transform | None = None, distance_data: Sequence[torch.Tensor] | None = None,
                 device: str | torch.device = "cpu") -> None:
        seeds = [check_seed(s) for s in seeds]
        if not seeds:
            raise ValueError("seeds must name at least one run, e.g. seeds=[0, 1, 2, 3, 4]")
        samplers = list(sample_real) if isinstance(sample_real, Sequence) else [sample_real] * len(seeds)
        if len(samplers) != len(seeds) or not all(callable(s) for s in samplers):
            raise ValueError(f"sample_real must be one sampler or one per run ({len(seeds)}), got {len(samplers)}")
        if distance_data is not None and len(distance_data) != len(seeds):
            raise ValueError(f"give one training set per run: {len(distance_data)} sets for {len(seeds)} seeds")
        # run k's weights and fixed codes are drawn as GANTrainer(seed=seeds[k]) draws them, then stacked
        alone = [GANTrainer(cfg, samplers[k], batch_size, s, g_loss, betas, objective, augment, real_transform,
                            None if distance_data is None else distance_data[k]) for k, s in enumerate(seeds)]
        Trainer.__init__(self, seeds[0], device)   # not GANTrainer's: the runs above already hold G and D
        self.cfg, self.batch_size, self.g_loss_name, self.objective = cfg, batch_size, g_loss, objective
        self.augment, self.real_transform, self.run_metrics = augment, real_transform, {}
        self.samplers, self.seeds = samplers, seeds
        self.G = StackedMLP([t.G for t in alone], cfg.g_activation, cfg.g_out).to(self.device)
        self.D = StackedMLP([t.D for t in alone], "leaky_relu").to(self.device)
        self.modules = {"G": self.G, "D": self.D}
        # Adam is elementwise, so one optimiser over the stacked weights updates each run as its own Adam
        # would; fused=True does Adam's arithmetic in one pass over the tensors (same result up to rounding)
        self.optimizers = {"G": torch.optim.Adam(self.G.parameters(), lr=1e-3, betas=betas, fused=True),
                           "D": torch.optim.Adam(self.D.parameters(), lr=1e-3, betas=betas, fused=True)}
        self.rngs = [t.rng for t in alone]   # one stream per run, each past its fixed codes
        self.rng = self.rngs[0]
        if distance_data is not None:
            self.distance_sets = [t.distance_data.to(self.device) for t in alone]
            self.fixed_z = [t.fixed_z.to(self.device) for t in alone]

    @property
    def n_runs(self) -> int:
        return len(self.seeds)

    # ------------------------------------------------------------------ the hooks of GANTrainer's step
    def per_run(self, draw: Callable[..., torch.Tensor], *tensors: torch.Tensor) -> torch.Tensor:
        """``draw(k, rng_k, *(t[k] for t in tensors))`` for every run k, stacked to (K, ...)."""
        return torch.stack([draw(k, g, *(t[k] for t in tensors)) for k, g in enumerate(self.rngs)]).to(self.device)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """D's logits (K, B/m): samples i*m .. i*m+m-1 of each run form one pack, as in Discriminator."""
        K, B, C = x.shape
        return self.D(x.reshape(K, B // self.cfg.pack, self.cfg.pack * C)).squeeze(-1)

    def draw_real(self, k: int, n: int, rng: torch.Generator) -> torch.Tensor:
        return check_real(self.samplers[k](n, rng), n, self.cfg.data_dim, self.D.weights[0].dtype)

    def train_set(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.distance_sets is None:
            raise ValueError("pairings 'nearest' and 'fixed' need the training sets: pass distance_data= (one "
                             "set per run) to BatchedGANTrainer")
        return self.distance_sets[k], self.fixed_z[k]

    # ------------------------------------------------------------------ samples and single runs
    def sample(self, n: int, *, seed: int = 1234) -> torch.Tensor:
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
            return d_accuracy(self.logits(real.to(self.device)), self.logits(fake.to(self.device))).cpu()

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
        return {"rngs": [g.get_state() for g in self.rngs], "seeds": list(self.seeds), "fixed_z": self.fixed_z}

    def step_extra_state(self) -> dict[str, Any]:
        return {"rngs": [g.get_state() for g in self.rngs]}

    def check_extra_state(self, extra: Mapping[str, Any]) -> None:
        if len(extra.get("seeds", [])) != self.n_runs or len(extra.get("rngs", [])) != self.n_runs:
            raise CheckpointMismatchError(f"the checkpoint holds {len(extra.get('seeds', []))} runs (seeds "
                                          f"{extra.get('seeds')}), this trainer {self.n_runs}: build it with as many seeds")
        mine, theirs = self.fixed_z, extra.get("fixed_z")
        if (mine is None) != (theirs is None) or (mine and [t.shape for t in theirs] != [t.shape for t in mine]):
            raise CheckpointMismatchError("the checkpoint's fixed latent codes do not fit this trainer's training "
                                          "sets: build the trainer with the same distance_data")

    def load_extra_state(self, extra: Mapping[str, Any]) -> None:
        for g, state in zip(self.rngs, extra["rngs"]):
            g.set_state(state)
        if "seeds" in extra:   # the runs are now the checkpoint's
            self.seeds = list(extra["seeds"])
        if "fixed_z" in extra:
            self.fixed_z = extra["fixed_z"]
