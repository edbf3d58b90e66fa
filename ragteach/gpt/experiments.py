"""Fixed-seed experiments of notebook 03: quality per p, the effect of rescaling, random vs learned units."""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any, Iterator, Sequence

from ragteach.data.text import TextData
from ragteach.gpt.model import GPTConfig
from ragteach.gpt.random_activation import SELECTIONS, ActivationSettings
from ragteach.gpt.train import GPTTrainer, gpt_knobs, perplexity
from ragteach.live.session import TrainingSession


@contextmanager
def evaluating_with(trainer: GPTTrainer, selection: str = "random", **settings: Any) -> Iterator[GPTTrainer]:
    """Temporarily change the trainer's activation settings (and selection); restores them after."""
    if selection not in SELECTIONS:
        raise ValueError(f"selection must be one of {SELECTIONS}, got {selection!r}")
    pol = trainer.model.policy
    saved = {f.name: getattr(pol.settings, f.name) for f in fields(pol.settings)}
    saved_sel, saved_rng = pol.selection, pol.state_dict()
    pol.settings.update(settings)
    pol.selection = selection
    try:
        yield trainer
    finally:
        pol.load_state_dict(saved_rng)
        pol.settings.update(saved)
        pol.selection = saved_sel


@dataclass
class QualityRun:
    """One model trained with random activation at ``p`` (during training only) and its validation losses."""

    p: float
    rescale: bool
    steps: int
    seconds: float
    val_dense: float      # evaluated with every unit on (random activation at training only, like dropout)
    val_random: float     # evaluated with random activation kept on (the article: also at generation)
    trainer: GPTTrainer
    session: TrainingSession

    def row(self) -> dict[str, Any]:
        return {"p (training)": self.p, "rescale 1/p": "yes" if self.rescale else "no", "steps": self.steps,
                "val loss, all units at eval": round(self.val_dense, 3),
                "perplexity": round(perplexity(self.val_dense), 2),
                "val loss, random at eval too": round(self.val_random, 3),
                "cost of random at eval": round(self.val_random - self.val_dense, 3),
                "train s": round(self.seconds, 1)}


def train_quality(data: TextData, cfg: GPTConfig, p: float, steps: int, seed: int = 0, rescale: bool = True,
                  batch_size: int = 16, lr: float = 2e-3, impl: str = "structured",
                  eval_every: int | None = None, eval_batches: int = 16, curve_batches: int = 4) -> QualityRun:
    """Train with p active at training only, then measure validation loss with and without it at eval.

    eval_every / curve_batches: the validation curve during training (default: 8 points of 4 batches);
    eval_batches: the final measurements (batches of 32 windows, the same fixed batches for every run)."""
    settings = ActivationSettings(p=p, rescale=rescale, active_in="train", impl=impl)
    trainer = GPTTrainer(cfg, data, batch_size=batch_size, seed=seed, settings=settings,
                         eval_every=eval_every or max(1, steps // 8), eval_batches=curve_batches, lr=lr)
    session = TrainingSession(trainer, gpt_knobs(lr=lr, p=p, rescale=rescale, active_in="train", impl=impl),
                              state={"gpt": trainer})
    session.run(steps, desc=f"GPT p={p:g}{'' if rescale else ', no rescale'}")
    val_dense = trainer.evaluate("val", eval_batches)
    with evaluating_with(trainer, active_in="both"):
        val_random = trainer.evaluate("val", eval_batches)
    return QualityRun(p, rescale, steps, trainer.seconds, val_dense, val_random, trainer, session)


def selection_rows(trainer: GPTTrainer, fractions: Sequence[float], eval_batches: int = 16) -> list[dict[str, Any]]:
    """Validation loss of one trained model when only a fraction k/n of each MLP's units is kept at eval:
    k random units (rescaled by 1/p or not) vs the k units of largest |activation| per token (learned)."""
    full = trainer.evaluate("val", eval_batches)
    rows = []
    for f in fractions:
        row: dict[str, Any] = {"kept k/n": f}
        for label, sel, rescale in (("random, ×1/p", "random", True), ("random, unscaled", "random", False),
                                    ("top-k |activation|", "topk", False)):
            with evaluating_with(trainer, selection=sel, p=f, rescale=rescale, active_in="both", impl="masked"):
                row[label] = round(trainer.evaluate("val", eval_batches), 3)
        row["all units"] = round(full, 3)
        rows.append(row)
    return rows


def time_per_step(trainer: GPTTrainer, knobs: dict[str, Any], n: int = 10) -> float:
    """Seconds per training step (noisy on a shared CPU: compare ratios measured back to back)."""
    trainer(knobs)
    started = time.perf_counter()
    for _ in range(n):
        trainer(knobs)
    return (time.perf_counter() - started) / n
