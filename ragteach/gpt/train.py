"""One GPT training step usable by a :class:`~ragteach.live.session.TrainingSession`, and evaluation.

``trainer(knob_values) -> metrics``: reads p, source, λ, α, β, rescale, active_in, impl (and ``lr``)
from the knob values, takes one AdamW step on a random batch of training text, and returns
``loss`` (train cross-entropy, nats/char), ``p_drawn`` (the p drawn for this step; ``p`` is the knob), ``active`` (fraction of
hidden units computed), ``heads`` (fraction of attention heads computed), ``lr_used`` (the learning rate of this step) and, every
``eval_every`` steps, ``val_loss`` on fixed validation batches.

Learning-rate schedule (nanoGPT's): with ``warmup`` and ``total_steps`` the rate at step s is
``lr·(s+1)/warmup`` for ``s < warmup``, then ``lr·(r + (1 − r)·½(1 + cos(π·(s − warmup)/(total_steps − warmup))))``
down to ``r·lr`` (``r = min_lr_ratio``) at ``total_steps`` and after; ``lr`` is the knob (or the constructor's value).
"""
from __future__ import annotations

import math
import time
from typing import Any

import torch

from ragteach.data.text import TextData
from ragteach.gpt.model import GPT, GPTConfig
from ragteach.gpt.random_activation import ActivationSettings, activation_knob_list
from ragteach.knobs import Knob, Knobs
from ragteach.training import CheckpointMismatchError, Trainer, check_positive_int, eval_mode, seeded, set_lr


def gpt_knobs(lr: float = 2e-3, **activation: Any) -> Knobs:
    """Learning rate plus the random-activation knobs (see :func:`activation_knob_list`)."""
    return Knobs.of(Knob("lr", lr, low=0.0, high=0.1, low_open=True, log=True, description="learning rate"),
                    *activation_knob_list(**activation))


class GPTTrainer(Trainer):
    """A GPT, its AdamW optimiser and seeded batches. ``trainer(knobs)`` is one training step;
    ``evaluate`` measures ``eval_batches`` validation batches unless told otherwise."""

    def default_knobs(self) -> Knobs:
        return gpt_knobs()

    def __init__(self, cfg: GPTConfig, data: TextData, batch_size: int = 16, seed: int = 0,
                 settings: ActivationSettings | None = None, eval_batches: int = 8,
                 lr: float = 2e-3, weight_decay: float = 0.01, warmup: int = 0, total_steps: int | None = None,
                 min_lr_ratio: float = 0.1) -> None:
        if cfg.vocab_size != len(data.vocab):
            raise ValueError(f"cfg.vocab_size ({cfg.vocab_size}) must equal the vocabulary size of the data "
                             f"({len(data.vocab)}); use GPTConfig(vocab_size=len(data.vocab))")
        for name, value in (("batch_size", batch_size), ("eval_batches", eval_batches)):
            check_positive_int(name, value)
        if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
            raise ValueError(f"warmup must be a whole number of steps >= 0, got {warmup!r}")
        if total_steps is not None:
            check_positive_int("total_steps", total_steps)
            if total_steps <= warmup:
                raise ValueError(f"total_steps ({total_steps}) must exceed warmup ({warmup}): the cosine decay "
                                 f"runs from the end of the warm-up to total_steps")
        if not 0.0 <= min_lr_ratio <= 1.0:
            raise ValueError(f"min_lr_ratio must be in [0, 1] (the final rate as a fraction of lr), got {min_lr_ratio}")
        super().__init__(seed)  # self.rng: training batches
        self.base_lr, self.warmup, self.total_steps, self.min_lr_ratio = lr, warmup, total_steps, min_lr_ratio
        self.cfg, self.data, self.batch_size = cfg, data, batch_size
        self.eval_batches = eval_batches
        with seeded(seed):  # initial weights
            self.model = GPT(cfg, settings or ActivationSettings(), seed=seed)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=lr, betas=(0.9, 0.99), weight_decay=weight_decay)
        self.modules, self.optimizers = {"model": self.model}, {"model": self.opt}
        self.seconds = 0.0  # time spent in training steps (not evaluation)

    def lr_factor(self, step: int) -> float:
        """The schedule's multiplier of the base rate at ``step`` (1 without warm-up and decay)."""
        if step < self.warmup:
            return (step + 1) / self.warmup
        if self.total_steps is None:
            return 1.0
        done = min(1.0, (step - self.warmup) / (self.total_steps - self.warmup))
        r = self.min_lr_ratio
        return r + (1 - r) * 0.5 * (1 + math.cos(math.pi * done))

    @property
    def settings(self) -> ActivationSettings:
        return self.model.policy.settings

    def train_step(self, k: dict[str, Any]) -> dict[str, float]:
        """One step: update settings from the knobs, forward, backward, AdamW (refused if not finite)."""
        self.settings.update(k)
        lr = float(k.get("lr", self.base_lr)) * self.lr_factor(self.steps)
        if "lr" in k or self.warmup or self.total_steps is not None:
            set_lr(self.opt, lr)
        started = time.perf_counter()
        self.model.train()
        x, y = self.data.batch("train", self.batch_size, self.cfg.block_size, self.rng)
        _, loss = self.model(x, y)
        pol = self.model.policy
        metrics = {"loss": loss.item(), "p_drawn": pol.p_now, "active": pol.units_active / max(1, pol.units_seen),
                   "heads": pol.heads_active / max(1, pol.heads_seen), "lr_used": self.opt.param_groups[0]["lr"]}
        self.update("model", loss)
        self.seconds += time.perf_counter() - started
        return metrics

    @torch.no_grad()
    def evaluate_batches(self, split: str = "val", n_batches: int | None = None, seed: int = 1234,
                         batch_size: int = 32) -> list[float]:
        """Cross-entropy (nats/char) of each of ``n_batches`` fixed batches (the same batches for every model
        given the same seed), model in eval mode: random activation is on if ``active_in`` is ``"generate"``
        or ``"both"`` (the loss the sampler would see). Evaluating never shifts the training run's draws."""
        gen = torch.Generator().manual_seed(seed)
        losses = []
        pol = self.model.policy
        saved = pol.state_dict()
        try:
            with eval_mode(self.model):
                for _ in range(n_batches or self.eval_batches):
                    x, y = self.data.batch(split, batch_size, self.cfg.block_size, gen)
                    losses.append(self.model(x, y)[1].item())
        finally:
            pol.load_state_dict(saved)
        return losses

    def evaluate(self, split: str = "val", n_batches: int | None = None, seed: int = 1234,
                 batch_size: int = 32) -> dict[str, float]:
        """``loss``: mean cross-entropy L (nats/char) over :meth:`evaluate_batches`; ``perplexity``: exp(L)."""
        losses = self.evaluate_batches(split, n_batches, seed, batch_size)
        loss = sum(losses) / len(losses)
        return {"loss": loss, "perplexity": perplexity(loss)}

    def sample(self, prompt: str = "def ", n_chars: int = 120, *, seed: int = 0, temperature: float = 0.8) -> str:
        """Generated text after ``prompt`` (a prompt with unknown characters raises, naming them)."""
        if isinstance(n_chars, bool) or not isinstance(n_chars, int) or n_chars < 1:
            raise ValueError(f"n_chars must be a whole number >= 1 (how many characters to generate), got {n_chars!r}")
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str, e.g. 'def ', got {prompt!r:.40} ({type(prompt).__name__})")
        ids = self.data.vocab.encode(prompt)[None, :]
        if ids.shape[1] == 0:
            raise ValueError("the prompt must have at least one character, e.g. 'def '")
        pol = self.model.policy
        saved = pol.state_dict()  # sampling must not shift the training run's random draws
        try:
            out = self.model.generate(ids, n_chars, temperature=temperature,
                                      generator=torch.Generator().manual_seed(seed))
        finally:
            pol.load_state_dict(saved)
        return self.data.vocab.decode(out[0])

    def extra_state(self) -> dict[str, Any]:
        return {"policy": self.model.policy.state_dict()}

    def check_extra_state(self, extra: dict[str, Any]) -> None:
        policy = extra.get("policy") if isinstance(extra, dict) else None
        if not isinstance(policy, dict) or set(policy) != set(self.model.policy.state_dict()):
            raise CheckpointMismatchError("the checkpoint has no random-activation policy state of this GPT")
        self.settings.check(policy["settings"])

    def load_extra_state(self, extra: dict[str, Any]) -> None:
        self.model.policy.load_state_dict(extra["policy"])


def perplexity(loss: float) -> float:
    """exp(cross-entropy in nats): the effective number of equally likely next characters."""
    return math.exp(loss)
