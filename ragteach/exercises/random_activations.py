"""Checkers for notebook 03 (random activations)."""
from __future__ import annotations

from typing import Callable

import torch

from ragteach.exercises.checking import Result, as_float, close, run_learner
from ragteach.gpt.random_activation import count_flops, masked_mlp, structured_mlp


def check_mean_p(fn: Callable[[float, float, float], float]) -> Result:
    """fn(lam, alpha, beta) should return E[p] for p = λ·Beta(α, β), i.e. λ·α/(α+β)."""
    cases = [(0.5, 2.0, 6.0), (0.9, 3.0, 1.0), (1.0, 1.0, 1.0)]
    for lam, a, b in cases:
        out, failed = run_learner(fn, lam, a, b)
        if failed is not None:
            return failed
        got = as_float(out)
        want = lam * a / (a + b)
        if got is None:
            return Result(False, f"return one number, got {type(out).__name__} {out!r}")
        if close(got, want):
            continue
        if close(got, a / (a + b)):
            return Result(False, "that is E[Beta(α, β)]; p is λ times it, so multiply by λ.")
        if close(got, lam * b / (a + b)):
            return Result(False, "α and β are swapped: the mean of Beta(α, β) is α/(α+β).")
        return Result(False, f"for λ={lam}, α={a}, β={b} expected {want:.4f}, got {got:.4f}")
    return Result(True, "E[p] = λ·α/(α+β); e.g. λ=0.5, α=2, β=6 → 0.125: one unit in eight fires on average")


def _mlp_case(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    C, H = 8, 32
    x = torch.randn(3, 4, C, generator=g)
    w_fc, b_fc = torch.randn(H, C, generator=g), torch.randn(H, generator=g)
    w_proj, b_proj = torch.randn(C, H, generator=g), torch.randn(C, generator=g)
    idx = torch.tensor([2, 5, 6, 11, 19, 30, 31, 0])  # k = 8 of 32, unsorted on purpose
    return x, w_fc, b_fc, w_proj, b_proj, idx


def check_structured_mlp(fn: Callable[..., torch.Tensor]) -> Result:
    """fn(x, w_fc, b_fc, w_proj, b_proj, idx) should equal the masked MLP on units ``idx`` (no rescaling)
    while running matmuls on only the k gathered units (checked by counting FLOPs)."""
    args = _mlp_case()
    want = masked_mlp(*args, scale=1.0)
    out, failed = run_learner(fn, *(a.clone() for a in args))
    if failed is not None:
        return failed
    if not isinstance(out, torch.Tensor) or out.shape != want.shape:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        return Result(False, f"expected a tensor of shape {tuple(want.shape)}, got {shape}")
    if not torch.allclose(out, want, atol=1e-4):
        if torch.allclose(out, want - args[4], atol=1e-4):
            return Result(False, "the output bias b_proj is missing: it is added once, whatever units fire.")
        if torch.allclose(out, masked_mlp(*args[:5], None), atol=1e-4):
            return Result(False, "that is the dense MLP: only the units in idx may contribute.")
        return Result(False, "the output differs from the masked MLP on the same units: use W₁[idx], b₁[idx] "
                             "for the first layer and W₂[:, idx] for the second, GELU in between.")
    dense = count_flops(lambda: masked_mlp(*args[:5], None))
    used = count_flops(lambda: fn(*(a.clone() for a in args)))
    k, H = args[5].numel(), args[1].shape[0]
    if used > dense * k / H * 1.01:
        return Result(False, f"right numbers, but {used:,} FLOPs = {used / dense:.0%} of the dense MLP: you computed "
                             f"all {H} units and then masked. Gather the weights first, so the matmuls have size k = {k}.")
    return Result(True, f"same output as the masked MLP with {used / dense:.0%} of its FLOPs (k/n = {k}/{H})")


def check_mlp_flops(fn: Callable[[int, int, int], int]) -> Result:
    """fn(tokens, n_embd, k) should return the matmul FLOPs of a structured MLP forward with k active
    units: two matmuls of tokens×n_embd×k, each multiply-add counted as 2 FLOPs → 4·tokens·n_embd·k."""
    for tokens, C, k in ((10, 32, 32), (7, 16, 5)):
        out, failed = run_learner(fn, tokens, C, k)
        if failed is not None:
            return failed
        got = as_float(out)
        g = torch.Generator().manual_seed(0)
        w = [torch.randn(4 * C, C, generator=g), torch.zeros(4 * C), torch.randn(C, 4 * C, generator=g), torch.zeros(C)]
        idx = torch.arange(k)
        want = count_flops(lambda: structured_mlp(torch.randn(tokens, C), *w, idx))  # torch's own count
        if got is None:
            return Result(False, f"return one number, got {type(out).__name__}")
        if got == want:
            continue
        if got == want / 2:
            return Result(False, "half the count: either one of the two matmuls is missing, or a multiply-add "
                                 "was counted as 1 FLOP (torch counts 2).")
        if got == 4 * tokens * C * 4 * C:
            return Result(False, "that is the dense MLP (all 4·n_embd units); count only the k active ones.")
        return Result(False, f"for tokens={tokens}, n_embd={C}, k={k} torch's FLOP counter says {want:,}, got {got:,.0f}")
    return Result(True, "4·tokens·n_embd·k: the cost is linear in k, so p = 0.25 does a quarter of the MLP work")


def check_dynamics_mean(fn: Callable[[float, float, float, float, int], float]) -> Result:
    """fn(y0, lam, alpha, beta, t) should return E[y_t] for y_t = y_{t−1}·P(t) + ε_t (E[ε] = 0, P independent):
    y0·(λα/(α+β))^t."""
    for y0, lam, a, b, t in ((2.0, 0.9, 2.0, 2.0, 5), (1.0, 0.5, 1.0, 3.0, 3)):
        out, failed = run_learner(fn, y0, lam, a, b, t)
        if failed is not None:
            return failed
        got, m = as_float(out), lam * a / (a + b)
        want = y0 * m ** t
        if got is None:
            return Result(False, f"return one number, got {type(out).__name__}")
        if close(got, want):
            continue
        if close(got, y0 * (a / (a + b)) ** t):
            return Result(False, "E[P] = λ·α/(α+β): the λ is missing.")
        if close(got, y0 * m * t) or close(got, y0 * (1 - t * (1 - m))):
            return Result(False, "the factor multiplies at every step: it compounds, E[y_t] = y0·E[P]^t.")
        return Result(False, f"for y0={y0}, λ={lam}, α={a}, β={b}, t={t} expected {want:.5f}, got {got:.5f}")
    return Result(True, "E[y_t] = y0·E[P]^t: with E[P] < 1 the signal decays geometrically and the noise takes over")
