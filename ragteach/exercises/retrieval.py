"""Checkers for notebook 04 (retrieval-augmented generation)."""
from __future__ import annotations

import math
from typing import Callable

import torch

from ragteach.exercises.checking import Result, as_float, close, run_learner
from ragteach.retrieval.rag import rag_sequence_logp, rag_token_logp

# Two documents, an answer of two tokens: p(d|x) = (0.7, 0.3);
# p(y_t | x, d_i, y_<t): document 1 → (0.9, 0.1), document 2 → (0.2, 0.8).
_DOC_P = torch.tensor([[0.7, 0.3]])
_TOK_P = torch.tensor([[[0.9, 0.1], [0.2, 0.8]]])


def check_bm25_term(fn: Callable[..., float]) -> Result:
    """fn(tf, df, n_docs, doc_len, avgdl, k1, b) = one term's Okapi BM25 contribution (Lucene IDF):
    ln(1 + (N − df + 0.5)/(df + 0.5)) · tf (k1 + 1) / (tf + k1 (1 − b + b·|d|/avgdl))."""
    args = (3, 10, 1000, 12, 8.0, 1.5, 0.75)
    out, failed = run_learner(fn, *args)
    if failed is not None:
        return failed
    got = as_float(out)
    tf, df, n, dl, avgdl, k1, b = args
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    want = idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))
    if got is None:
        return Result(False, f"return one number, got {type(out).__name__}")
    if close(got, want):
        return Result(True, f"BM25 term score = {got:.4f}")
    if close(got, want / (k1 + 1)):
        return Result(False, "that is Lucene's form without the (k1 + 1) factor: same ranking, but multiply by k1 + 1 here.")
    if close(got, idf * tf * (k1 + 1) / (tf + k1)):
        return Result(False, "the length normalisation is missing: k1 · (1 − b + b · doc_len / avgdl).")
    if close(got, math.log((n - df + 0.5) / (df + 0.5)) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))):
        return Result(False, "that is Robertson's IDF; use ln(1 + (N − df + 0.5)/(df + 0.5)), which is never negative.")
    return Result(False, f"expected {want:.4f} for tf=3, df=10, N=1000, |d|=12, avgdl=8, k1=1.5, b=0.75; got {got:.4f}")


def _check_marginal(fn: Callable, want_fn: Callable, other_fn: Callable, name: str, other: str) -> Result:
    doc_logp, tok_logp = _DOC_P.log(), _TOK_P.log()
    out, failed = run_learner(fn, doc_logp.clone(), tok_logp.clone())
    if failed is not None:
        return failed
    if not isinstance(out, torch.Tensor) or out.shape != (1,):
        return Result(False, f"return a tensor of shape (B,) = (1,), got {getattr(out, 'shape', type(out).__name__)}")
    got, want, wrong = float(out), float(want_fn(doc_logp, tok_logp)), float(other_fn(doc_logp, tok_logp))
    if close(got, want):
        return Result(True, f"log p(y|x) = {got:.4f} (p = {math.exp(got):.4f})")
    if close(got, wrong):
        return Result(False, f"that is the {other} marginal; {name} sums over documents "
                             + ("once, for the whole answer" if name == "RAG-Sequence" else "at every token"))
    if close(got, math.exp(want)):
        return Result(False, "return the log-probability, not the probability")
    return Result(False, f"expected log p(y|x) = {want:.4f} on the example, got {got:.4f}")


def check_rag_sequence(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Result:
    """fn(doc_logp (B,K), tok_logp (B,K,T)) → (B,) log Σ_i p(d_i|x) Π_t p(y_t|x,d_i,y_<t)."""
    return _check_marginal(fn, rag_sequence_logp, rag_token_logp, "RAG-Sequence", "RAG-Token")


def check_rag_token(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Result:
    """fn(doc_logp (B,K), tok_logp (B,K,T)) → (B,) Σ_t log Σ_i p(d_i|x) p(y_t|x,d_i,y_<t)."""
    return _check_marginal(fn, rag_token_logp, rag_sequence_logp, "RAG-Token", "RAG-Sequence")


def check_recall_at_k(fn: Callable) -> Result:
    """fn(ranked_ids: list of lists, gold: list, k) → share of rows whose gold id is in the first k."""
    ranked = [[3, 1, 2], [0, 2, 1], [2, 0, 1], [1, 2, 0]]
    gold = [1, 0, 1, 0]
    want = {1: 0.25, 2: 0.5, 3: 1.0}
    for k, w in want.items():
        out, failed = run_learner(fn, [list(r) for r in ranked], list(gold), k)
        if failed is not None:
            return failed
        got = as_float(out)
        if got is None or not close(got, w):
            return Result(False, f"for k={k} expected {w} (rows whose gold id is among the first {k}), got {out!r}")
    return Result(True, "recall@1 = 0.25, @2 = 0.5, @3 = 1.0 on the example")
