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
from ragteach.live.knobs import Knob, Knobs


def gpt_knobs(lr: float = 2e-3, **activation: Any) -> Knobs:
    """Learning rate plus the random-activation knobs (see :func:`activation_knob_list`)."""
    return Knobs.of(Knob("lr", lr, low=0.0, high=0.1, low_open=True, log=True, description="learning rate"),
                    *activation_knob_list(**activation))


class GPTTrainer:
    """A GPT, its AdamW optimiser and seeded batches. ``trainer(knobs)`` is one training step."""

    def __init__(self, cfg: GPTConfig, data: TextData, batch_size: int = 16, seed: int = 0,
                 settings: ActivationSettings | None = None, eval_every: int = 50, eval_batches: int = 8,
                 lr: float = 2e-3, weight_decay: float = 0.01) -> None:
        if cfg.vocab_size != len(data.vocab):
            raise ValueError(f"cfg.vocab_size ({cfg.vocab_size}) must equal the vocabulary size of the data "
                             f"({len(data.vocab)}); use GPTConfig(vocab_size=len(data.vocab))")
        if batch_size < 1 or eval_every < 1 or eval_batches < 1:
            raise ValueError("batch_size, eval_every and eval_batches must be >= 1, got "
                             f"{batch_size}, {eval_every}, {eval_batches}")
        self.cfg, self.data, self.batch_size = cfg, data, batch_size
        self.eval_every, self.eval_batches = eval_every, eval_batches
        torch.manual_seed(seed)  # initial weights
        self.model = GPT(cfg, settings or ActivationSettings(), seed=seed)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=lr, betas=(0.9, 0.99), weight_decay=weight_decay)
        self.rng = torch.Generator().manual_seed(seed)  # training batches
        self.steps = 0
        self.seconds = 0.0  # time spent in training steps (not evaluation)

    @property
    def settings(self) -> ActivationSettings:
        return self.model.policy.settings

    def __call__(self, k: dict[str, Any]) -> dict[str, float]:
        """One step: update settings from the knobs, forward, backward, AdamW (skipped if not finite)."""
        self.settings.update(k)
        if "lr" in k:
            for group in self.opt.param_groups:
                group["lr"] = k["lr"]
        started = time.perf_counter()
        self.model.train()
        x, y = self.data.batch("train", self.batch_size, self.cfg.block_size, self.rng)
        _, loss = self.model(x, y)
        pol = self.model.policy
        metrics = {"loss": loss.item(), "p_drawn": pol.p_now, "active": pol.units_active / max(1, pol.units_seen)}
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss is {loss.item()} at step {self.steps}; the update was not applied. "
                                     f"Lower the learning rate and run again.")
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.seconds += time.perf_counter() - started
        self.steps += 1
        if self.steps % self.eval_every == 0:
            metrics["val_loss"] = self.evaluate("val")
        return metrics

    @torch.no_grad()
    def evaluate(self, split: str = "val", n_batches: int | None = None, seed: int = 1234,
                 batch_size: int = 32) -> float:
        """Mean cross-entropy (nats/char) on fixed batches, model in eval mode: random activation is on
        if ``active_in`` is ``"generate"`` or ``"both"`` (the loss the sampler would see)."""
        was = self.model.training
        self.model.eval()
        gen = torch.Generator().manual_seed(seed)
        losses = []
        for _ in range(n_batches or self.eval_batches):
            x, y = self.data.batch(split, batch_size, self.cfg.block_size, gen)
            losses.append(self.model(x, y)[1].item())
        self.model.train(was)
        return sum(losses) / len(losses)

    def sample(self, prompt: str = "def ", n_chars: int = 120, seed: int = 0, temperature: float = 0.8) -> str:
        """Generated text after ``prompt`` (a prompt with unknown characters raises, naming them)."""
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

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict(), "rng": self.rng.get_state(),
                "policy": self.model.policy.state_dict(), "steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        self.rng.set_state(state["rng"])
        self.model.policy.load_state_dict(state["policy"])
        self.steps = int(state["steps"])


def perplexity(loss: float) -> float:
    """exp(cross-entropy in nats): the effective number of equally likely next characters."""
    return math.exp(loss)
