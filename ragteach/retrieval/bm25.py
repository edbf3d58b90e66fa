"""Okapi BM25 (Robertson & Zaragoza 2009), as a sparse matrix so that a query is one row sum.

For a query q (its tokens, repeats counted) and a document d of length |d|:

    score(q, d) = Σ_{t ∈ q} IDF(t) · tf(t, d) · (k1 + 1) / (tf(t, d) + k1 · (1 − b + b · |d| / avgdl))

- ``idf="lucene"`` (default): ``IDF(t) = ln(1 + (N − n_t + 0.5) / (n_t + 0.5))``, always > 0
  (Lucene, Elasticsearch and ``bm25s``'s default; they leave out the constant factor k1 + 1,
  which changes no ranking);
- ``idf="robertson"``: ``IDF(t) = ln((N − n_t + 0.5) / (n_t + 0.5))``; a negative value (a term in
  more than half the documents) is replaced by ``epsilon · mean IDF``, as ``rank_bm25.BM25Okapi`` does.

k1 ≥ 0 saturates term frequency (0: only presence counts); b ∈ [0, 1] normalises by length.
"""
from __future__ import annotations

import math
from collections import Counter

import numpy as np
from scipy import sparse

from ragteach.retrieval.base import Retriever
from ragteach.retrieval.text import tokenize


class BM25Retriever(Retriever):
    name = "bm25"

    def __init__(self, k1: float = 1.5, b: float = 0.75, idf: str = "lucene", epsilon: float = 0.25) -> None:
        super().__init__()
        if isinstance(k1, bool) or not isinstance(k1, (int, float)) or not 0 <= k1 < math.inf:
            raise ValueError(f"k1 must be a finite number >= 0 (1.2 to 2.0 is usual), got {k1!r}")
        if isinstance(b, bool) or not isinstance(b, (int, float)) or not 0 <= b <= 1:
            raise ValueError(f"b must be in [0, 1] (0.75 is usual), got {b!r}")
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not 0 <= epsilon < math.inf:
            raise ValueError(f"epsilon must be a finite number >= 0, got {epsilon!r}")
        if idf not in ("lucene", "robertson"):
            raise ValueError(f"idf must be 'lucene' or 'robertson', got {idf!r}")
        self.k1, self.b, self.idf_kind, self.epsilon = float(k1), float(b), idf, float(epsilon)

    def _index(self, docs: list[str]) -> None:
        self._build([tokenize(d) for d in docs])

    def index_tokens(self, corpus: list[list[str]]) -> "BM25Retriever":
        """Index documents that are already tokenised (how the reference libraries are fed)."""
        if not corpus:
            raise ValueError("bm25: index_tokens() needs at least one document; got an empty corpus")
        corpus = [list(toks) for toks in corpus]
        return self.rebuild([" ".join(toks) for toks in corpus], lambda: self._build(corpus))

    def _build(self, corpus: list[list[str]]) -> None:
        """The (n_terms, n_docs) weight matrix W[t, d] = IDF(t) · (tf part) from tokenised docs."""
        self.vocab: dict[str, int] = {}
        rows, cols, tfs = [], [], []
        lengths = np.array([len(toks) for toks in corpus], dtype=np.float64)  # |d|
        for d, toks in enumerate(corpus):
            for term, tf in Counter(toks).items():
                rows.append(self.vocab.setdefault(term, len(self.vocab)))
                cols.append(d)
                tfs.append(tf)
        rows, cols, tf = np.array(rows), np.array(cols), np.array(tfs, dtype=np.float64)
        n_docs = len(corpus)
        df = np.bincount(rows, minlength=len(self.vocab)).astype(np.float64)  # n_t
        self.idf = self._idf(df, n_docs)
        avgdl = max(lengths.mean(), 1e-9)
        norm = self.k1 * (1 - self.b + self.b * lengths[cols] / avgdl)
        w = self.idf[rows] * tf * (self.k1 + 1) / (tf + norm)
        self.weights = sparse.csr_matrix((w, (rows, cols)), shape=(len(self.vocab), n_docs))

    def _idf(self, df: np.ndarray, n_docs: int) -> np.ndarray:
        if self.idf_kind == "lucene":
            return np.log1p((n_docs - df + 0.5) / (df + 0.5))
        idf = np.log((n_docs - df + 0.5) / (df + 0.5))
        return np.where(idf < 0, self.epsilon * idf.mean(), idf)

    def _scores(self, query: str) -> np.ndarray:
        return self.scores_tokens(tokenize(query))

    def scores_tokens(self, tokens: list[str]) -> np.ndarray:
        """BM25 scores (n_docs,) of a tokenised query; unknown tokens add nothing."""
        out = np.zeros(self.weights.shape[1])
        w, ptr, docs = self.weights.data, self.weights.indptr, self.weights.indices
        for t in tokens:  # row t of W holds the documents containing t and their weights
            i = self.vocab.get(t)
            if i is not None:
                out[docs[ptr[i]:ptr[i + 1]]] += w[ptr[i]:ptr[i + 1]]
        return out
