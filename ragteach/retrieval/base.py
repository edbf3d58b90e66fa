"""The one interface every retriever has: ``index(docs)``, then ``search(query, k) → (ids, scores)``.

Bad input fails early with a message that says what to change:

- ``index([])`` → ``ValueError`` (an empty knowledge base cannot answer anything); a document with no
  words → ``ValueError`` naming it; a single string → ``TypeError`` (it would be indexed letter by letter);
- ``index`` is a transaction: if it fails, the previous index is kept whole;
- ``k`` must be a whole number in ``[1, n_docs]``;
- an empty or whitespace-only query (invisible characters count as none) → ``ValueError``; query and documents
  are compared in Unicode NFKC form (``text.normalize``), so a decomposed "côte" finds "Côte";
- a query made only of words that no document contains is *allowed*: every sparse score is 0,
  the first ``k`` documents in index order come back with score 0, and a ``UnknownQueryWarning``
  says so (a dense retriever still returns its nearest documents).
"""
from __future__ import annotations

import warnings
from typing import Callable, Sequence

import numpy as np

from ragteach.retrieval.text import normalize, tokenize


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
        """Build the index over ``docs`` (replacing any previous one); returns ``self``.
        Everything is checked first, and if building fails the previous index stays as it was."""
        if isinstance(docs, str):
            raise TypeError(f"{self.name}: index() takes a list of documents, got one string; "
                            f"write index([text]) to index it as a single document")
        docs = list(docs)
        if not docs:
            raise ValueError(f"{self.name}: index() needs at least one document; got an empty knowledge base")
        bad = [i for i, d in enumerate(docs) if not isinstance(d, str)]
        if bad:
            raise TypeError(f"{self.name}: documents must be strings; document {bad[0]} is {type(docs[bad[0]]).__name__}")
        empty = [i for i, d in enumerate(docs) if not tokenize(d)]
        if empty:
            raise ValueError(f"{self.name}: document {empty[0]} ({docs[empty[0]]!r}) has no words, so no query can "
                             f"find it; remove it or give it text ({len(empty)} such document(s))")
        return self.rebuild(docs, lambda: self._index(docs))

    def rebuild(self, docs: list[str], build: Callable[[], None]) -> "Retriever":
        """Run ``build()`` with ``self.docs = docs``; if it raises, put every attribute back as it was."""
        saved = dict(self.__dict__)
        try:
            self.docs = docs
            build()
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise
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
        if not normalize(query).strip():  # invisible characters only ("\u200b") are empty too
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

    def check_queries(self, queries: Sequence[str]) -> list[str]:
        """``queries`` as a list, each checked; one string is refused (it would be searched letter by letter)."""
        if isinstance(queries, str):
            raise TypeError(f"{self.name}: search_batch() takes a list of queries, got one string; use search()")
        return [self.check_query(q) for q in queries]

    def search_batch(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """``search`` for each query: ids and scores of shape (n_queries, k); no queries give (0, k)."""
        queries, k = self.check_queries(queries), self.check_k(k)
        if not queries:
            return np.zeros((0, k), dtype=np.int64), np.zeros((0, k), dtype=np.float64)
        out = [self.search(q, k) for q in queries]
        return np.stack([o[0] for o in out]), np.stack([o[1] for o in out])

    def _index(self, docs: list[str]) -> None:
        raise NotImplementedError

    def _scores(self, query: str) -> np.ndarray:
        raise NotImplementedError
