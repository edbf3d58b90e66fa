"""Answering with a trained RAG: greedy decoding under either marginal, and the measures of notebook 04
(exact match of answers, recall@K of the gold document)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from ragteach.data.countries import Question
from ragteach.retrieval.generator import Encoded
from ragteach.retrieval.index import RAGIndex
from ragteach.retrieval.marginals import MARGINALS, token_doc_posterior
from ragteach.retrieval.rag import RAG, Batch
from ragteach.retrieval.text import detokenize, tokenize


@dataclass
class Answer:
    question: str
    text: str
    docs: list[int]            # the K retrieved documents (ids into the index), [] for closed book
    doc_probs: list[float]     # p(d_i | x)
    token_docs: list[list[float]]  # per answer token: p(d_i | x, y_≤t) (RAG-Token's choice of document)
    logp: float                # log p(y | x) under the chosen marginal


@torch.no_grad()
def generate(model: RAG, index: RAGIndex | None, texts: Sequence[str], k: int = 5, method: str = "bm25",
             marginal: str = "token", batch_size: int = 128) -> list[Answer]:
    """Greedy answers. RAG-Token: at each step the token maximising Σ_i p(d_i|x) p(y_t|x,d_i,y_<t).
    RAG-Sequence ("thorough decoding"): a greedy answer per document, each candidate scored by
    Σ_i p(d_i|x) p(y|x,d_i) over all K documents, the best kept."""
    if marginal not in MARGINALS:
        raise ValueError(f"marginal must be one of {tuple(MARGINALS)}, got {marginal!r}")
    out: list[Answer] = []
    for s in range(0, len(texts), batch_size):
        b = model.prepare(index, texts[s:s + batch_size], k, method)
        ys = _greedy_token(model, b) if marginal == "token" else _greedy_sequence(model, b)
        out += _explain(model, b, ys, marginal)
    return out


def _words(model: RAG, b: Batch) -> torch.Tensor:
    return torch.unique(torch.cat([b.enc.d_ids.flatten(), model.generator.gen_ids]))  # sorted (C,)


def _greedy_token(model: RAG, b: Batch) -> torch.Tensor:
    """(B, T) ids, each step marginalised over the K documents."""
    gen, (B, K) = model.generator, b.doc_logp.shape
    words = _words(model, b)
    y = torch.full((B, 1), gen.bos)
    for _ in range(gen.max_len):
        lp = gen.next_word_logp(b.enc, y.repeat_interleave(K, 0), words).view(B, K, -1)  # (B, K, C)
        nxt = words[(b.doc_logp.unsqueeze(-1) + lp).logsumexp(1).argmax(-1)]            # (B,)
        nxt = torch.where(y[:, -1] == gen.eos, torch.zeros_like(nxt), nxt)
        nxt = torch.where(y[:, -1] == 0, torch.zeros_like(nxt), nxt)
        y = torch.cat([y, nxt.unsqueeze(1)], 1)
        if ((nxt == gen.eos) | (nxt == 0)).all():
            break
    return y[:, 1:]


def _greedy_sequence(model: RAG, b: Batch) -> torch.Tensor:
    """(B, T) ids: a greedy answer under each document, then the one with the highest marginal."""
    gen, (B, K) = model.generator, b.doc_logp.shape
    words = _words(model, b)
    y = torch.full((B * K, 1), gen.bos)
    for _ in range(gen.max_len):
        nxt = words[gen.next_word_logp(b.enc, y, words).argmax(-1)]                      # (B·K,)
        done = (y[:, -1] == gen.eos) | (y[:, -1] == 0)
        y = torch.cat([y, torch.where(done, torch.zeros_like(nxt), nxt).unsqueeze(1)], 1)
        if ((y[:, -1] == gen.eos) | (y[:, -1] == 0)).all():
            break
    cand = y[:, 1:].view(B, K, -1)                                                       # (B, Kc, T)
    T = cand.shape[-1]
    # score candidate c under document i: pairs (b, c, i) → enc of (b, i)
    enc = Encoded(*(t.view(B, K, *t.shape[1:]).unsqueeze(1).expand(B, K, K, *t.shape[1:])
                    .reshape(B * K * K, *t.shape[1:]) for t in (b.enc.d_ids, b.enc.h, b.enc.ctx)))
    ys = cand.unsqueeze(2).expand(B, K, K, T).reshape(B * K * K, T)
    tok = gen.token_logp(enc, ys).view(B, K, K, T)                                       # (B, Kc, Ki, T)
    score = (b.doc_logp.unsqueeze(1) + tok.sum(-1)).logsumexp(-1)                        # (B, Kc)
    return cand[torch.arange(B), score.argmax(-1)]


def _explain(model: RAG, b: Batch, ys: torch.Tensor, marginal: str) -> list[Answer]:
    tok = model.tok_logp(b, ys)                                                          # (B, K, T)
    logp = MARGINALS[marginal](b.doc_logp, tok)
    post = token_doc_posterior(b.doc_logp, tok)                                          # (B, T, K)
    out = []
    for i, row in enumerate(ys.tolist()):
        n = row.index(model.generator.eos) if model.generator.eos in row else len([t for t in row if t])
        words = model.vocab.words([t for t in row[:n] if t])
        out.append(Answer(b.texts[i], detokenize(words),
                          [] if b.doc_index is None else b.doc_index[i].tolist(),
                          b.doc_logp[i].exp().tolist(), post[i, :n].tolist(), float(logp[i])))
    return out


def exact_match(pred: str, gold: str) -> bool:
    """True when the two strings have the same tokens (case, spacing and punctuation spacing ignored)."""
    return tokenize(pred) == tokenize(gold)


def evaluate(model: RAG, index: RAGIndex | None, questions: Sequence[Question], k: int = 5, method: str = "bm25",
             marginal: str = "token") -> dict[str, float]:
    """Exact match (share of questions answered exactly) and, with an index, recall@K of the gold doc."""
    answers = generate(model, index, [q.text for q in questions], k, method, marginal)
    em = float(np.mean([exact_match(a.text, q.answer) for a, q in zip(answers, questions)]))
    return {"em": em}


def recall_at_k(index: RAGIndex, method: str, questions: Sequence[Question], gold: Sequence[int],
                ks: Sequence[int] = (1, 5)) -> dict[int, float]:
    """Share of questions whose gold document is among the top k, for each k."""
    ids = index.top(method, [q.text for q in questions], max(ks)).numpy()               # (N, kmax)
    g = np.asarray(gold)[:, None]
    return {k: float((ids[:, :k] == g).any(1).mean()) for k in ks}
