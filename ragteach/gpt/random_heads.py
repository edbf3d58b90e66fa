"""Random activation of attention heads: each head of a layer is kept with probability ``p_head``.

Causal self-attention with ``h`` heads of size ``d = C/h`` (nanoGPT's layout: ``c_attn`` stacks the
query, key and value projections, ``c_proj`` mixes the concatenated heads back)::

    [Q | K | V] = x W_attnᵀ + b_attn,      head j uses columns jd … (j+1)d − 1 of Q, K and V
    head_j(x)   = softmax(Q_j K_jᵀ / √d + M) V_j,   M = −∞ above the diagonal (no peeking ahead)
    Attn(x)     = W_proj [s·m_1 head_1 | … | s·m_h head_h] + b_proj,    m_j ~ Bernoulli(p_head)

Like the MLP units (:mod:`ragteach.gpt.random_activation`), one draw of the kept heads ``I`` is shared by the
whole batch and every position of one forward call; ``s = 1/p_head`` when rescaling. Two implementations of the
same draw:

- ``masked``: compute every head, then zero the dropped ones — saves nothing;
- ``structured``: gather the rows of ``W_attn`` for the kept heads' Q, K, V and the columns of ``W_proj``,
  so the projections **and** the attention itself (``QKᵀ`` and ``·V``) run over ``k = |I|`` heads only:
  ``k/h`` of the attention's work.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def head_rows(idx: torch.Tensor, n_head: int, n_embd: int) -> torch.Tensor:
    """Rows of ``c_attn``'s weight (3C, C) that produce the Q, K and V of the heads ``idx``:
    ``[q rows of idx…, k rows of idx…, v rows of idx…]`` (each head owns ``d = C/h`` consecutive rows)."""
    d = n_embd // n_head
    cols = (idx[:, None] * d + torch.arange(d)).reshape(-1)        # (k·d,) columns of the kept heads
    return torch.cat([cols, cols + n_embd, cols + 2 * n_embd])       # (3·k·d,)


def heads(x: torch.Tensor, w_attn: torch.Tensor, b_attn: torch.Tensor | None, n_head: int) -> torch.Tensor:
    """Every head's output before ``c_proj``: (B, T, C) → (B, n_head, T, d)."""
    B, T, _ = x.shape
    q, k, v = F.linear(x, w_attn, b_attn).split(w_attn.shape[0] // 3, dim=2)      # 3 × (B, T, n_head·d)
    q, k, v = (z.view(B, T, n_head, -1).transpose(1, 2) for z in (q, k, v))      # (B, n_head, T, d)
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)             # (B, n_head, T, d)


def merge(y: torch.Tensor, w_proj: torch.Tensor, b_proj: torch.Tensor | None) -> torch.Tensor:
    """Concatenate heads (B, h, T, d) → (B, T, h·d) and project with ``c_proj``."""
    B, h, T, d = y.shape
    return F.linear(y.transpose(1, 2).reshape(B, T, h * d), w_proj, b_proj)


def masked_attention(x: torch.Tensor, w_attn: torch.Tensor, b_attn: torch.Tensor | None, w_proj: torch.Tensor,
                     b_proj: torch.Tensor | None, n_head: int, idx: torch.Tensor | None,
                     scale: float = 1.0) -> torch.Tensor:
    """All heads computed, the dropped ones zeroed (``idx``: kept heads, None for all)."""
    y = heads(x, w_attn, b_attn, n_head)                             # (B, n_head, T, d): all heads
    if idx is not None:
        m = torch.zeros(n_head, dtype=y.dtype, device=y.device)
        m[idx] = scale
        y = y * m[None, :, None, None]
    return merge(y, w_proj, b_proj)


def structured_attention(x: torch.Tensor, w_attn: torch.Tensor, b_attn: torch.Tensor | None, w_proj: torch.Tensor,
                         b_proj: torch.Tensor | None, n_head: int, idx: torch.Tensor | None,
                         scale: float = 1.0) -> torch.Tensor:
    """Only the kept heads: ``W_attn`` rows and ``W_proj`` columns gathered, attention over ``k`` heads."""
    if idx is None:
        return merge(heads(x, w_attn, b_attn, n_head), w_proj, b_proj)
    C = x.shape[-1]
    if idx.numel() == 0:  # no head kept: the layer adds only its output bias
        out = torch.zeros_like(x)
        return out if b_proj is None else out + b_proj
    rows = head_rows(idx, n_head, C)
    y = heads(x, w_attn.index_select(0, rows), None if b_attn is None else b_attn.index_select(0, rows),
              idx.numel())                                            # (B, k, T, d)
    if scale != 1.0:
        y = y * scale
    d = C // n_head
    cols = rows[: idx.numel() * d]                                    # the kept heads' columns of the concat
    return merge(y, w_proj.index_select(1, cols), b_proj)
