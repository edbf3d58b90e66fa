"""One GPT training step usable by a :class:`~ragteach.live.session.TrainingSession`, and evaluation.

``trainer(knob_values) -> metrics``: reads p, source, λ, α, β, rescale, active_in, impl (and ``lr``)
from the knob values, takes one AdamW step on a random batch of training text, and returns
``loss`` (train cross-entropy, nats/char), ``p_drawn`` (the p drawn for this step; ``p`` is the knob), ``active`` (fraction of
hidden units computed) and, every ``eval_every`` steps, ``val_loss`` on fixed validation batches.
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
    """A GPT, its AdamW optimiser and seeded batches. ``trainer(knobs)`` is one training step."""

    def __init__(self, cfg: GPTConfig, data: TextData, batch_size: int = 16, seed: int = 0,
                 settings: ActivationSettings | None = None, eval_every: int = 50, eval_batches: int = 8,
                 lr: float = 2e-3, weight_decay: float = 0.01) -> None:
        if cfg.vocab_size != len(data.vocab):
            raise ValueError(f"cfg.vocab_size ({cfg.vocab_size}) must equal the vocabulary size of the data "
                             f"({len(data.vocab)}); use GPTConfig(vocab_size=len(data.vocab))")
        for name, value in (("batch_size", batch_size), ("eval_every", eval_every), ("eval_batches", eval_batches)):
            check_positive_int(name, value)
        super().__init__(seed)  # self.rng: training batches
        self.cfg, self.data, self.batch_size = cfg, data, batch_size
        self.eval_every, self.eval_batches = eval_every, eval_batches
        with seeded(seed):  # initial weights
            self.model = GPT(cfg, settings or ActivationSettings(), seed=seed)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=lr, betas=(0.9, 0.99), weight_decay=weight_decay)
        self.modules, self.optimizers = {"model": self.model}, {"model": self.opt}
        self.seconds = 0.0  # time spent in training steps (not evaluation)

    @property
    def settings(self) -> ActivationSettings:
        return self.model.policy.settings

    def train_step(self, k: dict[str, Any]) -> dict[str, float]:
        """One step: update settings from the knobs, forward, backward, AdamW (refused if not finite)."""
        self.settings.update(k)
        if "lr" in k:
            set_lr(self.opt, k["lr"])
        started = time.perf_counter()
        self.model.train()
        x, y = self.data.batch("train", self.batch_size, self.cfg.block_size, self.rng)
        _, loss = self.model(x, y)
        pol = self.model.policy
        metrics = {"loss": loss.item(), "p_drawn": pol.p_now, "active": pol.units_active / max(1, pol.units_seen)}
        self.update("model", loss)
        self.seconds += time.perf_counter() - started
        if (self.steps + 1) % self.eval_every == 0:  # self.steps counts this step once it succeeds
            metrics["val_loss"] = self.evaluate("val")
        return metrics

    @torch.no_grad()
    def evaluate(self, split: str = "val", n_batches: int | None = None, seed: int = 1234,
                 batch_size: int = 32) -> float:
        """Mean cross-entropy (nats/char) on fixed batches, model in eval mode: random activation is on
        if ``active_in`` is ``"generate"`` or ``"both"`` (the loss the sampler would see)."""
        gen = torch.Generator().manual_seed(seed)
        losses = []
        pol = self.model.policy
        saved = pol.state_dict()  # evaluating must not shift the training run's random draws
        try:
            with eval_mode(self.model):
                for _ in range(n_batches or self.eval_batches):
                    x, y = self.data.batch(split, batch_size, self.cfg.block_size, gen)
                    losses.append(self.model(x, y)[1].item())
        finally:
            pol.load_state_dict(saved)
        return sum(losses) / len(losses)

    def sample(self, prompt: str = "def ", n_chars: int = 120, seed: int = 0, temperature: float = 0.8) -> str:
        """Generated text after ``prompt`` (a prompt with unknown characters raises, naming them)."""
        if isinstance(n_chars, bool) or not isinstance(n_chars, int) or n_chars < 1:
            raise ValueError(f"n_chars must be a whole number >= 1 (how many characters to generate), got {n_chars!r}")
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
