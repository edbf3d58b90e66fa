"""Notebook 04's checkers pass the right answer and explain the usual wrong ones."""
import math

import torch

from ragteach.exercises import retrieval as ex


def test_bm25_term():
    right = lambda tf, df, n, dl, avgdl, k1, b: math.log(1 + (n - df + 0.5) / (df + 0.5)) * tf * (k1 + 1) / (
        tf + k1 * (1 - b + b * dl / avgdl))
    assert ex.check_bm25_term(right)
    no_norm = lambda tf, df, n, dl, avgdl, k1, b: math.log(1 + (n - df + 0.5) / (df + 0.5)) * tf * (k1 + 1) / (tf + k1)
    r = ex.check_bm25_term(no_norm)
    assert not r and "length normalisation" in r.message


def test_marginals():
    seq = lambda d, t: (d + t.sum(-1)).logsumexp(-1)
    tok = lambda d, t: (d.unsqueeze(-1) + t).logsumexp(1).sum(-1)
    assert ex.check_rag_sequence(seq) and ex.check_rag_token(tok)
    r = ex.check_rag_sequence(tok)
    assert not r and "RAG-Token marginal" in r.message
    r = ex.check_rag_token(seq)
    assert not r and "RAG-Sequence marginal" in r.message
    assert not ex.check_rag_token(lambda d, t: (d.unsqueeze(-1) + t).logsumexp(1).sum(-1).exp())


def test_recall_and_errors():
    assert ex.check_recall_at_k(lambda ranked, gold, k: sum(g in r[:k] for r, g in zip(ranked, gold)) / len(gold))
    assert not ex.check_recall_at_k(lambda ranked, gold, k: sum(r[0] == g for r, g in zip(ranked, gold)) / len(gold))

    def todo(*a):
        raise NotImplementedError
    assert "NotImplementedError" in ex.check_rag_token(todo).message
