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
from dataclasses import fields
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from ragteach.data.text import TextData
from ragteach.gpt.model import GPTConfig
from ragteach.gpt.random_activation import SELECTIONS, ActivationSettings
from ragteach.gpt.train import GPTTrainer, gpt_knobs, perplexity
from ragteach.stats import Difference, paired_difference
from ragteach.parallel import run_jobs
from ragteach.runs import Run, train_runs


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


def label(run: Run) -> str:
    """A quality run's name: its p (and p_head), and whether it trained without the 1/p rescaling."""
    return (f"p = {run['p']:g}" + (f", p_head = {run['p_head']:g}" if run["p_head"] < 1 else "")
            + ("" if run["rescale"] else ", no rescale"))


def quality_row(run: Run) -> dict[str, Any]:
    """A quality run's row of notebook 03's table."""
    return {"p (training)": run["p"], "p_head": run["p_head"], "rescale 1/p": "yes" if run["rescale"] else "no",
            "steps": run["steps"], "val loss, all units at eval": round(run.scores["val_dense"], 3),
            "perplexity": round(perplexity(run.scores["val_dense"]), 2),
            "val loss, random at eval too": round(run.scores["val_random"], 3), "train s": round(run.seconds, 1)}


def costs_vs_dense(dense: Run, run: Run) -> tuple[Difference, Difference]:
    """What ``run`` costs against the **dense** model, batch by batch on the same validation batches:
    (loss with all units on − dense loss, loss with random activation kept on − dense loss).
    "Quality is kept" is judged against the dense model only, never against the run's own other mode."""
    for name, r in (("dense", dense), ("run", run)):
        if "dense_batches" not in r.scores:
            raise ValueError(f"{name} has no per-batch validation losses; train it with train_quality")
    return (paired_difference(dense.scores["dense_batches"], run.scores["dense_batches"]),
            paired_difference(dense.scores["dense_batches"], run.scores["random_batches"]))


def train_quality(data: TextData, cfg: GPTConfig, p: float, steps: int, seed: int = 0, rescale: bool = True,
                  batch_size: int = 16, lr: float = 2e-3, impl: str = "structured",
                  eval_every: int | None = None, eval_batches: int = 16, curve_batches: int = 4,
                  p_head: float = 1.0, warmup: int | None = None, min_lr_ratio: float = 0.1,
                  progress: bool = True) -> Run:
    """Train with p (MLP units) and p_head (attention heads) active at training only, with nanoGPT's warm-up and
    cosine decay of the learning rate over ``steps``, then measure validation loss with and without it at eval.

    warmup: steps of linear warm-up (default ``steps // 20``);
    eval_every / curve_batches: the validation curve during training (default: 8 points of 4 batches);
    eval_batches: the final measurements (batches of 32 windows, the same fixed batches for every run).
    The run's scores: ``val_dense`` (every unit on at evaluation, as dropout is used), ``val_random`` (random
    activation kept on, as the article also generates), and both per validation batch (``*_batches``)."""
    settings = ActivationSettings(p=p, rescale=rescale, active_in="train", impl=impl, p_head=p_head)
    warmup = max(1, steps // 20) if warmup is None else warmup
    trainer = GPTTrainer(cfg, data, batch_size=batch_size, seed=seed, settings=settings, lr=lr,
                         warmup=min(warmup, steps - 1), total_steps=steps, min_lr_ratio=min_lr_ratio)
    knobs = gpt_knobs(lr=lr, p=p, rescale=rescale, active_in="train", impl=impl, p_head=p_head)
    run = Run(dict(p=p, p_head=p_head, rescale=rescale, steps=steps, seed=seed))

    def curve() -> list[dict[str, float]]:
        return [{"val_loss": trainer.evaluate("val", curve_batches)["loss"]}]

    run = train_runs(trainer, [run.settings], steps, eval_every or max(1, steps // 8), curve, knobs=knobs,
                     progress=progress, desc=f"GPT {label(run)}")[0]
    dense = trainer.evaluate_batches("val", eval_batches)
    with evaluating_with(trainer, active_in="both"):
        rand = trainer.evaluate_batches("val", eval_batches)
    run.scores = {"val_dense": float(np.mean(dense)), "val_random": float(np.mean(rand)),
                  "dense_batches": dense, "random_batches": rand}
    return run


def train_quality_runs(data: TextData, cfg: GPTConfig, settings: Sequence[dict[str, Any]], steps: int,
                       workers: int = 1, *, done: dict[str, Any] | None = None, **common: Any) -> list[Run]:
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
