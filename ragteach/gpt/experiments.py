"""Fixed-seed experiments of notebook 03: quality per p, the effect of rescaling, random vs learned units.

Comparisons are **paired**: every model is evaluated on the same fixed validation batches, so the difference of
two models is measured batch by batch, ``d_i = L_B,i − L_A,i``, and reported as ``mean(d) ± t·sd(d)/√n``
(a 95 % t interval over the n batches). That interval covers the choice of validation text; it does not cover
the training seed (one seed per setting), which the notebook says where it prints a verdict.
"""
from __future__ import annotations

import inspect
import time
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from ragteach.data.text import TextData
from ragteach.gpt.model import GPTConfig
from ragteach.gpt.random_activation import SELECTIONS, ActivationSettings
from ragteach.gpt.train import GPTTrainer, gpt_knobs, perplexity
from ragteach.stats import Difference, paired_difference
from ragteach.parallel import run_jobs
from ragteach.training import without_undo
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


@dataclass(frozen=True)
class Interval(Difference):
    """A difference in nats/char, printed to 3 decimals (the class notebook 03's stored results name)."""

    digits: int = 3


@dataclass
class QualityRun:
    """One model trained with random activation at ``p`` / ``p_head`` (during training only) and its validation losses."""

    p: float
    rescale: bool
    steps: int
    seconds: float
    val_dense: float      # evaluated with every unit on (random activation at training only, like dropout)
    val_random: float     # evaluated with random activation kept on (the article: also at generation)
    trainer: GPTTrainer
    history: list[dict[str, Any]]   # one row per training step (the session's history), val_loss every eval_every
    p_head: float = 1.0
    dense_batches: list[float] | None = None    # per validation batch, all units and heads on
    random_batches: list[float] | None = None   # per validation batch, random activation kept on

    @property
    def label(self) -> str:
        return (f"p = {self.p:g}" + (f", p_head = {self.p_head:g}" if self.p_head < 1 else "")
                + ("" if self.rescale else ", no rescale"))

    def row(self) -> dict[str, Any]:
        return {"p (training)": self.p, "p_head": self.p_head, "rescale 1/p": "yes" if self.rescale else "no",
                "steps": self.steps,
                "val loss, all units at eval": round(self.val_dense, 3),
                "perplexity": round(perplexity(self.val_dense), 2),
                "val loss, random at eval too": round(self.val_random, 3),
                "train s": round(self.seconds, 1)}


def costs_vs_dense(dense: QualityRun, run: QualityRun) -> tuple[Difference, Difference]:
    """What ``run`` costs against the **dense** model, batch by batch on the same validation batches:
    (loss with all units on − dense loss, loss with random activation kept on − dense loss).
    "Quality is kept" is judged against the dense model only, never against the run's own other mode."""
    for name, r in (("dense", dense), ("run", run)):
        if r.dense_batches is None or r.random_batches is None:
            raise ValueError(f"{name} has no per-batch validation losses; train it with train_quality")
    return (paired_difference(dense.dense_batches, run.dense_batches),
            paired_difference(dense.dense_batches, run.random_batches))


def train_quality(data: TextData, cfg: GPTConfig, p: float, steps: int, seed: int = 0, rescale: bool = True,
                  batch_size: int = 16, lr: float = 2e-3, impl: str = "structured",
                  eval_every: int | None = None, eval_batches: int = 16, curve_batches: int = 4,
                  p_head: float = 1.0, warmup: int | None = None, min_lr_ratio: float = 0.1,
                  progress: bool = True) -> QualityRun:
    """Train with p (MLP units) and p_head (attention heads) active at training only, with nanoGPT's warm-up and
    cosine decay of the learning rate over ``steps``, then measure validation loss with and without it at eval.

    warmup: steps of linear warm-up (default ``steps // 20``);
    eval_every / curve_batches: the validation curve during training (default: 8 points of 4 batches);
    eval_batches: the final measurements (batches of 32 windows, the same fixed batches for every run)."""
    settings = ActivationSettings(p=p, rescale=rescale, active_in="train", impl=impl, p_head=p_head)
    warmup = max(1, steps // 20) if warmup is None else warmup
    trainer = GPTTrainer(cfg, data, batch_size=batch_size, seed=seed, settings=settings,
                         eval_every=eval_every or max(1, steps // 8), eval_batches=curve_batches, lr=lr,
                         warmup=min(warmup, steps - 1), total_steps=steps, min_lr_ratio=min_lr_ratio)
    session = TrainingSession(trainer, gpt_knobs(lr=lr, p=p, rescale=rescale, active_in="train", impl=impl,
                                                 p_head=p_head))
    with without_undo(trainer):           # a failed step ends this call: no run is returned
        session.run(steps, progress=progress, desc=f"GPT p={p:g}" + (f", p_head={p_head:g}" if p_head < 1 else "")
                    + ("" if rescale else ", no rescale"), reraise_interrupt=True)
    dense = trainer.evaluate_batches("val", eval_batches)
    with evaluating_with(trainer, active_in="both"):
        rand = trainer.evaluate_batches("val", eval_batches)
    return QualityRun(p, rescale, steps, trainer.seconds, float(np.mean(dense)), float(np.mean(rand)), trainer,
                      list(session.history), p_head, dense, rand)


def train_quality_runs(data: TextData, cfg: GPTConfig, settings: Sequence[dict[str, Any]], steps: int,
                       workers: int = 1, *, done: dict[str, Any] | None = None, **common: Any) -> list[QualityRun]:
    """Train several independent runs (each ``settings[i]``, e.g. ``{"p": 0.5}``, ``{"p": 1, "p_head": 0.5}``,
    merged over ``common``, the keyword arguments of :func:`train_quality`).

    With ``workers > 1`` the runs train side by side in that many processes of one torch thread each
    (:func:`ragteach.parallel.run_jobs`, which also explains ``done``). Every run is exactly the run
    :func:`train_quality` gives in this process (same seed, same batches, same draws)."""
    allowed = set(inspect.signature(train_quality).parameters) - {"data", "cfg", "steps", "progress"}
    jobs = {}
    for i, extra in enumerate(settings):
        kwargs = {**common, **extra}
        unknown = sorted(set(kwargs) - allowed)
        if unknown or "p" not in kwargs:
            raise ValueError(f"each run needs 'p' and may set {sorted(allowed - {'p'})}; got unknown {unknown}")
        name = f"{i}: " + ", ".join(f"{k}={v}" for k, v in extra.items())
        jobs[name] = dict(data=data, cfg=cfg, steps=steps, progress=workers == 1, **kwargs)
    return list(run_jobs(train_quality, jobs, workers, done=done, progress=True).values())


def selection_rows(trainer: GPTTrainer, fractions: Sequence[float], eval_batches: int = 16) -> list[dict[str, Any]]:
    """Validation loss of one trained model when only a fraction k/n of each MLP's units is kept at eval:
    k random units (rescaled by 1/p or not) vs the k units of largest |activation| per token (learned).
    ``"random − top-k"`` is the paired difference (a :class:`~ragteach.stats.Difference`, per validation batch)."""
    full = trainer.evaluate("val", eval_batches)["loss"]
    rows = []
    for f in fractions:
        row: dict[str, Any] = {"kept k/n": f}
        per_batch = {}
        for label, sel, rescale in (("random, ×1/p", "random", True), ("random, unscaled", "random", False),
                                    ("top-k |activation|", "topk", False)):
            with evaluating_with(trainer, selection=sel, p=f, rescale=rescale, active_in="both", impl="masked"):
                per_batch[label] = trainer.evaluate_batches("val", eval_batches)
            row[label] = round(float(np.mean(per_batch[label])), 3)
        row["all units"] = round(full, 3)
        row["random − top-k"] = paired_difference(per_batch["top-k |activation|"], per_batch["random, ×1/p"])
        rows.append(row)
    return rows


def time_per_step(trainer: GPTTrainer, knobs: dict[str, Any], n: int = 10) -> float:
    """Seconds per training step (noisy on a shared CPU: compare ratios measured back to back)."""
    trainer(knobs)
    started = time.perf_counter()
    for _ in range(n):
        trainer(knobs)
    return (time.perf_counter() - started) / n
