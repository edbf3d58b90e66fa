"""Notebook 03's lesson: quality per p, the cost of random activation against the dense model, random vs
learned units, and the compute and memory measurements.

Comparisons are **paired**: every model is evaluated on the same fixed validation batches, so the difference of
two models is measured batch by batch, ``d_i = L_B,i − L_A,i``, and reported as ``mean(d) ± t·sd(d)/√n``
(a 95 % t interval over the n batches). That interval covers the choice of validation text; it does not cover
the training seed (one seed per setting), which the notebook says where it prints a verdict.
"""
from __future__ import annotations

import inspect
import statistics
import time
from contextlib import contextmanager
from dataclasses import fields
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from ragteach.data.text import TextData
from ragteach.gpt.model import GPT, GPTConfig
from ragteach.gpt.random_activation import SELECTIONS, ActivationSettings
from ragteach.gpt.random_heads import masked_attention, structured_attention
from ragteach.gpt.sparse_mlp import masked_mlp, structured_mlp
from ragteach.gpt.train import GPTTrainer, gpt_knobs, perplexity
from ragteach.parallel import run_jobs
from ragteach.runs import Run, train_runs
from ragteach.stats import Difference, paired_difference


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


def label(run: Run | Mapping[str, Any]) -> str:
    """A quality run's name (from the run or its settings): its p (and p_head), and whether it trained without
    the 1/p rescaling."""
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
    run_settings = dict(p=p, p_head=p_head, rescale=rescale, steps=steps, seed=seed)

    def curve() -> list[dict[str, float]]:
        return [{"val_loss": trainer.evaluate("val", curve_batches)["loss"]}]

    run = train_runs(trainer, [run_settings], steps, eval_every or max(1, steps // 8), curve, knobs=knobs,
                     progress=progress, desc=f"GPT {label(run_settings)}")[0]
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


# ----------------------------------------------------------------------------- compute and memory
# Measuring the compute and memory claims: time, FLOPs and memory of dense vs masked vs structured.
# Timings interleave the variants (a few calls of each per round), time every call on its own and
# keep the **median** call: when other processes take the CPU, a call is descheduled for a whole time
# slice, which hits a few calls hard and most not at all; the median ignores those outliers, and
# interleaving exposes all variants to the same bursts. Still, on a shared CPU compare the **ratios**
# of one run, not absolute milliseconds across runs.

VARIANTS = ("dense", "masked", "structured")


def count_flops(fn: Callable[[], Any]) -> int:
    """Floating-point operations of the matmuls/attention that ``fn()`` runs (torch's FLOP counter:
    a (m×k)·(k×n) matmul counts 2·m·k·n; element-wise ops are not counted)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def median_times(fns: dict[str, Callable[[], Any]], rounds: int = 7, inner: int = 5) -> dict[str, float]:
    """Median seconds of one call of each function over ``rounds × inner`` calls, interleaved by round
    (after a warm-up call of each)."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            for _ in range(inner):
                started = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - started)
    return {name: statistics.median(t) for name, t in times.items()}


def saved_for_backward_bytes(fn: Callable[[], torch.Tensor]) -> int:
    """Bytes of the tensors autograd keeps for the backward pass of ``fn()`` (distinct storages).

    This is the activation memory of a training step, the part that grows with batch × context and
    that random activation could shrink; weights, gradients and optimiser state are the same for all variants.
    """
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        st = t.untyped_storage()
        seen[st.data_ptr()] = st.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(seen.values())


def _mlp_params(C: int, H: int, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(H, C, generator=g) * 0.02).requires_grad_(), torch.zeros(H, requires_grad=True),
            (torch.randn(C, H, generator=g) * 0.02).requires_grad_(), torch.zeros(C, requires_grad=True)]


def time_variants(fwd: dict[str, Callable[[], torch.Tensor]], weights: Sequence[torch.Tensor], rounds: int
                  ) -> tuple[dict[str, float], dict[str, float], dict[str, int]]:
    """For each variant: median forward seconds, median forward + backward seconds (the gradients of
    ``weights`` cleared before each call) and the forward's FLOPs."""

    def train(fn: Callable[[], torch.Tensor]) -> Callable[[], None]:
        def step() -> None:
            for t in weights:
                t.grad = None
            fn().sum().backward()
        return step

    with torch.no_grad():
        t_fwd = median_times(fwd, rounds)
        flops = {n: count_flops(f) for n, f in fwd.items()}
    t_train = median_times({n: train(f) for n, f in fwd.items()}, rounds)
    return t_fwd, t_train, flops


def mlp_rows(n_embd: int = 96, tokens: int = 1024, ps: Sequence[float] = (1.0, 0.75, 0.5, 0.25, 0.1),
             rounds: int = 7, seed: int = 0) -> list[dict[str, Any]]:
    """One MLP layer (C → 4C → C) on ``tokens`` token vectors: forward and forward+backward time, FLOPs
    and saved-activation memory of dense, masked and structured, per p, with the ideal speed-up 1/p."""
    C, H = n_embd, 4 * n_embd
    x = torch.randn(tokens, C, generator=torch.Generator().manual_seed(seed))
    w = _mlp_params(C, H, seed)
    rows = []
    for p in ps:
        keep = torch.rand(H, generator=torch.Generator().manual_seed(seed + 1)) < p
        idx = None if p >= 1 else keep.nonzero().squeeze(1)
        k = H if idx is None else idx.numel()
        scale = 1.0 / p if 0 < p < 1 else 1.0
        fwd = {"dense": lambda: masked_mlp(x, *w, None),
               "masked": lambda: masked_mlp(x, *w, idx, scale),
               "structured": lambda: structured_mlp(x, *w, idx, scale)}

        t_fwd, t_train, flops = time_variants(fwd, w, rounds)
        mem = {n: saved_for_backward_bytes(f) for n, f in fwd.items()}
        rows.append({"p": p, "k/n": round(k / H, 3), "ideal 1/p": round(1 / max(p, 1e-9), 2),
                     "FLOPs structured/dense": round(flops["structured"] / flops["dense"], 3),
                     "FLOPs masked/dense": round(flops["masked"] / flops["dense"], 3),
                     "fwd speed-up masked": round(t_fwd["dense"] / t_fwd["masked"], 2),
                     "fwd speed-up structured": round(t_fwd["dense"] / t_fwd["structured"], 2),
                     "train speed-up masked": round(t_train["dense"] / t_train["masked"], 2),
                     "train speed-up structured": round(t_train["dense"] / t_train["structured"], 2),
                     "act. memory masked/dense": round(mem["masked"] / mem["dense"], 2),
                     "act. memory structured/dense": round(mem["structured"] / mem["dense"], 2),
                     "dense fwd ms": round(1000 * t_fwd["dense"], 3)})
    return rows


def attention_rows(n_embd: int = 96, n_head: int = 4, batch_size: int = 16, block_size: int = 64,
                   ps: Sequence[float] = (1.0, 0.75, 0.5, 0.25), rounds: int = 7, seed: int = 0) -> list[dict[str, Any]]:
    """One causal self-attention layer on (batch_size, block_size) tokens keeping k = round(p·h) of its h heads
    (the expected number, at least 1): forward and forward+backward time and FLOPs of dense, masked and
    structured (ideal speed-up h/k)."""
    g = torch.Generator().manual_seed(seed)
    C = n_embd
    x = torch.randn(batch_size, block_size, C, generator=g)
    w = [(torch.randn(3 * C, C, generator=g) * 0.02).requires_grad_(), torch.zeros(3 * C, requires_grad=True),
         (torch.randn(C, C, generator=g) * 0.02).requires_grad_(), torch.zeros(C, requires_grad=True)]
    rows = []
    for p in ps:
        k = max(1, round(p * n_head))   # the expected number of kept heads (at least one), chosen at random
        idx = None if k >= n_head else torch.randperm(n_head, generator=torch.Generator().manual_seed(seed + 1))[:k]
        k = n_head if idx is None else idx.numel()
        scale = 1.0 / p if 0 < p < 1 else 1.0
        fwd = {"dense": lambda: masked_attention(x, *w, n_head, None),
               "masked": lambda: masked_attention(x, *w, n_head, idx, scale),
               "structured": lambda: structured_attention(x, *w, n_head, idx, scale)}

        t_fwd, t_train, flops = time_variants(fwd, w, rounds)
        rows.append({"p_head": p, "heads kept": f"{k} / {n_head}", "ideal h/k": round(n_head / max(k, 1e-9), 2),
                     "FLOPs masked/dense": round(flops["masked"] / flops["dense"], 3),
                     "FLOPs structured/dense": round(flops["structured"] / flops["dense"], 3),
                     "fwd speed-up masked": round(t_fwd["dense"] / t_fwd["masked"], 2),
                     "fwd speed-up structured": round(t_fwd["dense"] / t_fwd["structured"], 2),
                     "train speed-up masked": round(t_train["dense"] / t_train["masked"], 2),
                     "train speed-up structured": round(t_train["dense"] / t_train["structured"], 2),
                     "dense fwd ms": round(1000 * t_fwd["dense"], 3)})
    return rows


def model_rows(cfg: GPTConfig, batch_size: int = 16, ps: Sequence[float] = (1.0, 0.75, 0.5, 0.25, 0.1),
               gen_tokens: int = 32, rounds: int = 5, seed: int = 0, knob: str = "p") -> list[dict[str, Any]]:
    """The whole GPT: training-step and per-token generation time, FLOPs and saved-activation memory of
    masked and structured relative to the dense model (random activation on in training and generation).

    knob: ``"p"`` (MLP units kept with probability p) or ``"p_head"`` (attention heads kept with probability p);
    the rows' ``"p"`` column is that knob's value."""
    if knob not in ("p", "p_head"):
        raise ValueError(f"knob must be 'p' (MLP units) or 'p_head' (attention heads), got {knob!r}")
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, cfg.vocab_size, (batch_size, cfg.block_size), generator=g)
    prompt = x[:1, : cfg.block_size // 2]
    torch.manual_seed(seed)
    models = {"dense": GPT(cfg, ActivationSettings(p=1.0), seed=seed)}
    for impl in ("masked", "structured"):
        models[impl] = GPT(cfg, ActivationSettings(p=1.0, impl=impl), seed=seed)
        models[impl].load_state_dict(models["dense"].state_dict())
    rows = []
    for p in ps:
        for impl in ("masked", "structured"):
            models[impl].policy.settings.update({knob: p})

        def train(m: GPT) -> Callable[[], None]:
            def step() -> None:
                m.zero_grad(set_to_none=True)
                m(x, x)[1].backward()
            return step

        def gen(m: GPT) -> Callable[[], None]:
            return lambda: m.generate(prompt, gen_tokens, generator=torch.Generator().manual_seed(0))

        t_train = median_times({n: train(m) for n, m in models.items()}, rounds, inner=2)
        t_gen = median_times({n: gen(m) for n, m in models.items()}, rounds, inner=2)
        with torch.no_grad():
            flops = {n: count_flops(lambda: m(x)) for n, m in models.items()}
        mem = {n: saved_for_backward_bytes(lambda: m(x, x)[1]) for n, m in models.items()}
        rows.append({"p": p, "ideal 1/p (MLP only)" if knob == "p" else "ideal 1/p (attention only)":
                     round(1 / max(p, 1e-9), 2),
                     "FLOPs structured/dense": round(flops["structured"] / flops["dense"], 3),
                     "train speed-up masked": round(t_train["dense"] / t_train["masked"], 2),
                     "train speed-up structured": round(t_train["dense"] / t_train["structured"], 2),
                     "ms/token dense": round(1000 * t_gen["dense"] / gen_tokens, 2),
                     "gen speed-up masked": round(t_gen["dense"] / t_gen["masked"], 2),
                     "gen speed-up structured": round(t_gen["dense"] / t_gen["structured"], 2),
                     "act. memory masked/dense": round(mem["masked"] / mem["dense"], 2),
                     "act. memory structured/dense": round(mem["structured"] / mem["dense"], 2),
                     "act. memory dense MB": round(mem["dense"] / 2**20, 2)})
    return rows


def _flop_share(cfg: GPTConfig, part_off: dict[str, float]) -> float:
    """(F_dense − F_off) / F_dense: the share of a dense forward's FLOPs F that a part takes, F_off counted
    with that part switched off by ``part_off`` (``{"p": 0.0}``: no MLP units, ``{"p_head": 0.0}``: no heads)."""
    x = torch.zeros(1, cfg.block_size, dtype=torch.long)
    torch.manual_seed(0)
    dense = GPT(cfg, ActivationSettings(impl="structured"))        # p = p_head = 1: every unit and head
    off = GPT(cfg, ActivationSettings(**part_off, impl="structured"))
    with torch.no_grad():
        total, rest = count_flops(lambda: dense(x)), count_flops(lambda: off(x))
    return (total - rest) / total


def attention_flop_share(cfg: GPTConfig) -> float:
    """Fraction of a dense forward's FLOPs spent in the attention layers (projections and QKᵀ, ·V)."""
    return _flop_share(cfg, {"p_head": 0.0})


def mlp_flop_share(cfg: GPTConfig) -> float:
    """Fraction of a dense forward's FLOPs spent in the MLPs (bounds the whole-model saving: Amdahl)."""
    return _flop_share(cfg, {"p": 0.0})
