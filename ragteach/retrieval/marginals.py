"""The two RAG marginals (Lewis et al. 2020): how p(y|x) sums over the K retrieved documents.

    p(y | x) = Σ_{i=1..K} p(d_i | x) · p(y | x, d_i)

- **RAG-Sequence**: one document for the whole answer, ``log Σ_i p(d_i|x) Π_t p(y_t | x, d_i, y_<t)``;
- **RAG-Token**: a new choice at every token, ``Σ_t log Σ_i p(d_i|x) p(y_t | x, d_i, y_<t)``.
"""
from __future__ import annotations

import torch


def rag_sequence_logp(doc_logp: torch.Tensor, tok_logp: torch.Tensor) -> torch.Tensor:
    """RAG-Sequence: log p(y|x) = log Σ_i p(d_i|x) Π_t p(y_t|x,d_i,y_<t).
    doc_logp (B, K) log p(d_i|x); tok_logp (B, K, T) log p(y_t|x,d_i,y_<t), 0 at padding → (B,)."""
    return (doc_logp + tok_logp.sum(-1)).logsumexp(-1)


def rag_token_logp(doc_logp: torch.Tensor, tok_logp: torch.Tensor) -> torch.Tensor:
    """RAG-Token: log p(y|x) = Σ_t log Σ_i p(d_i|x) p(y_t|x,d_i,y_<t). Same shapes → (B,).
    (A padded step adds log Σ_i p(d_i|x) = 0, as doc_logp is normalised.)"""
    return (doc_logp.unsqueeze(-1) + tok_logp).logsumexp(1).sum(-1)


def token_doc_posterior(doc_logp: torch.Tensor, tok_logp: torch.Tensor) -> torch.Tensor:
    """Which document each token leaned on (RAG-Token): p(d_i | x, y_≤t) ∝ p(d_i|x) p(y_t|x,d_i,y_<t).
    → (B, T, K), each row sums to 1."""
    return (doc_logp.unsqueeze(-1) + tok_logp).softmax(1).transpose(1, 2)


MARGINALS = {"sequence": rag_sequence_logp, "token": rag_token_logp}
