"""Random activation, part 2 — *how* it is computed: the transformer MLP with only some hidden units.

Both functions below compute the same thing for the same draw of active units ``I`` (see
:mod:`ragteach.gpt.random_activation`); only the cost differs:

- ``masked``: compute all ``n`` units, then zero the inactive ones — the article's way, it saves nothing;
- ``structured``: gather the rows/columns of the active units and multiply smaller matrices — ``k/n`` of the cost.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ragteach.gpt.random_activation import ActivationPolicy


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
