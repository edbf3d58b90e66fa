"""Retrieval-augmented generation (Lewis et al. 2020) at a size that trains in a minute on a CPU.

    p(y | x) = Σ_{i=1..K} p(d_i | x) · p(y | x, d_i)        over the top-K retrieved documents

- ``p(d_i | x) = softmax_i(s · ⟨q(x), d(z_i)⟩)``: a trainable query encoder q, a **frozen** document
  encoder d (as in the paper), over the K candidates a retriever (BM25, TF-IDF or dense/FAISS) returns;
- ``p(y | x, d)``: the copy-generator of :mod:`ragteach.retrieval.generator`.

This module is the model. The rest of RAG lives beside it, one idea per module:
:mod:`~ragteach.retrieval.marginals` (the two sums below), :mod:`~ragteach.retrieval.index` (the knowledge
base), :mod:`~ragteach.retrieval.decoding` (answers, exact match, recall) and :mod:`~ragteach.retrieval.train`
(the joint training step).

Two ways to marginalise (:func:`~ragteach.retrieval.marginals.rag_sequence_logp`, ``rag_token_logp``):

- **RAG-Sequence**: one document for the whole answer, ``log Σ_i p(d_i|x) Π_t p(y_t | x, d_i, y_<t)``;
- **RAG-Token**: a new choice at every token, ``Σ_t log Σ_i p(d_i|x) p(y_t | x, d_i, y_<t)``.

Training maximises ``Σ_(x,y) log p(y|x)``, so the gradient reaches the generator *and* the query
encoder: that is the joint training. The closed-book twin is the same generator reading the question
instead of a document (``method="none"``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn as nn

from ragteach.data.countries import Question
from ragteach.retrieval.dense import BagEncoder, pad
from ragteach.retrieval.generator import CopyGenerator, Encoded
from ragteach.retrieval.index import RAGIndex
from ragteach.retrieval.text import EOS, Vocab, tokenize


@dataclass
class Batch:
    """One batch prepared for the reader: B questions, K documents each."""

    texts: list[str]
    doc_index: torch.Tensor | None  # (B, K) ids into the index, None for closed-book
    doc_logp: torch.Tensor          # (B, K) log p(d_i | x)
    enc: Encoded                    # B·K (question, document) pairs


class RAG(nn.Module):
    """Query encoder + copy-generator. ``scale`` is 1/temperature of p(d|x)."""

    def __init__(self, vocab: Vocab, query_encoder: BagEncoder, generator: CopyGenerator, scale: float = 20.0) -> None:
        super().__init__()
        self.vocab, self.query_encoder, self.generator, self.scale = vocab, query_encoder, generator, scale

    def question_ids(self, texts: Sequence[str]) -> torch.Tensor:
        for t in texts:
            if not isinstance(t, str) or not t.strip():
                raise ValueError(f"questions must be non-empty strings, got {t!r}")
        return pad([self.vocab.ids(tokenize(t)) for t in texts])              # (B, Lq)

    def prepare(self, index: RAGIndex | None, texts: Sequence[str], k: int, method: str) -> Batch:
        """Retrieve, score p(d|x) (with gradient into the query encoder) and encode the pairs.
        ``method="none"``: closed book, the 'document' is the question itself (K = 1)."""
        texts = list(texts)
        q_ids = self.question_ids(texts)                                      # (B, Lq)
        if method == "none":
            return Batch(texts, None, torch.zeros(len(texts), 1), self.generator.encode(q_ids, q_ids))
        if index is None:
            raise ValueError(f"method {method!r} needs an index; use method='none' for closed book")
        ids = index.top(method, texts, k)                                     # (B, K)
        q = self.query_encoder(q_ids)                                         # (B, dim)
        scores = self.scale * torch.einsum("bd,bkd->bk", q, index.doc_vectors[ids])
        d_ids = index.doc_ids[ids.flatten()]                                  # (B·K, L)
        enc = self.generator.encode(q_ids.repeat_interleave(ids.shape[1], 0), d_ids)
        return Batch(texts, ids, scores.log_softmax(-1), enc)

    def tok_logp(self, batch: Batch, answers: torch.Tensor) -> torch.Tensor:
        """log p(y_t | x, d_i, y_<t): answers (B, T) → (B, K, T)."""
        B, K = batch.doc_logp.shape
        return self.generator.token_logp(batch.enc, answers.repeat_interleave(K, 0)).view(B, K, -1)

    def answer_ids(self, answers: Sequence[str]) -> torch.Tensor:
        """Answer strings → ids with <eos> (B, T); words outside the vocabulary become <unk>."""
        return pad([self.vocab.ids(tokenize(a) + [EOS]) for a in answers])


def load_answers(model: RAG, questions: Sequence[Question]) -> torch.Tensor:
    return model.answer_ids([q.answer for q in questions])
