"""One GAN training step, the article's five-step loop made explicit.

(1) G and D are initialised in ``GANTrainer.__init__``; then every step
(2) G turns noise into fake data, (3) D scores real and fake data, (4) the losses measure the game,
(5) D and G each take an optimiser step. ``d_steps`` D updates are made per G update.

The trainer obeys the core contract of :mod:`ragteach.training`: ``trainer(knob_values) -> metrics`` is one
step, and a step is all or nothing (a NaN in G's loss also undoes that step's D update).
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from ragteach.gan import randomize, relative
from ragteach.gan.losses import G_LOSSES, d_loss, rasgan_d_loss, rasgan_g_loss
from ragteach.gan.models import Discriminator, GANConfig, Generator
from ragteach.knobs import Knob, Knobs
from ragteach.metrics.discriminator import d_accuracy
from ragteach.training import CheckpointMismatchError, Trainer, check_positive_int, eval_mode, seeded, set_lr

RealSampler = Callable[[int, torch.Generator], torch.Tensor]
Transform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def tensor_sampler(data: torch.Tensor) -> RealSampler:
    """Sample mini-batches of rows of ``data`` uniformly with replacement."""
    if data.ndim != 2 or len(data) == 0:
        raise ValueError(f"data must be a non-empty (N, D) tensor, got shape {tuple(data.shape)}")

    def sample(n: int, generator: torch.Generator) -> torch.Tensor:
        return data[torch.randint(len(data), (n,), generator=generator)]

    return sample


def check_real(x: Any, n: int, data_dim: int, dtype: torch.dtype) -> torch.Tensor:
    """What ``sample_real(n, generator)`` returned, checked: a tensor (n, data_dim) of the models' dtype."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"sample_real(n, generator) must return a torch tensor, got {type(x).__name__}: "
                        f"return torch.as_tensor(x, dtype=torch.float32)")
    if x.dtype != dtype:   # float32, unless the models were converted (.double())
        raise TypeError(f"sample_real returned dtype {x.dtype}; G and D compute in {dtype}: return x.to({dtype})")
    if tuple(x.shape) != (n, data_dim):
        raise ValueError(f"sample_real({n}, generator) returned shape {tuple(x.shape)}; it must return "
                         f"({n}, {data_dim}): exactly n rows of data_dim values")
    return x


def gan_knobs(lr_g: float = 1e-3, lr_d: float = 1e-3, d_steps: int = 1, instance_noise: float = 0.0,
              noise_anneal_steps: int = 0, label_smoothing: float = 0.0, label_flip: float = 0.0,
              lam: float | None = None, pairing: str = "random", lam_max: float = 10.0) -> Knobs:
    """The knobs a GAN step reads; every one is range-checked. ``lam`` (λ ≥ 0) adds article 001's distance
    term λ·E||G(z) − x||² with the given ``pairing``; leave it ``None`` for a plain GAN. ``lam_max`` is
    the top of λ's range (and of its slider)."""
    extra = [] if lam is None else [
        Knob("lam", lam, low=0.0, high=lam_max, description="λ (distance weight)"),
        Knob("pairing", pairing, kind="choice", choices=relative.PAIRINGS, description="pair G(z) with"),
    ]
    return Knobs.of(*extra,
        Knob("lr_g", lr_g, low=0.0, high=0.1, low_open=True, log=True, description="G learning rate"),
        Knob("lr_d", lr_d, low=0.0, high=0.1, low_open=True, log=True, description="D learning rate"),
        Knob("d_steps", d_steps, low=1, high=10, kind="int", description="D steps per G step"),
        Knob("instance_noise", instance_noise, low=0.0, high=2.0, description="instance noise σ0"),
        Knob("noise_anneal_steps", noise_anneal_steps, low=0, high=100_000, kind="int",
             description="anneal noise over"),
        Knob("label_smoothing", label_smoothing, low=0.0, high=0.5, description="label smoothing α"),
        Knob("label_flip", label_flip, low=0.0, high=0.5, description="label flip prob."),
    )


class GANTrainer(Trainer):
    """Holds G, D, their Adam optimisers and a seeded random generator; ``trainer(knobs)`` is one step.

    sample_real: draws a batch of real data (the *only* place real data enters).
    g_loss: ``"non_saturating"`` (−E log D(G(z))), ``"minimax"`` (E log(1 − D(G(z)))) or
        ``"article"`` (−E D(G(z)), article 001's form).
    objective: ``"standard"`` (the losses above) or ``"relativistic"`` (RaSGAN for both players).
    augment: a transform applied to real AND fake inputs of D (DiffAugment).
    real_transform: a transform applied to real images only (article 001's data preparation).
    distance_data: the training set, for the λ term's ``nearest`` and ``fixed`` pairings.
    betas: Adam's (β1, β2); the seeds use (0.5, 0.999), the DCGAN setting.
    """

    def default_knobs(self) -> Knobs:
        return gan_knobs()

    def __init__(self, cfg: GANConfig, sample_real: RealSampler, batch_size: int = 256, seed: int = 0,
                 g_loss: str = "non_saturating", betas: tuple[float, float] = (0.5, 0.999),
                 objective: str = "standard", augment: Transform | None = None,
                 real_transform: Transform | None = None, distance_data: torch.Tensor | None = None,
                 device: str | torch.device = "cpu") -> None:
        if g_loss not in G_LOSSES:
            raise ValueError(f"g_loss must be one of {sorted(G_LOSSES)}, got {g_loss!r}")
        if objective not in ("standard", "relativistic"):
            raise ValueError(f"objective must be 'standard' or 'relativistic', got {objective!r}")
        if distance_data is not None and (distance_data.ndim != 2 or distance_data.shape[1] != cfg.data_dim):
            raise ValueError(f"distance_data must have shape (N, {cfg.data_dim}) like G's output, "
                             f"got {tuple(distance_data.shape)}")
        check_positive_int("batch_size", batch_size)
        if batch_size % cfg.pack:
            raise ValueError(f"batch_size must be a positive multiple of pack={cfg.pack}, got {batch_size}")
        super().__init__(seed, device)  # self.rng: batches, noise, flips
        self.cfg, self.sample_real, self.batch_size = cfg, sample_real, batch_size
        self.g_loss_name, self.objective = g_loss, objective
        self.augment, self.real_transform = augment, real_transform
        with seeded(seed):  # the initial weights
            self.G = Generator(cfg).to(self.device)
            self.D = Discriminator(cfg).to(self.device)
        self.modules = {"G": self.G, "D": self.D}
        self.optimizers = {"G": torch.optim.Adam(self.G.parameters(), lr=1e-3, betas=betas),
                           "D": torch.optim.Adam(self.D.parameters(), lr=1e-3, betas=betas)}
        self.distance_data = None if distance_data is None else distance_data.to(self.device)
        # "fixed" pairing: training example i always gets latent code fixed_z[i]
        self.fixed_z = None if distance_data is None else torch.randn(len(distance_data), cfg.z_dim,
                                                                      generator=self.rng).to(self.device)
        self.run_metrics: dict[str, torch.Tensor] = {}

    # ------------------------------------------------------------------ a run's draws
    # A GAN trainer holds one run; BatchedGANTrainer holds K and overrides these four hooks, so the step
    # below is the one both train: each random draw comes from its own run's generator, in the same order.
    def per_run(self, draw: Callable[..., torch.Tensor], *tensors: torch.Tensor) -> torch.Tensor:
        """``draw(k, rng_k, *tensors_k)`` for every run k; a single GAN has one run: the tensors themselves."""
        return draw(0, self.rng, *tensors).to(self.device)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """D's logits s of a batch x (packed as in :class:`Discriminator`)."""
        return self.D(x)

    def draw_real(self, k: int, n: int, rng: torch.Generator) -> torch.Tensor:
        """n real samples of run k: ``sample_real(n, rng)``, checked."""
        return check_real(self.sample_real(n, rng), n, self.cfg.data_dim, next(self.D.parameters()).dtype)

    def train_set(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Run k's training set and its fixed latent codes, for the λ term's ``nearest``/``fixed`` pairings."""
        if self.distance_data is None:
            raise ValueError("pairings 'nearest' and 'fixed' need the training set: pass distance_data= to "
                             "GANTrainer")
        return self.distance_data, self.fixed_z

    # ------------------------------------------------------------------ the step
    def _noise(self, n: int) -> torch.Tensor:
        return self.per_run(lambda k, g: torch.randn(n, self.cfg.z_dim, generator=g))

    def _real(self) -> torch.Tensor:
        """A real batch, then the real-only preparation (``real_transform``)."""
        def draw(k: int, g: torch.Generator) -> torch.Tensor:
            x = self.draw_real(k, self.batch_size, g).to(self.device)
            return x if self.real_transform is None else self.real_transform(x, g)
        return self.per_run(draw)

    def _d_input(self, x: torch.Tensor, noise_std: float) -> torch.Tensor:
        """What D sees: the (differentiable) augmentation, then instance noise."""
        def one(k: int, g: torch.Generator, x: torch.Tensor) -> torch.Tensor:
            return randomize.add_instance_noise(x if self.augment is None else self.augment(x, g), noise_std, g)
        return self.per_run(one, x)

    def _d_step(self, k: dict[str, Any], noise_std: float) -> None:
        """D's update: (2) G makes fake data, (3) D scores real and fake, (4) L_D, (5) D's optimiser step.

        A batch is (B, data_dim) here and (K, B, data_dim) when K runs train side by side, so samples are
        dimension −2 and a run's logits dimension −1; ``per_run`` draws from each run's own generator."""
        real = self._real()
        with torch.no_grad():
            fake = self.G(self._noise(self.batch_size))
        both = torch.cat([self._d_input(real, noise_std), self._d_input(fake, noise_std)], dim=-2)
        real_logits, fake_logits = self.logits(both).chunk(2, dim=-1)   # one pass of D over real and fake
        if self.objective == "relativistic":
            loss = rasgan_d_loss(real_logits, fake_logits)
        else:
            n = real_logits.shape[-1]
            real_t = self.per_run(lambda i, g: randomize.targets(n, 1.0 - k["label_smoothing"], k["label_flip"], g))
            fake_t = self.per_run(lambda i, g: randomize.targets(n, 0.0, k["label_flip"], g))
            loss = d_loss(real_logits, fake_logits, real_t, fake_t)
        self.update("D", loss.sum())   # a sum over runs: each run's gradient is its own loss's
        self.run_metrics = {"loss_d": loss.detach(), "d_real": torch.sigmoid(real_logits).mean(-1).detach(),
                            "d_fake": torch.sigmoid(fake_logits).mean(-1).detach()}

    def _g_step(self, k: dict[str, Any], noise_std: float) -> None:
        """G's update: L_G = adversarial term + λ · E||G(z) − x||² (article 001's distance term, if λ > 0),
        with x paired to G(z) as ``pairing`` says; D's weights are held still."""
        lam, pairing = k.get("lam", 0.0), relative.check_pairing(k.get("pairing", "random"))
        idx = None
        if lam > 0 and pairing == "fixed":   # example i is always paired with its own code z_i
            idx = self.per_run(lambda i, g: torch.randint(len(self.train_set(i)[0]), (self.batch_size,), generator=g))
            z = self.per_run(lambda i, g, j: self.train_set(i)[1][j], idx)
        else:
            z = self._noise(self.batch_size)
        fake = self.G(z)
        self.D.requires_grad_(False)   # G's step needs ∂L/∂x through D, not D's own weight gradients
        try:
            fake_logits = self.logits(self._d_input(fake, noise_std))
            if self.objective == "relativistic":
                adv = rasgan_g_loss(self.logits(self._d_input(self._real(), noise_std)), fake_logits)
            else:
                adv = G_LOSSES[self.g_loss_name](fake_logits)
        finally:
            self.D.requires_grad_(True)
        loss = adv
        self.run_metrics["loss_g_adv"] = adv.detach()
        if lam > 0:
            distance = relative.squared_distance(fake, self._targets(fake, pairing, idx))
            loss = adv + lam * distance
            self.run_metrics["distance"] = distance.detach()
        self.update("G", loss.sum())
        self.run_metrics["loss_g"] = loss.detach()

    def _targets(self, fake: torch.Tensor, pairing: str, idx: torch.Tensor | None) -> torch.Tensor:
        """The real x paired with each G(z) in the λ term (see ragteach.gan.relative)."""
        if pairing == "random":
            return self.per_run(lambda i, g: self.draw_real(i, fake.shape[-2], g))
        if pairing == "nearest":
            return self.per_run(lambda i, g, f: relative.nearest_targets(f.detach(), self.train_set(i)[0]), fake)
        return self.per_run(lambda i, g, j: self.train_set(i)[0][j], idx)

    fix = "Lower the learning rates (lr_g, lr_d) and run again."

    def train_step(self, k: dict[str, Any]) -> dict[str, float]:
        """One step: ``d_steps`` discriminator updates, then one generator update; the metrics are means
        over runs (``run_metrics`` keeps each run's)."""
        set_lr(self.optimizers["G"], k["lr_g"])
        set_lr(self.optimizers["D"], k["lr_d"])
        noise_std = randomize.annealed_std(k["instance_noise"], self.steps, k["noise_anneal_steps"])
        for _ in range(k["d_steps"]):
            self._d_step(k, noise_std)
        self._g_step(k, noise_std)
        return {**{name: float(v.mean()) for name, v in self.run_metrics.items()}, "noise_std": noise_std}

    def sample(self, n: int, *, seed: int = 1234) -> torch.Tensor:
        """n generated samples from fixed noise (same ``seed``, same z: previews are comparable)."""
        check_positive_int("n", n)
        with eval_mode(self.G):
            return self.G.sample(n, torch.Generator().manual_seed(seed)).cpu()

    def d_accuracy(self, real: torch.Tensor, fake: torch.Tensor) -> float:
        """D's accuracy (see :mod:`ragteach.metrics.discriminator`) on real and fake samples (n, data_dim),
        packed as in training; no augmentation or noise: what D itself can tell apart."""
        with torch.no_grad(), eval_mode(self.D):
            return float(d_accuracy(self.D(real.to(self.device)), self.D(fake.to(self.device))))

    def evaluate(self, real: torch.Tensor) -> dict[str, float]:
        """``d_accuracy``: D's accuracy on held-out ``real`` samples against as many of G's (fixed noise);
        0.5 when D cannot tell them apart (a mean over runs for a batched trainer)."""
        accuracy = self.d_accuracy(real, self.sample(real.shape[-2]))
        return {"d_accuracy": float(torch.as_tensor(accuracy).mean())}

    def extra_state(self) -> dict[str, Any]:
        return {"fixed_z": self.fixed_z}

    def step_extra_state(self) -> dict[str, Any]:
        return {}  # the fixed codes never change during a step

    def check_extra_state(self, extra: dict[str, Any]) -> None:
        mine, theirs = self.fixed_z, extra.get("fixed_z")
        if (mine is None) != (theirs is None) or (mine is not None and theirs.shape != mine.shape):
            raise CheckpointMismatchError("the checkpoint's fixed latent codes (fixed_z) do not fit this trainer's "
                                          "distance_data: build the trainer with the same training set")

    def load_extra_state(self, extra: dict[str, Any]) -> None:
        self.fixed_z = extra["fixed_z"]
