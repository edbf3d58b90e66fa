"""Exercises of notebook 03 (random activations): the causal mask, E[p], the structured MLP, its FLOPs,
the dynamics' mean, and the p that reaches a whole-model FLOP budget.

Each ``check_*`` prints a verdict and returns the function to use from then on (see
:mod:`ragteach.exercises.checking`). The reference solutions below are the answer key.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F


from ragteach.exercises.checking import Exercise, Mistake, reveal
from ragteach.lessons.random_activations import count_flops
from ragteach.gpt.sparse_mlp import masked_mlp


# ---- reference solutions (the answer key) ------------------------------------------------------------------------
def causal_softmax(scores: torch.Tensor) -> torch.Tensor:
    """Attention weights from scores (..., T, T): softmax over s of scores[t, s] for s ≤ t, 0 for s > t."""
    T = scores.shape[-1]
    allowed = torch.tril(torch.ones(T, T, dtype=torch.bool))          # allowed[t, s] = s <= t
    return torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)


def mean_p(lam: float, alpha: float, beta: float) -> float:
    """E[p] for p = λ·Beta(α, β): λ·α/(α+β)."""
    return lam * alpha / (alpha + beta)


def my_structured_mlp(x: torch.Tensor, w_fc: torch.Tensor, b_fc: torch.Tensor, w_proj: torch.Tensor,
                      b_proj: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """The MLP on the units idx only: GELU(x W₁[idx]ᵀ + b₁[idx]) W₂[:, idx]ᵀ + b₂, matmuls of size k."""
    h = F.gelu(F.linear(x, w_fc[idx], b_fc[idx]))      # (..., k)
    return F.linear(h, w_proj[:, idx], b_proj)         # (..., C)


def mlp_flops(tokens: int, n_embd: int, k: int) -> int:
    """Two matmuls of tokens × n_embd × k, a multiply-add counted as 2 FLOPs: 4·tokens·n_embd·k."""
    return 2 * tokens * n_embd * k + 2 * tokens * k * n_embd


def expected_y(y0: float, lam: float, alpha: float, beta: float, t: int) -> float:
    """E[y_t] for y_t = y_{t−1}·P(t) + ε_t with E[ε] = 0 and independent P(t): y0·(λα/(α+β))^t."""
    return y0 * (lam * alpha / (alpha + beta)) ** t


def p_for_budget(mlp_share: float, target: float) -> float:
    """The largest p whose whole-model FLOPs are at most ``target`` × dense, when the MLPs are ``mlp_share`` of
    them (Amdahl): 1 − share·(1 − p) ≤ target  ⇔  p ≤ 1 − (1 − target)/share."""
    return 1 - (1 - target) / mlp_share


# ---- random test inputs -----------------------------------------------------------------------------------------
def _u(gen: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand(1, generator=gen))


def _beta_args(gen: torch.Generator) -> tuple[float, float, float]:
    return _u(gen, 0.1, 1.0), _u(gen, 0.5, 5.0), _u(gen, 0.5, 5.0)


def _mlp_case(gen: torch.Generator) -> tuple[torch.Tensor, ...]:
    c, h = 8, 32
    k = int(torch.randint(4, 13, (1,), generator=gen))
    x = torch.randn(3, 4, c, generator=gen)
    w_fc, b_fc = torch.randn(h, c, generator=gen), torch.randn(h, generator=gen)
    w_proj, b_proj = torch.randn(c, h, generator=gen), torch.randn(c, generator=gen)
    idx = torch.randperm(h, generator=gen)[:k]  # unsorted on purpose
    return x, w_fc, b_fc, w_proj, b_proj, idx


def _scores(gen: torch.Generator) -> tuple[torch.Tensor]:
    B, T = int(torch.randint(1, 4, (1,), generator=gen)), int(torch.randint(3, 9, (1,), generator=gen))
    return (2 * torch.randn(B, T, T, generator=gen),)


def _sizes(gen: torch.Generator) -> tuple[int, int, int]:
    tokens, n_embd = int(torch.randint(1, 65, (1,), generator=gen)), int(torch.randint(4, 65, (1,), generator=gen))
    return tokens, n_embd, int(torch.randint(1, 4 * n_embd, (1,), generator=gen))


def _dynamics_args(gen: torch.Generator) -> tuple[float, float, float, float, int]:
    return _u(gen, 0.5, 3.0), *_beta_args(gen), int(torch.randint(2, 9, (1,), generator=gen))


def _flop_budget(fn: Callable[..., Any], cases: list[tuple]) -> str | None:
    """The values are right; were the matmuls of size k? (counted with torch's FLOP counter)"""
    args = cases[0]
    dense = count_flops(lambda: masked_mlp(*args[:5], None))
    used = count_flops(lambda: fn(*(a.clone() for a in args)))
    k, h = args[5].numel(), args[1].shape[0]
    if used > dense * k / h * 1.01:
        return (f"right numbers, but {used:,} FLOPs = {used / dense:.0%} of the dense MLP: you computed all {h} "
                f"units and then masked. Gather the weights first, so the matmuls have size k = {k}.")
    return None


def _budget_args(gen: torch.Generator) -> tuple[float, float]:
    share = _u(gen, 0.4, 0.8)
    return share, _u(gen, 1 - share + 0.05, 0.95)       # a budget that some p in (0, 1) reaches


# ---- the exercises ------------------------------------------------------------------------------------------------
CAUSAL_SOFTMAX = Exercise(
    "causal_softmax", causal_softmax, _scores,
    success="each position now attends only to itself and the past; every row still sums to 1.",
    mistakes=(
        Mistake(lambda s: torch.softmax(s, dim=-1),
                "no mask: position t attends to later positions too (it would see the character it must predict)."),
        Mistake(lambda s: torch.softmax(s.masked_fill(torch.ones(s.shape[-1], s.shape[-1], dtype=torch.bool)
                                                      .tril(-1), float("-inf")), dim=-1),
                "the mask is flipped: row t must keep columns s ≤ t (the lower triangle, torch.tril), not s ≥ t."),
        Mistake(lambda s: torch.softmax(s, dim=-1) * torch.ones(s.shape[-1], s.shape[-1]).tril(),
                "the weights of a row must sum to 1: mask the scores with −inf *before* the softmax, "
                "not the weights after it."),
    ))

MEAN_P = Exercise(
    "mean_p", mean_p, _beta_args,
    success="e.g. λ = 0.5, α = 2, β = 6 gives one unit in eight firing on average.",
    mistakes=(
        Mistake(lambda lam, a, b: a / (a + b), "that is E[Beta(α, β)]; p is λ times it."),
        Mistake(lambda lam, a, b: lam * b / (a + b), "α and β are swapped: re-read the mean of Beta(α, β)."),
    ))


STRUCTURED_MLP = Exercise(
    "structured_mlp", my_structured_mlp, _mlp_case, extra=_flop_budget,
    success="the same output as the masked MLP, with matmuls of size k: the work shrinks by k/n.",
    mistakes=(
        Mistake(lambda x, w1, b1, w2, b2, idx: my_structured_mlp(x, w1, b1, w2, b2, idx) - b2,
                "the output bias b_proj is missing: it is added once, whatever units fire."),
        Mistake(lambda x, w1, b1, w2, b2, idx: masked_mlp(x, w1, b1, w2, b2, None),
                "that is the dense MLP: only the units in idx may contribute."),
        Mistake(lambda x, w1, b1, w2, b2, idx: F.linear(F.gelu(F.linear(x, w1[idx], b1[idx])), w2[:, : len(idx)], b2),
                "the second layer must use the columns of the same units: W₂[:, idx]."),
    ))

MLP_FLOPS = Exercise(
    "mlp_flops", mlp_flops, _sizes,
    success="linear in k: p = 0.25 does a quarter of the MLP's matmul work.",
    mistakes=(
        Mistake(lambda t, c, k: 2 * t * c * k, "half the count: either one of the two matmuls is missing, or a "
                                               "multiply-add was counted as 1 FLOP (count 2)."),
        Mistake(lambda t, c, k: 16 * t * c * c, "that is the dense MLP (all 4·n_embd units); count only the k "
                                                "active ones."),
    ))

DYNAMICS_MEAN = Exercise(
    "dynamics_mean", expected_y, _dynamics_args,
    success="with E[P] < 1 the start decays geometrically and the noise takes over.",
    mistakes=(
        Mistake(lambda y0, lam, a, b, t: y0 * (a / (a + b)) ** t, "E[P] includes λ: the λ is missing."),
        Mistake(lambda y0, lam, a, b, t: y0 * lam * a / (a + b) * t,
                "the factor multiplies at every step: it compounds."),
        Mistake(lambda y0, lam, a, b, t: y0 * (1 - t * (1 - lam * a / (a + b))),
                "the factor multiplies at every step: it compounds."),
    ))

P_FOR_BUDGET = Exercise(
    "p_for_budget", p_for_budget, _budget_args,
    success="only the MLPs shrink: the rest of the model is a floor, so p must fall faster than the budget.",
    mistakes=(
        Mistake(lambda share, target: target, "p = target would hold if the MLPs were the whole model; only a "
                                              "share of the FLOPs shrinks with p."),
        Mistake(lambda share, target: target * share, "the part outside the MLPs costs 1 − share whatever p is: "
                                                      "write the whole-model cost as a function of p first."),
        Mistake(lambda share, target: 1 - (1 - target) * share, "solve 1 − share·(1 − p) = target for p: "
                                                                "divide by the share, do not multiply."),
    ))

EXERCISES = {e.name: e for e in (CAUSAL_SOFTMAX, MEAN_P, STRUCTURED_MLP, MLP_FLOPS, DYNAMICS_MEAN, P_FOR_BUDGET)}
check_causal_softmax = CAUSAL_SOFTMAX.check
check_mean_p, check_structured_mlp = MEAN_P.check, STRUCTURED_MLP.check
check_mlp_flops, check_dynamics_mean = MLP_FLOPS.check, DYNAMICS_MEAN.check
check_p_for_budget = P_FOR_BUDGET.check


# ---- predict, then run ------------------------------------------------------------------------------------------
def predict_masking_flops(prediction: object, p: float = 0.25, tokens: int = 64, n_embd: int = 64,
                          seed: int = 0) -> bool:
    """Count (torch's FLOP counter) the FLOPs of the masked MLP — the article's multiply-by-a-mask — with a fraction
    p of units active, as a share of the dense MLP's; reveal it next to the learner's predicted share."""
    g = torch.Generator().manual_seed(seed)
    h = 4 * n_embd
    x = torch.randn(tokens, n_embd, generator=g)
    w = (torch.randn(h, n_embd, generator=g), torch.zeros(h), torch.randn(n_embd, h, generator=g), torch.zeros(n_embd))
    idx = torch.randperm(h, generator=g)[: int(p * h)]
    dense = count_flops(lambda: masked_mlp(x, *w, None))
    masked = count_flops(lambda: masked_mlp(x, *w, idx))
    print(f"dense MLP: {dense:,} FLOPs; masked with p = {p}: {masked:,} FLOPs")
    return reveal(prediction, masked / dense, rel_tol=0.1)
