"""Exercises of notebook 04 (retrieval-augmented generation): a BM25 term, recall@k, the two RAG marginals, and
the split of p(d|x) that serves a two-document answer best.

Each ``check_*`` prints a verdict and returns the function to use from then on (see
:mod:`ragteach.exercises.checking`). The reference solutions below are the answer key.
"""
from __future__ import annotations

import math

import torch

from ragteach.exercises.checking import Exercise, Mistake, reveal


# ---- reference solutions (the answer key) ------------------------------------------------------------------------
def bm25_term(tf: int, df: int, n_docs: int, doc_len: int, avgdl: float, k1: float, b: float) -> float:
    """One query term's Okapi BM25 contribution, Lucene's IDF:
    ln(1 + (N − df + 0.5)/(df + 0.5)) · tf·(k1 + 1) / (tf + k1·(1 − b + b·|d|/avgdl))."""
    idf = math.log(1 + (n_docs - df + 0.5) / (df + 0.5))
    return idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * doc_len / avgdl))


def my_recall_at_k(ranked_ids: list[list[int]], gold: list[int], k: int) -> float:
    """The share of questions whose gold document is among the first k retrieved."""
    return sum(g in r[:k] for r, g in zip(ranked_ids, gold)) / len(gold)


def rag_sequence(doc_logp: torch.Tensor, tok_logp: torch.Tensor) -> torch.Tensor:
    """log p(y|x) = log Σ_i p(d_i|x) Π_t p(y_t|x,d_i,y_<t); doc_logp (B, K), tok_logp (B, K, T) → (B,)."""
    return (doc_logp + tok_logp.sum(-1)).logsumexp(-1)


def rag_token(doc_logp: torch.Tensor, tok_logp: torch.Tensor) -> torch.Tensor:
    """log p(y|x) = Σ_t log Σ_i p(d_i|x) p(y_t|x,d_i,y_<t); doc_logp (B, K), tok_logp (B, K, T) → (B,)."""
    return (doc_logp.unsqueeze(-1) + tok_logp).logsumexp(1).sum(-1)


def best_token_split(n_a: int, n_b: int) -> float:
    """The p(A|x) (with p(B|x) = 1 − p(A|x)) that maximises RAG-Token's p(y|x) for an answer with n_a tokens that
    only document A supports and n_b that only B supports: p(y|x) ∝ p^n_a (1 − p)^n_b, maximal at n_a/(n_a + n_b)."""
    return n_a / (n_a + n_b)


# ---- random test inputs -----------------------------------------------------------------------------------------
def _bm25_args(gen: torch.Generator) -> tuple[int, int, int, int, float, float, float]:
    r = lambda lo, hi: int(torch.randint(lo, hi, (1,), generator=gen))  # noqa: E731
    u = lambda lo, hi: lo + (hi - lo) * float(torch.rand(1, generator=gen))  # noqa: E731
    return r(1, 6), r(1, 60), r(100, 2000), r(4, 30), u(6.0, 15.0), u(1.2, 2.0), u(0.5, 0.9)


def _rankings(gen: torch.Generator) -> tuple[list[list[int]], list[int], int]:
    n_q, n_docs = int(torch.randint(5, 9, (1,), generator=gen)), 6
    ranked = [torch.randperm(n_docs, generator=gen).tolist()[:5] for _ in range(n_q)]
    gold = torch.randint(n_docs, (n_q,), generator=gen).tolist()
    return ranked, gold, int(torch.randint(2, 5, (1,), generator=gen))


def _marginal_args(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    b, k, t = (int(torch.randint(2, 5, (1,), generator=gen)) for _ in range(3))
    doc_logp = torch.randn(b, k, generator=gen).log_softmax(-1)
    tok_logp = (0.05 + 0.9 * torch.rand(b, k, t, generator=gen)).log()
    return doc_logp, tok_logp


def _token_counts(gen: torch.Generator) -> tuple[int, int]:
    n_a, n_b = (int(torch.randint(1, 6, (1,), generator=gen)) for _ in range(2))
    return n_a, n_b + (n_b == n_a)                       # unequal counts: 0.5 must not pass by luck


# ---- the exercises ------------------------------------------------------------------------------------------------
BM25_TERM = Exercise(
    "bm25_term", bm25_term, _bm25_args,
    success="rare terms weigh more (IDF), repeats saturate (k1), long documents are discounted (b).",
    mistakes=(
        Mistake(lambda tf, df, n, dl, avgdl, k1, b: bm25_term(tf, df, n, dl, avgdl, k1, b) / (k1 + 1),
                "that is Lucene's form without the (k1 + 1) factor: same ranking, but multiply by k1 + 1 here."),
        Mistake(lambda tf, df, n, dl, avgdl, k1, b: math.log(1 + (n - df + 0.5) / (df + 0.5)) * tf * (k1 + 1)
                / (tf + k1), "the length normalisation is missing: k1 · (1 − b + b · doc_len / avgdl)."),
        Mistake(lambda tf, df, n, dl, avgdl, k1, b: math.log((n - df + 0.5) / (df + 0.5)) * tf * (k1 + 1)
                / (tf + k1 * (1 - b + b * dl / avgdl)),
                "that is Robertson's IDF; use ln(1 + (N − df + 0.5)/(df + 0.5)), which is never negative."),
    ))

RECALL_AT_K = Exercise(
    "recall_at_k", my_recall_at_k, _rankings,
    success="recall@k only asks whether the right document is in the top k, not where.",
    mistakes=(
        Mistake(lambda ranked, gold, k: sum(r[0] == g for r, g in zip(ranked, gold)) / len(gold),
                "you only looked at the first document: use the first k."),
        Mistake(lambda ranked, gold, k: sum(g in r[:k] for r, g in zip(ranked, gold)),
                "that is a count: return the share of questions (divide by their number)."),
        Mistake(lambda ranked, gold, k: sum(g in r[: k - 1] for r, g in zip(ranked, gold)) / len(gold),
                "off by one: the first k documents are r[:k]."),
    ))

_EXP = "return the log-probability, not the probability."
RAG_SEQUENCE = Exercise(
    "rag_sequence", rag_sequence, _marginal_args,
    success="one document per answer: the product over tokens sits inside the sum over documents.",
    mistakes=(
        Mistake(rag_token, "that is the RAG-Token marginal; RAG-Sequence sums over documents once, for the whole "
                           "answer."),
        Mistake(lambda d, t: rag_sequence(d, t).exp(), _EXP),
        Mistake(lambda d, t: t.sum(-1).logsumexp(-1), "weight each document by p(d_i|x): add doc_logp."),
    ))

RAG_TOKEN = Exercise(
    "rag_token", rag_token, _marginal_args,
    success="a new choice of document at every token: the sum over documents sits inside the product.",
    mistakes=(
        Mistake(rag_sequence, "that is the RAG-Sequence marginal; RAG-Token sums over documents at every token."),
        Mistake(lambda d, t: rag_token(d, t).exp(), _EXP),
        Mistake(lambda d, t: t.logsumexp(1).sum(-1), "weight each document by p(d_i|x): add doc_logp."),
    ))

BEST_TOKEN_SPLIT = Exercise(
    "best_token_split", best_token_split, _token_counts,
    success="p(d|x) is one split for the whole answer: each document gets the share of the tokens only it can give.",
    mistakes=(
        Mistake(lambda n_a, n_b: n_a / n_b, "that is the odds p/(1 − p) at the best split; return p(A|x) itself."),
        Mistake(lambda n_a, n_b: n_b / (n_a + n_b), "that is p(B|x): the more tokens A alone supports, the more "
                                                    "weight A needs."),
        Mistake(lambda n_a, n_b: float(n_a > n_b), "all weight on one document makes the other's tokens impossible: "
                                                   "maximise p^n_a (1 − p)^n_b (take the log, then the derivative)."),
    ))

EXERCISES = {e.name: e for e in (BM25_TERM, RECALL_AT_K, RAG_SEQUENCE, RAG_TOKEN, BEST_TOKEN_SPLIT)}
check_bm25_term, check_recall_at_k = BM25_TERM.check, RECALL_AT_K.check
check_rag_sequence, check_rag_token = RAG_SEQUENCE.check, RAG_TOKEN.check
check_best_token_split = BEST_TOKEN_SPLIT.check


# ---- predict, then run ------------------------------------------------------------------------------------------
def predict_marginals(prediction: object) -> bool:
    """Two documents, p(d|x) = (0.7, 0.3); a two-token answer whose first token only document 1 supports
    (0.9 vs 0.2) and whose second only document 2 (0.1 vs 0.8). Compute both marginals and reveal which one
    ('sequence' or 'token') gives the answer the higher probability."""
    doc_logp = torch.tensor([[0.7, 0.3]]).log()
    tok_logp = torch.tensor([[[0.9, 0.1], [0.2, 0.8]]]).log()
    p = {"sequence": float(rag_sequence(doc_logp, tok_logp).exp()), "token": float(rag_token(doc_logp, tok_logp).exp())}
    for name, v in p.items():
        print(f"RAG-{name.capitalize()}: p(y|x) = {v:.4f}")
    return reveal(prediction, max(p, key=p.get), choices=list(p))
