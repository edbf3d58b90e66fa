"""A small character-level GPT in the style of nanoGPT's ``model.py``, with random-activation MLPs.

    logits = W_head · LN(Block_L(… Block_1(E_tok[x] + E_pos[t]) …))
    Block(x) = x' + MLP(LN(x')),   x' = x + Attn(LN(x))         (pre-norm residual blocks)
    Attn     = softmax(QKᵀ/√d + causal mask) V, over n_head heads, each kept with probability p_head (random_heads)
    MLP      = W₂ GELU(W₁x + b₁) + b₂ with hidden units active with probability p (random_activation)

The token embedding takes **integer ids** (the article fed floats to its embedding layer).
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ragteach.gpt.random_activation import ActivationPolicy, ActivationSettings
from ragteach.gpt.random_heads import heads, masked_attention, structured_attention
from ragteach.gpt.sparse_mlp import RandomActivationMLP


@dataclass
class GPTConfig:
    block_size: int = 64     # context length T
    vocab_size: int = 103    # characters of pydoc_data.topics
    n_layer: int = 3
    n_head: int = 4
    n_embd: int = 96
    mlp_ratio: int = 4       # hidden units per MLP = mlp_ratio · n_embd
    bias: bool = True

    def __post_init__(self) -> None:
        for name in ("block_size", "vocab_size", "n_layer", "n_head", "n_embd", "mlp_ratio"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd must be divisible by n_head, got n_embd={self.n_embd}, n_head={self.n_head}")


class CausalSelfAttention(nn.Module):
    """Multi-head ``softmax(QKᵀ/√d + M) V`` with M = −∞ above the diagonal (no peeking ahead).

    With a policy whose ``p_head < 1``, each head is kept with probability ``p_head`` per forward call
    (masked or structured, see :mod:`ragteach.gpt.random_heads`)."""

    def __init__(self, cfg: GPTConfig, policy: ActivationPolicy | None = None) -> None:
        super().__init__()
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.n_head = cfg.n_head
        self.policy = policy
        self.last_heads = cfg.n_head  # heads computed by the last forward call

    def heads(self, x: torch.Tensor) -> torch.Tensor:
        """Every head's output before the output projection: (B, T, C) → (B, n_head, T, C/n_head)."""
        return heads(x, self.c_attn.weight, self.c_attn.bias, self.n_head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, T, C) -> (B, T, C)
        idx, scale = (None, 1.0) if self.policy is None else self.policy.draw_heads(self.n_head)
        w = (self.c_attn.weight, self.c_attn.bias, self.c_proj.weight, self.c_proj.bias, self.n_head, idx, scale)
        if idx is not None and self.policy is not None and self.policy.settings.impl == "masked":
            self.last_heads = self.n_head
            return masked_attention(x, *w)
        self.last_heads = self.n_head if idx is None else idx.numel()
        return structured_attention(x, *w)


class Block(nn.Module):
    """``x + Attn(LN(x))`` then ``+ MLP(LN(·))``."""

    def __init__(self, cfg: GPTConfig, policy: ActivationPolicy) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.attn = CausalSelfAttention(cfg, policy)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.mlp = RandomActivationMLP(cfg.n_embd, cfg.mlp_ratio * cfg.n_embd, policy, bias=cfg.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))   # (B, T, C)
        return x + self.mlp(self.ln_2(x))  # (B, T, C)


class GPT(nn.Module):
    """The language model; ``model.policy`` holds the random-activation settings of all its MLPs."""

    def __init__(self, cfg: GPTConfig, settings: ActivationSettings | None = None, seed: int = 0) -> None:
        super().__init__()
        self.cfg = cfg
        self.policy = ActivationPolicy(settings, seed=seed)
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.blocks = nn.ModuleList(Block(cfg, self.policy) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.wte.weight = self.lm_head.weight  # weight tying, as in GPT-2
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2's scaled init of the residual projections
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def n_params(self) -> int:
        """Parameters, counting the tied embedding once and excluding position embeddings (as nanoGPT)."""
        return sum(p.numel() for p in self.parameters()) - self.wpe.weight.numel()

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits (B, T, V) and, with targets, the mean cross-entropy ``−mean log p(x_{t+1} | x_≤t)``."""
        if not isinstance(idx, torch.Tensor) or idx.ndim != 2:
            shape = tuple(idx.shape) if isinstance(idx, torch.Tensor) else type(idx).__name__
            raise ValueError(f"idx must be a (B, T) tensor of character ids, got {shape}")
        if idx.dtype != torch.long:
            raise TypeError(f"idx must hold integer character ids (torch.long), got {idx.dtype}; "
                            f"encode text with vocab.encode(...)")
        B, T = idx.shape
        if T > self.cfg.block_size:
            raise ValueError(f"sequence length {T} exceeds block_size {self.cfg.block_size}; crop the context")
        if T == 0:
            raise ValueError("idx has no characters (T = 0): give at least one character id per row")
        if idx.numel() and (idx.min() < 0 or idx.max() >= self.cfg.vocab_size):
            raise ValueError(f"character ids must be in [0, {self.cfg.vocab_size - 1}] (vocab_size), got values "
                             f"from {int(idx.min())} to {int(idx.max())}")
        if targets is not None and targets.shape != idx.shape:
            raise ValueError(f"targets must have the shape of idx {tuple(idx.shape)}, got {tuple(targets.shape)}")
        self.policy.begin(self.training)  # one p per forward call (per step / per generated token)
        pos = torch.arange(T, device=idx.device)
        x = self.wte(idx) + self.wpe(pos)            # (B, T, C)
        for block in self.blocks:
            x = block(x)                             # (B, T, C)
        logits = self.lm_head(self.ln_f(x))          # (B, T, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss

    @torch.no_grad()
    def generate(self, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Append ``max_new_tokens`` sampled ids to ``idx`` (B, T); each token is one forward call,
        so random activation draws fresh units per token. Runs in eval mode, restores the mode after."""
        if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real) \
                or not 0 < float(temperature) < math.inf:
            raise ValueError(f"temperature must be a finite number > 0 (1 samples the model as trained, "
                             f"lower is more certain), got {temperature!r}")
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be a whole number >= 0, got {max_new_tokens!r}")
        was_training = self.training
        self.eval()
        try:
            for _ in range(max_new_tokens):
                ctx = idx[:, -self.cfg.block_size:]                     # (B, ≤T)
                logits, _ = self(ctx)
                logits = logits[:, -1, :] / temperature                 # (B, V)
                if top_k is not None:
                    v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                    logits[logits < v[:, [-1]]] = -float("inf")
                probs = F.softmax(logits, dim=-1)
                nxt = torch.multinomial(probs, 1, generator=generator)  # (B, 1)
                idx = torch.cat((idx, nxt), dim=1)
        finally:
            self.train(was_training)
        return idx
