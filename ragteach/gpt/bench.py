"""Measuring the compute and memory claims: time, FLOPs and memory of dense vs masked vs structured.

Timings interleave the variants (a few calls of each per round), time every call on its own and
keep the **median** call: when other processes take the CPU, a call is descheduled for a whole time
slice, which hits a few calls hard and most not at all; the median ignores those outliers, and
interleaving exposes all variants to the same bursts. Still, on a shared CPU compare the **ratios**
of one run, not absolute milliseconds across runs.
"""
from __future__ import annotations

import statistics
import time
from typing import Any, Callable, Sequence

import torch
from torch.utils.flop_counter import FlopCounterMode

from ragteach.gpt.model import GPT, GPTConfig
from ragteach.gpt.random_activation import ActivationSettings
from ragteach.gpt.random_heads import masked_attention, structured_attention
from ragteach.gpt.sparse_mlp import masked_mlp, structured_mlp

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
