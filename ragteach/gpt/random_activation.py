"""Random activation: the hidden units of each MLP fire with probability p, drawn fresh every step.

The source article (seed 004) writes the activation probability as ``P(t) = λ · Beta(α, β)`` and
masks by multiplication. Here both halves are made precise:

- **which units**: every forward call (one training step, or one generated token) each MLP layer
  draws its own Bernoulli(p) mask over its ``n`` hidden units, shared by all positions of the batch;
  ``k ≈ p·n`` units are active. With ``source="beta"`` p itself is drawn once per call,
  ``p = λ·B``, ``B ~ Beta(α, β)``.
- **how it is computed**, two implementations of the *same* draw:

  - ``masked``   ``y = W₂ (m ⊙ s·GELU(W₁x + b₁)) + b₂`` with ``m ∈ {0,1}ⁿ``: all ``n`` units are computed,
    then most are zeroed — the article's way, it saves nothing;
  - ``structured`` ``y = W₂[:, I] · s·GELU(W₁[I] x + b₁[I]) + b₂`` with ``I`` the active indices: the
    weights are gathered and the matmuls are ``k/n`` the size — a real saving.

  ``s = 1/p`` when ``rescale`` (inverted dropout: the expected output equals the dense output), else 1
  (the article's way: the output shrinks by p on average).
- **when**: ``active_in="train"`` (like dropout), ``"generate"`` (every eval-mode forward: sampling, and
  the validation loss a sampler would see — the article's choice), or ``"both"``.

λ·Beta(α, β) lies in ``[0, λ]``, so λ is a knob in ``(0, 1]``: **we refuse λ > 1** rather than clip,
since clipping would silently pile probability mass at p = 1.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from ragteach.live.knobs import Knob, Knobs

SOURCES = ("fixed", "beta")
PHASES = ("train", "generate", "both")
IMPLS = ("masked", "structured")
SELECTIONS = ("random", "topk")


def activation_knob_list(p: float = 1.0, source: str = "fixed", lam: float = 1.0, alpha: float = 2.0,
                         beta: float = 2.0, rescale: bool = True, active_in: str = "both",
                         impl: str = "structured") -> list[Knob]:
    """The knobs of random activation; each value is range-checked when set."""
    return [
        Knob("p", p, low=0.0, high=1.0, description="activation probability p"),
        Knob("source", source, kind="choice", choices=SOURCES, description="p is"),
        Knob("lam", lam, low=0.0, high=1.0, low_open=True, description="λ (p = λ·Beta(α, β))"),
        Knob("alpha", alpha, low=0.0, high=20.0, low_open=True, description="α"),
        Knob("beta", beta, low=0.0, high=20.0, low_open=True, description="β"),
        Knob("rescale", rescale, kind="bool", description="rescale by 1/p"),
        Knob("active_in", active_in, kind="choice", choices=PHASES, description="random during"),
        Knob("impl", impl, kind="choice", choices=IMPLS, description="implementation"),
    ]


def activation_knobs(**values: Any) -> Knobs:
    return Knobs.of(*activation_knob_list(**values))


_CHECKS = {k.name: k for k in activation_knob_list()}


def _check(name: str, value: Any) -> Any:
    """Validate like the knob; for λ also say why values above 1 are refused."""
    try:
        return _CHECKS[name].validate(value)
    except ValueError as exc:
        if name == "lam":
            raise ValueError(f"{exc}. λ·Beta(α, β) can reach λ, and p must stay ≤ 1: values above 1 are refused, "
                             f"not clipped (clipping would pile probability onto p = 1)") from None
        raise


@dataclass
class ActivationSettings:
    """The current random-activation settings; every field is validated like its knob.

    >>> ActivationSettings(p=1.5)
    Traceback (most recent call last):
    ValueError: p must be in [0, 1], got 1.5
    """

    p: float = 1.0
    source: str = "fixed"
    lam: float = 1.0
    alpha: float = 2.0
    beta: float = 2.0
    rescale: bool = True
    active_in: str = "both"
    impl: str = "structured"

    def __post_init__(self) -> None:
        for f in fields(self):
            setattr(self, f.name, _check(f.name, getattr(self, f.name)))

    def update(self, values: dict[str, Any]) -> None:
        """Set the known fields of ``values`` (other keys, e.g. a learning rate, are ignored); all or nothing."""
        checked = {k: _check(k, v) for k, v in values.items() if k in _CHECKS}
        for k, v in checked.items():
            setattr(self, k, v)

    def mean_p(self) -> float:
        """E[p]: p itself, or λ·α/(α+β) for p = λ·Beta(α, β)."""
        return self.p if self.source == "fixed" else self.lam * self.alpha / (self.alpha + self.beta)


class ActivationPolicy:
    """Shared by all MLP layers of a model: draws p once per forward call and a unit subset per layer.

    Randomness is seeded: ``gen`` (torch) draws the masks, ``rng`` (numpy) draws Beta values.
    ``selection="topk"`` is an analysis mode (masked only): each token keeps its ``k = round(p·n)``
    hidden units of largest |activation| — *learned* selection, to compare with random selection.
    """

    def __init__(self, settings: ActivationSettings | None = None, seed: int = 0) -> None:
        self.settings = settings or ActivationSettings()
        self.gen = torch.Generator().manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.selection = "random"
        self.p_now = 1.0          # the p of the current forward call
        self.active_now = False   # whether random activation applies to the current call
        self.units_seen = 0       # sum over layers of n (hidden units that exist) this call
        self.units_active = 0     # sum over layers of k (hidden units computed / kept) this call

    def begin(self, training: bool) -> float:
        """Start a forward call: decide whether it is random, draw its p. Returns p (1.0 if inactive)."""
        s = self.settings
        self.active_now = s.active_in == "both" or (s.active_in == "train") == training
        if not self.active_now:
            self.p_now = 1.0
        elif s.source == "fixed":
            self.p_now = s.p
        else:
            self.p_now = float(s.lam * self.rng.beta(s.alpha, s.beta))
        self.units_seen = self.units_active = 0
        return self.p_now

    def draw_units(self, n: int) -> tuple[torch.Tensor | None, float]:
        """Indices of the active units of one layer (``None``: all of them) and the scale ``s``."""
        self.units_seen += n
        p = self.p_now
        if not self.active_now or p >= 1.0:
            self.units_active += n
            return None, 1.0
        keep = torch.rand(n, generator=self.gen) < p          # Bernoulli(p) per unit
        idx = keep.nonzero().squeeze(1)                        # (k,)
        self.units_active += idx.numel()
        scale = 1.0 / p if (self.settings.rescale and p > 0) else 1.0
        return idx, scale

    def state_dict(self) -> dict[str, Any]:
        st = self.rng.bit_generator.state["state"]
        return {"gen": self.gen.get_state(), "rng_state": str(st["state"]), "rng_inc": str(st["inc"]),
                "settings": {f.name: getattr(self.settings, f.name) for f in fields(self.settings)}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.gen.set_state(state["gen"])
        bg = self.rng.bit_generator.state
        bg["state"] = {"state": int(state["rng_state"]), "inc": int(state["rng_inc"])}
        bg["has_uint32"], bg["uinteger"] = 0, 0
        self.rng.bit_generator.state = bg
        self.settings.update(state["settings"])


# ---------------------------------------------------------------------- the two computations
def masked_mlp(x: torch.Tensor, w_fc: torch.Tensor, b_fc: torch.Tensor, w_proj: torch.Tensor,
               b_proj: torch.Tensor, idx: torch.Tensor | None, scale: float = 1.0) -> torch.Tensor:
    """``y = W₂ (m ⊙ s·GELU(W₁x + b₁)) + b₂``, ``m_j = 1`` for ``j ∈ idx``: every unit is computed.

    x: (..., C); w_fc: (H, C); w_proj: (C, H); idx: (k,) active units or None for all.
    """
    h = F.gelu(F.linear(x, w_fc, b_fc))                      # (..., H): all H units
    if idx is not None:
        mask = torch.zeros(w_fc.shape[0], dtype=h.dtype, device=h.device)
        mask[idx] = scale
        h = h * mask                                          # (..., H), zeros outside idx
    return F.linear(h, w_proj, b_proj)                        # (..., C)


def structured_mlp(x: torch.Tensor, w_fc: torch.Tensor, b_fc: torch.Tensor, w_proj: torch.Tensor,
                   b_proj: torch.Tensor, idx: torch.Tensor | None, scale: float = 1.0) -> torch.Tensor:
    """``y = W₂[:, I] · s·GELU(W₁[I] x + b₁[I]) + b₂``: only the k active units are computed.

    x: (..., C); W₁[I]: (k, C); W₂[:, I]: (C, k); the matmuls cost k/H of the dense ones.
    """
    if idx is None:
        return F.linear(F.gelu(F.linear(x, w_fc, b_fc)), w_proj, b_proj)
    h = F.gelu(F.linear(x, w_fc.index_select(0, idx), b_fc.index_select(0, idx)))  # (..., k)
    if scale != 1.0:
        h = h * scale
    return F.linear(h, w_proj.index_select(1, idx), b_proj)  # (..., C)


def topk_mlp(x: torch.Tensor, w_fc: torch.Tensor, b_fc: torch.Tensor, w_proj: torch.Tensor,
             b_proj: torch.Tensor, k: int) -> torch.Tensor:
    """Learned selection: each token keeps its k units of largest |GELU(W₁x + b₁)|, unscaled."""
    h = F.gelu(F.linear(x, w_fc, b_fc))                      # (..., H)
    if k < h.shape[-1]:
        top = h.abs().topk(k, dim=-1).indices                # (..., k)
        h = torch.zeros_like(h).scatter(-1, top, h.gather(-1, top))
    return F.linear(h, w_proj, b_proj)                        # (..., C)


class RandomActivationMLP(nn.Module):
    """The transformer MLP ``x → W₂ GELU(W₁x + b₁) + b₂`` (hidden size H = 4C) with random activation."""

    def __init__(self, n_embd: int, hidden: int, policy: ActivationPolicy, bias: bool = True) -> None:
        super().__init__()
        self.c_fc = nn.Linear(n_embd, hidden, bias=bias)
        self.c_proj = nn.Linear(hidden, n_embd, bias=bias)
        self.policy = policy
        self.last_weight_shapes: tuple[tuple[int, ...], tuple[int, ...]] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, T, C) -> (B, T, C)
        pol, H = self.policy, self.c_fc.out_features
        b_fc = self.c_fc.bias if self.c_fc.bias is not None else torch.zeros(H)
        b_proj = self.c_proj.bias
        if pol.selection == "topk" and pol.active_now:
            k = int(round(pol.p_now * H))
            pol.units_seen += H
            pol.units_active += k
            return topk_mlp(x, self.c_fc.weight, b_fc, self.c_proj.weight, b_proj, k)
        idx, scale = pol.draw_units(H)
        if pol.settings.impl == "masked":
            self.last_weight_shapes = (tuple(self.c_fc.weight.shape), tuple(self.c_proj.weight.shape))
            return masked_mlp(x, self.c_fc.weight, b_fc, self.c_proj.weight, b_proj, idx, scale)
        k = H if idx is None else idx.numel()
        self.last_weight_shapes = ((k, self.c_fc.in_features), (self.c_proj.out_features, k))
        return structured_mlp(x, self.c_fc.weight, b_fc, self.c_proj.weight, b_proj, idx, scale)


# ---------------------------------------------------------------------- measuring
def count_flops(fn: Callable[[], Any]) -> int:
    """Floating-point operations of the matmuls/attention that ``fn()`` runs (torch's FLOP counter:
    a (m×k)·(k×n) matmul counts 2·m·k·n; element-wise ops are not counted)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def sample_p(settings: ActivationSettings, n: int, seed: int = 0) -> np.ndarray:
    """n draws of the per-step p under ``settings`` (fixed p repeated, or λ·Beta(α, β))."""
    if settings.source == "fixed":
        return np.full(n, settings.p)
    return settings.lam * np.random.default_rng(seed).beta(settings.alpha, settings.beta, size=n)


def simulate_dynamics(steps: int, settings: ActivationSettings, y0: float = 1.0, noise_std: float = 0.1,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The article's toy dynamics ``y_t = y_{t−1}·P(t) + ε_t``, ε_t ~ N(0, noise_std²).

    Returns (y, P) of length ``steps + 1`` (``P[0]`` unused). Since ``P(t) ≤ λ ≤ 1``,
    ``E[y_t | y_0] = y_0·E[P]^t``: the starting signal decays geometrically and the noise takes over,
    with stationary variance ``σ²/(1 − E[P²])``.
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if noise_std < 0:
        raise ValueError(f"noise_std must be >= 0, got {noise_std}")
    rng = np.random.default_rng(seed)
    P = np.concatenate([[1.0], sample_p(settings, steps, seed=seed + 1)])
    eps = rng.normal(0.0, noise_std, size=steps + 1)
    y = np.empty(steps + 1)
    y[0] = y0
    for t in range(1, steps + 1):
        y[t] = y[t - 1] * P[t] + eps[t]
    return y, P
