"""Random activation, part 1 — *which* units fire: the settings, their knobs and the per-call draw.

The hidden units of each MLP fire with probability p, drawn fresh every forward call.

The source article (article 004) writes the activation probability as ``P(t) = λ · Beta(α, β)`` and
masks by multiplication. Here both halves are made precise:

- **which units**: every forward call (one training step, or one generated token) each MLP layer
  draws its own Bernoulli(p) mask over its ``n`` hidden units, shared by all positions of the batch;
  ``k ≈ p·n`` units are active. With ``source="beta"`` p itself is drawn once per call,
  ``p = λ·B``, ``B ~ Beta(α, β)``.
- **how it is computed** (:mod:`ragteach.gpt.sparse_mlp`), two implementations of the *same* draw:

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

**Attention heads** (:mod:`ragteach.gpt.random_heads`): ``p_head`` is the probability that each head of a
layer is kept, drawn per forward call and layer like the units (same ``active_in``, ``rescale`` and ``impl``);
``p_head = 1`` (the default) keeps every head and draws nothing, so the unit draws are unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch

from ragteach.knobs import Knob

SOURCES = ("fixed", "beta")
PHASES = ("train", "generate", "both")
IMPLS = ("masked", "structured")
SELECTIONS = ("random", "topk")


def activation_knob_list(p: float = 1.0, source: str = "fixed", lam: float = 1.0, alpha: float = 2.0,
                         beta: float = 2.0, rescale: bool = True, active_in: str = "both",
                         impl: str = "structured", p_head: float = 1.0) -> list[Knob]:
    """The knobs of random activation; each value is range-checked when set."""
    return [
        Knob("p", p, low=0.0, high=1.0, description="activation probability p", visible_if=("source", ("fixed",))),
        Knob("source", source, kind="choice", choices=SOURCES, description="p is"),
        Knob("lam", lam, low=0.0, high=1.0, low_open=True, description="λ (p = λ·Beta(α, β))",
             visible_if=("source", ("beta",))),
        Knob("alpha", alpha, low=0.0, high=20.0, low_open=True, description="α", visible_if=("source", ("beta",))),
        Knob("beta", beta, low=0.0, high=20.0, low_open=True, description="β", visible_if=("source", ("beta",))),
        Knob("rescale", rescale, kind="bool", description="rescale by 1/p"),
        Knob("active_in", active_in, kind="choice", choices=PHASES, description="random during"),
        Knob("impl", impl, kind="choice", choices=IMPLS, description="implementation"),
        Knob("p_head", p_head, low=0.0, high=1.0, description="attention heads kept with probability"),
    ]


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
    p_head: float = 1.0

    def __post_init__(self) -> None:
        for f in fields(self):
            setattr(self, f.name, _check(f.name, getattr(self, f.name)))

    def check(self, values: dict[str, Any]) -> dict[str, Any]:
        """The known fields of ``values``, validated (other keys, e.g. a learning rate, are ignored)."""
        return {k: _check(k, v) for k, v in values.items() if k in _CHECKS}

    def update(self, values: dict[str, Any]) -> None:
        """Set the known fields of ``values`` (other keys, e.g. a learning rate, are ignored); all or nothing."""
        checked = self.check(values)
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
        self.heads_seen = 0       # sum over layers of attention heads that exist this call
        self.heads_active = 0     # sum over layers of attention heads computed / kept this call

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
        self.units_seen = self.units_active = self.heads_seen = self.heads_active = 0
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

    def draw_heads(self, n_head: int) -> tuple[torch.Tensor | None, float]:
        """Indices of the kept attention heads of one layer (``None``: all) and the scale ``1/p_head`` or 1.

        Each head is kept with probability ``p_head`` (Bernoulli), one draw shared by the batch and every
        position; nothing is drawn when random activation is off for this call or ``p_head = 1``."""
        self.heads_seen += n_head
        p = self.settings.p_head
        if not self.active_now or p >= 1.0:
            self.heads_active += n_head
            return None, 1.0
        keep = torch.rand(n_head, generator=self.gen) < p
        idx = keep.nonzero().squeeze(1)
        self.heads_active += idx.numel()
        return idx, (1.0 / p if (self.settings.rescale and p > 0) else 1.0)

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
