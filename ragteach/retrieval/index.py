"""The knowledge base as RAG sees it: every retriever's index over the same documents, the documents'
word ids for the reader, and the frozen document vectors for p(d|x)."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn as nn

from ragteach.retrieval.bm25 import BM25Retriever
from ragteach.retrieval.dense import DenseRetriever, pad
from ragteach.retrieval.text import Vocab, tokenize
from ragteach.retrieval.tfidf import TfidfRetriever

METHODS = ("bm25", "tfidf", "dense")
K_MAX = 10


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
