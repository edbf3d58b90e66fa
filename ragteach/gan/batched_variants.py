"""K runs of one GAN *variant* trained in one vectorised step: the article's λ term, RaSGAN, augmentations.

:class:`~ragteach.gan.batched.BatchedGANTrainer` stacks K runs of the plain GAN (``h[k] = x[k] @ W[k] + b[k]``,
one ``baddbmm`` per layer). This subclass adds what notebook 02 compares, each computed per run k:

- article 001's distance term  L_G[k] = L_adv[k] + λ · mean_i ||G_k(z_i) − x_i||²  with ``random``, ``nearest``
  or ``fixed`` pairing (:mod:`ragteach.gan.relative`), x drawn from run k's own training set;
- the relativistic average objective (RaSGAN), whose means E C(·) are taken over run k's batch only;
- DiffAugment (``augment``: real and fake) and the article's real-only preparation (``real_transform``),
  each applied to run k's images with run k's random generator.

Run k is exactly the run ``GANTrainer(cfg, tensor_sampler(train_sets[k]), batch_size, seed=seeds[k],
distance_data=train_sets[k], ...)`` would make alone: same initial weights, same latent codes for the
``fixed`` pairing, same batches, noise and augmentations in the same order. Only the floating-point
summation order differs, so runs agree to float tolerance (``tests/test_batched_variants.py``).
The losses are summed over runs before ``backward``: ∂(Σ_j L_j)/∂W[k] = ∂L_k/∂W[k], and Adam works element
by element, so no run sees another.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import torch
import torch.nn.functional as F

from ragteach.gan import randomize, relative
from ragteach.gan.batched import BATCHED_G_LOSSES, BatchedGANTrainer
from ragteach.gan.models import GANConfig
from ragteach.gan.train import tensor_sampler
from ragteach.training import CheckpointMismatchError, Metrics, set_lr

Transform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


class BatchedVariantGAN(BatchedGANTrainer):
    """``len(seeds)`` GANs of one variant; run k trains on ``train_sets[k]`` with seed ``seeds[k]``.

    train_sets: one (N_k, data_dim) tensor per run (the real batches and the λ term's x come from it);
        runs may have different sets, e.g. all digits and a 10 % share side by side.
    g_loss / objective / augment / real_transform: as in :class:`~ragteach.gan.train.GANTrainer`.
    The knobs (λ, pairing, learning rates, ...) are shared by all runs.
    """

    def __init__(self, cfg: GANConfig, train_sets: Sequence[torch.Tensor], seeds: Sequence[int],
                 batch_size: int = 64, g_loss: str = "non_saturating", objective: str = "standard",
                 augment: Transform | None = None, real_transform: Transform | None = None,
                 betas: tuple[float, float] = (0.5, 0.999), device: str | torch.device = "cpu") -> None:
        if objective not in ("standard", "relativistic"):
            raise ValueError(f"objective must be 'standard' or 'relativistic', got {objective!r}")
        train_sets = list(train_sets)
        for i, x in enumerate(train_sets):
            if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != cfg.data_dim or len(x) == 0:
                shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
                raise ValueError(f"train_sets[{i}] must be a non-empty (N, {cfg.data_dim}) tensor, got {shape}")
        if len(train_sets) != len(seeds):
            raise ValueError(f"give one training set per seed: {len(train_sets)} sets for {len(seeds)} seeds")
        super().__init__(cfg, [tensor_sampler(x) for x in train_sets], seeds, batch_size=batch_size,
                         g_loss=g_loss, betas=betas, device=device)
        if cfg.pack != 1:
            raise ValueError("BatchedVariantGAN does not pack (pack=1); use BatchedGANTrainer for PacGAN")
        self.objective, self.augment, self.real_transform = objective, augment, real_transform
        self.train_sets = [x.to(self.device) for x in train_sets]
        # as GANTrainer with distance_data: the fixed pairing's latent codes are the first draw of each run
        self.fixed_z = [torch.randn(len(x), cfg.z_dim, generator=g).to(self.device)
                        for x, g in zip(train_sets, self.rngs)]

    # ------------------------------------------------------------------ per-run pieces
    def _real(self) -> torch.Tensor:
        """(K, B, C): each run's real batch, then its real-only transform (both with its own generator)."""
        def draw(k: int, g: torch.Generator) -> torch.Tensor:
            x = self.samplers[k](self.batch_size, g).to(self.device)
            return x if self.real_transform is None else self.real_transform(x, g)
        return self._stack(draw)

    def _d_input(self, x: torch.Tensor, std: float) -> torch.Tensor:
        """What D sees, per run: the (differentiable) augmentation, then instance noise."""
        def one(k: int, g: torch.Generator) -> torch.Tensor:
            y = x[k] if self.augment is None else self.augment(x[k], g)
            return randomize.add_instance_noise(y, std, g)
        return self._stack(one)

    def _targets(self, fake: torch.Tensor, pairing: str, idx: list[torch.Tensor] | None) -> torch.Tensor:
        """The real x paired with each G(z) in the λ term, per run (see :mod:`ragteach.gan.relative`)."""
        relative.check_pairing(pairing)
        if pairing == "random":
            return self._stack(lambda k, g: self.samplers[k](fake.shape[1], g))
        if pairing == "nearest":
            return torch.stack([relative.nearest_targets(fake[k].detach(), x) for k, x in enumerate(self.train_sets)])
        return torch.stack([x[i.to(self.device)] for x, i in zip(self.train_sets, idx)])

    # ------------------------------------------------------------------ the step
    def train_step(self, k: dict[str, Any]) -> Metrics:
        """``d_steps`` discriminator updates, then one generator update, for all runs at once."""
        set_lr(self.optimizers["G"], k["lr_g"])
        set_lr(self.optimizers["D"], k["lr_d"])
        std = randomize.annealed_std(k["instance_noise"], self.steps, k["noise_anneal_steps"])
        for _ in range(k["d_steps"]):
            self._variant_d_step(k, std)
        self._variant_g_step(k, std)
        metrics = {name: float(v.mean()) for name, v in self.run_metrics.items()}
        metrics["noise_std"] = std
        return metrics

    def _variant_d_step(self, k: dict[str, Any], std: float) -> None:
        real = self._real()
        with torch.no_grad():
            fake = self.G(self._noise())
        real_logits = self._d(self._d_input(real, std))          # (K, B)
        fake_logits = self._d(self._d_input(fake, std))
        if self.objective == "relativistic":
            per_run = _rasgan(real_logits, fake_logits)
        else:
            n = real_logits.shape[1]
            real_t = self._stack(lambda i, g: randomize.targets(n, 1.0 - k["label_smoothing"], k["label_flip"], g))
            fake_t = self._stack(lambda i, g: randomize.targets(n, 0.0, k["label_flip"], g))
            per_run = (F.binary_cross_entropy_with_logits(real_logits, real_t, reduction="none").mean(1)
                       + F.binary_cross_entropy_with_logits(fake_logits, fake_t, reduction="none").mean(1))
        self.update("D", per_run.sum())
        self.run_metrics = {"loss_d": per_run.detach(), "d_real": torch.sigmoid(real_logits).mean(1).detach(),
                            "d_fake": torch.sigmoid(fake_logits).mean(1).detach()}

    def _variant_g_step(self, k: dict[str, Any], std: float) -> None:
        lam, pairing = k.get("lam", 0.0), k.get("pairing", "random")
        idx = None
        if lam > 0 and pairing == "fixed":
            idx = [torch.randint(len(x), (self.batch_size,), generator=g) for x, g in zip(self.train_sets, self.rngs)]
            z = torch.stack([fz[i.to(self.device)] for fz, i in zip(self.fixed_z, idx)])
        else:
            z = self._noise()
        fake = self.G(z)
        self.D.requires_grad_(False)      # G's step needs ∂L/∂x through D, not D's own weight gradients
        try:
            fake_logits = self._d(self._d_input(fake, std))
            if self.objective == "relativistic":
                real_logits = self._d(self._d_input(self._real(), std))
                adv = _rasgan(fake_logits, real_logits)            # real and fake swapped
            else:
                adv = BATCHED_G_LOSSES[self.g_loss_name](fake_logits)
        finally:
            self.D.requires_grad_(True)
        loss = adv
        self.run_metrics["loss_g_adv"] = adv.detach()
        if lam > 0:
            distance = (fake - self._targets(fake, pairing, idx)).pow(2).sum(-1).mean(1)   # (K,)
            loss = adv + lam * distance
            self.run_metrics["distance"] = distance.detach()
        self.update("G", loss.sum())
        self.run_metrics["loss_g"] = loss.detach()

    # ------------------------------------------------------------------ checkpoints
    def extra_state(self) -> dict[str, Any]:
        return {**super().extra_state(), "fixed_z": list(self.fixed_z)}

    def check_extra_state(self, extra: Mapping[str, Any]) -> None:
        super().check_extra_state(extra)
        theirs = extra.get("fixed_z")
        if theirs is None or [t.shape for t in theirs] != [t.shape for t in self.fixed_z]:
            raise CheckpointMismatchError("the checkpoint's fixed latent codes do not fit this trainer's training "
                                          "sets: build the trainer with the same train_sets")

    def load_extra_state(self, extra: Mapping[str, Any]) -> None:
        super().load_extra_state(extra)
        self.fixed_z = list(extra["fixed_z"])


def _rasgan(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per run (rows): −E[log σ(a − E b)] − E[log(1 − σ(b − E a))]. With a = C(x), b = C(G(z)) it is RaSGAN's
    L_D; with a = C(G(z)), b = C(x) its L_G (:func:`ragteach.gan.losses.rasgan_d_loss`)."""
    return (-F.logsigmoid(a - b.mean(1, keepdim=True)).mean(1)
            - F.logsigmoid(-(b - a.mean(1, keepdim=True))).mean(1))
