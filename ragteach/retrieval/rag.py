"""Retrieval-augmented generation (Lewis et al. 2020) at a size that trains in a minute on a CPU.

    p(y | x) = Σ_{i=1..K} p(d_i | x) · p(y | x, d_i)        over the top-K retrieved documents

- ``p(d_i | x) = softmax_i(s · ⟨q(x), d(z_i)⟩)``: a trainable query encoder q, a **frozen** document
  encoder d (as in the paper), over the K candidates a retriever (BM25, TF-IDF or dense/FAISS) returns;
- ``p(y | x, d)``: the copy-generator of :mod:`ragteach.retrieval.generator`.

Two ways to marginalise (:func:`rag_sequence_logp`, :func:`rag_token_logp`):

- **RAG-Sequence**: one document for the whole answer, ``log Σ_i p(d_i|x) Π_t p(y_t | x, d_i, y_<t)``;
- **RAG-Token**: a new choice at every token, ``Σ_t log Σ_i p(d_i|x) p(y_t | x, d_i, y_<t)``.

Training maximises ``Σ_(x,y) log p(y|x)``, so the gradient reaches the generator *and* the query
encoder: that is the joint training. The closed-book twin is the same generator reading the question
instead of a document (``method="none"``).
"""
from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ragteach.data.countries import Question
from ragteach.live.knobs import Knob, Knobs
from ragteach.retrieval.bm25 import BM25Retriever
from ragteach.retrieval.dense import BagEncoder, DenseRetriever, encode_texts, pad
from ragteach.retrieval.generator import CopyGenerator, Encoded
from ragteach.retrieval.text import EOS, Vocab, detokenize, tokenize
from ragteach.retrieval.tfidf import TfidfRetriever

METHODS = ("bm25", "tfidf", "dense")
K_MAX = 10


# ---------------------------------------------------------------------------- the two marginals
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


# ---------------------------------------------------------------------------- the index
class RAGIndex:
    """A knowledge base as every retriever and the reader see it. Building a new one from edited
    documents is the hot-swap: no model weight changes (new words get fresh, untrained embeddings)."""

    def __init__(self, docs: Sequence[str], vocab: Vocab, doc_encoder: nn.Module, query_encoder: nn.Module) -> None:
        self.docs = list(docs)
        dense = DenseRetriever(doc_encoder, vocab, query_encoder).index(self.docs)  # grows vocab
        self.retrievers = {"bm25": BM25Retriever().index(self.docs), "tfidf": TfidfRetriever().index(self.docs),
                           "dense": dense}
        self.doc_ids = pad([vocab.ids(tokenize(d)) for d in self.docs])       # (N_docs, L)
        self.doc_vectors = torch.from_numpy(dense.doc_vectors).float()        # (N_docs, dim), frozen
        self._cache: dict[tuple[str, str], np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.docs)

    def top(self, method: str, texts: Sequence[str], k: int) -> torch.Tensor:
        """Ids (B, k) of the top-k documents per text; sparse results are cached (they never change)."""
        if method not in self.retrievers:
            raise ValueError(f"retriever must be one of {tuple(self.retrievers)}, got {method!r}")
        if not 1 <= k <= min(K_MAX, len(self)):
            raise ValueError(f"K must be a whole number in [1, {min(K_MAX, len(self))}], got {k!r}")
        if method == "dense":  # the query encoder is training: never cached
            return torch.from_numpy(self.retrievers["dense"].search_batch(list(texts), k)[0])
        kk = min(K_MAX, len(self))
        missing = [t for t in dict.fromkeys(texts) if (method, t) not in self._cache]
        if missing:
            ids, _ = self.retrievers[method].search_batch(missing, kk)
            self._cache.update({(method, t): row for t, row in zip(missing, ids)})
        return torch.from_numpy(np.stack([self._cache[(method, t)][:k] for t in texts]))


# ---------------------------------------------------------------------------- the model
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


# ---------------------------------------------------------------------------- decoding
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


# ---------------------------------------------------------------------------- training
def rag_knobs(lr: float = 3e-3, k: int = 5, retriever: str = "bm25", marginal: str = "token") -> Knobs:
    return Knobs.of(
        Knob("lr", lr, low=0.0, high=0.1, low_open=True, log=True, description="learning rate"),
        Knob("K", k, low=1, high=K_MAX, kind="int", description="K documents"),
        Knob("retriever", retriever, kind="choice", choices=METHODS + ("none",), description="retriever"),
        Knob("marginal", marginal, kind="choice", choices=tuple(MARGINALS), description="RAG-"),
    )


class RAGTrainer:
    """One joint training step per call (the session's step function):
    loss = −mean_(x,y) log Σ_i p(d_i|x) p(y|x,d_i) (or the RAG-Token form), Adam on the query encoder
    and the generator. Every ``eval_every`` steps also reports exact match on ``eval_questions``."""

    def __init__(self, model: RAG, index: RAGIndex | None, questions: Sequence[Question],
                 eval_questions: Sequence[Question] = (), batch_size: int = 32, eval_every: int = 50,
                 doc_of: dict[tuple[str, str], int] | None = None, seed: int = 0) -> None:
        if not questions:
            raise ValueError("RAGTrainer needs at least one training question")
        self.model, self.index, self.questions = model, index, list(questions)
        self.eval_questions, self.batch_size, self.eval_every = list(eval_questions), batch_size, eval_every
        self.rng = random.Random(seed)
        self.opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3e-3)
        self.steps = 0
        self.doc_of = dict(doc_of or {})  # (country, relation) → gold document id, for p_gold

    def __call__(self, knobs: dict[str, Any]) -> dict[str, float]:
        method = knobs.get("retriever", "bm25")
        if method != "none" and self.index is None:
            raise ValueError("this trainer has no index: it can only train closed-book (retriever='none')")
        for g in self.opt.param_groups:
            g["lr"] = knobs.get("lr", 3e-3)
        qs = self.rng.sample(self.questions, min(self.batch_size, len(self.questions)))
        self.model.train()
        b = self.model.prepare(self.index, [q.text for q in qs], knobs.get("K", 5), method)
        logp = MARGINALS[knobs.get("marginal", "token")](b.doc_logp, self.model.tok_logp(b, load_answers(self.model, qs)))
        loss = -logp.mean()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.steps += 1
        metrics = {"loss": loss.item()}
        if b.doc_index is not None and self.doc_of:
            gold = torch.tensor([self.index_gold(q) for q in qs]).unsqueeze(1)       # (B, 1)
            hit = b.doc_index == gold
            metrics["p_gold"] = float((b.doc_logp.detach().exp() * hit).sum(-1).mean())      # p(gold doc | x), 0 if missed
        if self.eval_questions and (self.steps % self.eval_every == 0):
            self.model.eval()
            metrics["em"] = evaluate(self.model, self.index, self.eval_questions, knobs.get("K", 5), method,
                                     knobs.get("marginal", "token"))["em"]
        return metrics

    def index_gold(self, q: Question) -> int:
        return self.doc_of.get((q.country, q.relation), -1)

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict(), "steps": self.steps}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        self.steps = int(state["steps"])
