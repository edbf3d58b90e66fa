"""The one interface every retriever has: ``index(docs)``, then ``search(query, k) → (ids, scores)``.

Bad input fails early with a message that says what to change:

- ``index([])`` → ``ValueError`` (an empty knowledge base cannot answer anything);
- ``k`` must be a whole number in ``[1, n_docs]``;
- an empty or whitespace-only query → ``ValueError``;
- a query made only of words that no document contains is *allowed*: every sparse score is 0,
  the first ``k`` documents in index order come back with score 0, and a ``UnknownQueryWarning``
  says so (a dense retriever still returns its nearest documents).
"""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np


class UnknownQueryWarning(UserWarning):
    """The query shares no word with the indexed documents: all scores are 0."""


class Retriever:
    """Base class: subclasses implement ``_index(docs)`` and ``_scores(query) -> (n_docs,)``."""

    name = "retriever"

    def __init__(self) -> None:
        self.docs: list[str] = []

    @property
    def n_docs(self) -> int:
        return len(self.docs)

    def index(self, docs: Sequence[str]) -> "Retriever":
        """Build the index over ``docs`` (replacing any previous one); returns ``self``."""
        docs = list(docs)
        if not docs:
            raise ValueError(f"{self.name}: index() needs at least one document; got an empty knowledge base")
        bad = [i for i, d in enumerate(docs) if not isinstance(d, str)]
        if bad:
            raise TypeError(f"{self.name}: documents must be strings; document {bad[0]} is {type(docs[bad[0]]).__name__}")
        self.docs = docs
        self._index(docs)
        return self

    def check_k(self, k: int) -> int:
        if not self.docs:
            raise RuntimeError(f"{self.name}: call index(docs) before search()")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= self.n_docs:
            raise ValueError(f"k must be a whole number in [1, {self.n_docs}] (the number of indexed "
                             f"documents), got {k!r}")
        return int(k)

    @staticmethod
    def check_query(query: str) -> str:
        if not isinstance(query, str):
            raise TypeError(f"the query must be a str, got {type(query).__name__}")
        if not query.strip():
            raise ValueError("the query is empty: type a question, e.g. 'What is the capital of France?'")
        return query

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best documents: ids (k,) int64 and scores (k,) float, best first (ties: lower id)."""
        k = self.check_k(k)
        scores = self._scores(self.check_query(query))
        if not np.any(scores):
            warnings.warn(f"{self.name}: no indexed document contains a word of {query!r}; all scores are 0",
                          UnknownQueryWarning, stacklevel=2)
        ids = np.argsort(-scores, kind="stable")[:k]
        return ids.astype(np.int64), scores[ids].astype(np.float64)

    def search_batch(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """``search`` for each query: ids and scores of shape (n_queries, k)."""
        out = [self.search(q, k) for q in queries]
        return np.stack([o[0] for o in out]), np.stack([o[1] for o in out])

    def _index(self, docs: list[str]) -> None:
        raise NotImplementedError

    def _scores(self, query: str) -> np.ndarray:
        raise NotImplementedError
