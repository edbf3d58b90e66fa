"""Approximate nearest-neighbour search: what changes when the knowledge base has a million passages.

Exact maximum inner-product search (``faiss.IndexFlatIP``) scores every passage: ``score(q, d) = ⟨q, d⟩`` for
all N, so a query costs N·dim multiply-adds — 64 M for a million 64-dimensional vectors, 16 G for Lewis et al.'s
21 M passages of 768 dimensions. Approximate indexes look at a small part of the collection and may miss a
true neighbour; the price is measured by **recall@k against exact search**:

    recall@k = mean over queries of |approx top-k ∩ exact top-k| / k

- **HNSW** (``faiss.IndexHNSWFlat``, Malkov & Yashunin 2016, the index of RAG's released code): a graph whose
  nodes are the vectors, each linked to about ``M`` near neighbours, in layers — every vector is on layer 0, and
  on layer l+1 with probability 1/M, so the top layers are a sparse "highway". A search enters at the top, walks
  greedily to the neighbour closest to the query, drops a layer, and on layer 0 keeps a beam of the ``efSearch``
  best candidates, expanding their links until the beam stops improving. It visits roughly ``efSearch · M · log N``
  vectors instead of N; larger ``efSearch`` → higher recall, slower queries. Building inserts each vector with the
  same search (beam ``efConstruction``); memory: the vectors plus about ``2·M`` links of 4 bytes per vector.
- **IVF-PQ** (``faiss.IndexIVFPQ``, Jégou et al. 2011): an **inverted file** — k-means on a training sample
  gives ``nlist`` centroids c_j, and each vector is stored in the list of its nearest centroid; a query scans only
  the ``nprobe`` lists whose centroids score highest. Inside a list, each vector is **product-quantised**: its
  residual ``r = x − c_j`` is cut into ``m`` sub-vectors of ``dim/m`` numbers, and each sub-vector is replaced by
  the id of the nearest of 2^``nbits`` sub-centroids (k-means per sub-space), so a vector takes ``m·nbits/8``
  bytes (16 bytes here instead of 256). The score is approximated from look-up tables computed once per query:
  ``⟨q, x⟩ ≈ ⟨q, c_j⟩ + Σ_s ⟨q_s, C_s[code_s]⟩``. Memory is ~10× smaller, but the quantisation error caps recall
  unless the top candidates are re-scored with the exact vectors (``refine``: ``faiss.IndexRefineFlat``
  re-ranks ``k · k_factor`` PQ candidates exactly, at the cost of keeping the full vectors).

:class:`ANNRetriever` puts any of them behind the project's retriever interface (``index(docs)``, then
``search(query, k) → (ids, scores)``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from ragteach.retrieval.base import Retriever

KINDS = ("exact", "hnsw", "ivfpq")


def as_vectors(x: np.ndarray, name: str = "vectors", dim: int | None = None) -> np.ndarray:
    """``x`` as a C-contiguous float32 (n, dim) array; clear errors for anything else."""
    a = np.asarray(x)
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array (n, dim), got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.number):
        raise TypeError(f"{name} must hold numbers, got dtype {a.dtype}")
    if dim is not None and a.shape[1] != dim:
        raise ValueError(f"{name} have {a.shape[1]} dimensions but the index holds {dim}-dimensional vectors")
    a = np.ascontiguousarray(a, dtype=np.float32)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contain NaN or infinite values")
    return a


@dataclass
class ANNIndex:
    """A built FAISS index with what it cost: ``build_s`` seconds, ``nbytes`` (its serialised size)."""

    kind: str
    index: object
    dim: int
    n: int
    build_s: float
    params: dict = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        import faiss

        return int(faiss.serialize_index(self.index).nbytes)

    def set_search(self, **params: int) -> "ANNIndex":
        """The search-time knob: ``ef_search`` (HNSW) or ``nprobe`` (IVF-PQ); the exact index has none."""
        import faiss

        allowed = {"exact": set(), "hnsw": {"ef_search"}, "ivfpq": {"nprobe", "k_factor"}}[self.kind]
        bad = set(params) - allowed
        if bad:
            raise ValueError(f"{self.kind} has no search parameter {sorted(bad)}; it has {sorted(allowed) or 'none'}")
        for key, value in params.items():
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{key} must be a whole number >= 1, got {value!r}")
        if "ef_search" in params:
            self.index.hnsw.efSearch = int(params["ef_search"])
        if "nprobe" in params:
            faiss.extract_index_ivf(self.index).nprobe = min(int(params["nprobe"]), self.params["nlist"])
        if "k_factor" in params:
            if not self.params.get("refine"):
                raise ValueError("k_factor needs an index built with refine=True")
            self.index.k_factor = float(params["k_factor"])
        self.params.update(params)
        return self

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Ids (Q, k) int64 and scores (Q, k) float64 of the best ``k`` vectors per query, best first."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= self.n:
            raise ValueError(f"k must be a whole number in [1, {self.n}] (the number of indexed vectors), got {k!r}")
        scores, ids = self.index.search(as_vectors(queries, "queries", self.dim), int(k))
        return ids.astype(np.int64), scores.astype(np.float64)


def build_index(vectors: np.ndarray, kind: str = "hnsw", *, m_links: int = 32, ef_construction: int = 64,
                ef_search: int = 64, nlist: int | None = None, pq_m: int | None = None, nbits: int = 8,
                nprobe: int = 16, refine: bool = False, k_factor: int = 4, train_size: int | None = None,
                seed: int = 0) -> ANNIndex:
    """Build an ``exact`` (IndexFlatIP), ``hnsw`` (IndexHNSWFlat, inner product) or ``ivfpq`` (IndexIVFPQ,
    inner product; ``nlist`` lists, default ≈ √N; ``pq_m`` sub-quantisers, default dim/4; ``refine`` re-ranks
    exactly; k-means trains on ``train_size`` vectors, default 40 per centroid) index over ``vectors`` (n, dim), with every FAISS thread. Returns it with its build time."""
    import faiss

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    x = as_vectors(vectors)
    n, dim = x.shape
    params: dict = {}
    t = time.perf_counter()
    if kind == "exact":
        index = faiss.IndexFlatIP(dim)
        index.add(x)
    elif kind == "hnsw":
        if m_links < 2 or ef_construction < 1:
            raise ValueError(f"HNSW needs m_links >= 2 and ef_construction >= 1, got {m_links}, {ef_construction}")
        index = faiss.IndexHNSWFlat(dim, m_links, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
        index.add(x)
        index.hnsw.efSearch = ef_search
        params = {"m_links": m_links, "ef_construction": ef_construction, "ef_search": ef_search}
    else:
        nlist = nlist or max(1, int(np.sqrt(n)))
        pq_m = pq_m or max(1, dim // 4)
        if dim % pq_m:
            raise ValueError(f"pq_m must divide the dimension {dim}, got {pq_m}")
        if not 1 <= nlist <= n:
            raise ValueError(f"nlist must be in [1, {n}] (the number of vectors), got {nlist}")
        need = max(nlist, 2 ** nbits)
        if n < need:
            raise ValueError(f"IVF-PQ with nlist={nlist} and nbits={nbits} needs at least {need} vectors to train "
                             f"its k-means, got {n}: use the exact or HNSW index, or lower nlist / nbits")
        quantizer = faiss.IndexFlatIP(dim)
        ivf = faiss.IndexIVFPQ(quantizer, dim, nlist, pq_m, nbits, faiss.METRIC_INNER_PRODUCT)
        train_size = min(n, train_size or 40 * max(nlist, 2 ** nbits))
        sample = np.random.default_rng(seed).choice(n, size=train_size, replace=False)
        ivf.cp.seed = seed
        ivf.pq.cp.seed = seed
        ivf.train(x[np.sort(sample)])
        ivf.nprobe = min(nprobe, nlist)
        index = ivf
        if refine:
            index = faiss.IndexRefineFlat(ivf)
            index.k_factor = float(k_factor)
        index.add(x)
        params = {"nlist": nlist, "pq_m": pq_m, "nbits": nbits, "nprobe": min(nprobe, nlist), "refine": refine}
        if refine:
            params["k_factor"] = k_factor
    return ANNIndex(kind, index, dim, n, time.perf_counter() - t, params)


def recall_at_k(approx_ids: np.ndarray, exact_ids: np.ndarray, k: int) -> float:
    """``mean_q |approx_q[:k] ∩ exact_q[:k]| / k`` (1 = the approximate top k is the exact top k)."""
    a, e = np.asarray(approx_ids), np.asarray(exact_ids)
    if a.ndim != 2 or e.ndim != 2 or a.shape[0] != e.shape[0] or a.shape[0] == 0:
        raise ValueError(f"approx_ids and exact_ids must be (n_queries, k) arrays with the same number of "
                         f"queries, got shapes {a.shape} and {e.shape}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= min(a.shape[1], e.shape[1]):
        raise ValueError(f"k must be a whole number in [1, {min(a.shape[1], e.shape[1])}], got {k!r}")
    hits = sum(len(set(ar[:k].tolist()) & set(er[:k].tolist())) for ar, er in zip(a, e))
    return hits / (k * a.shape[0])


def query_latency_ms(index: ANNIndex, queries: np.ndarray, k: int = 10, threads: int = 1,
                     max_queries: int = 300) -> float:
    """Median milliseconds to answer one query at a time (what one learner's question costs), with
    ``threads`` FAISS threads (restored afterwards), over at most ``max_queries`` queries."""
    import faiss

    q = as_vectors(queries, "queries", index.dim)[:max_queries]
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(threads)
    try:
        index.search(q[:1], k)                          # warm-up
        times = []
        for row in q:
            t = time.perf_counter()
            index.index.search(row[None], k)
            times.append(time.perf_counter() - t)
    finally:
        faiss.omp_set_num_threads(before)
    return 1000 * float(np.median(times))


class ANNRetriever(Retriever):
    """Dense retrieval through an approximate index, behind the common interface: ``encode(texts, docs)``
    maps texts to unit vectors (``docs=True`` for documents), ``kind`` and ``params`` go to
    :func:`build_index`. ``search`` returns the approximate top k; ``_scores`` the exact scores of all docs."""

    name = "ann"

    def __init__(self, encode: Callable[[list[str], bool], np.ndarray], kind: str = "hnsw", **params) -> None:
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        self.encode, self.kind, self.params = encode, kind, params
        self.name = f"ann-{kind}"

    def _index(self, docs: list[str]) -> None:
        self.doc_vectors = as_vectors(self.encode(docs, True), "document vectors")
        self.ann = build_index(self.doc_vectors, self.kind, **self.params)

    def _scores(self, query: str) -> np.ndarray:
        return self.doc_vectors @ as_vectors(self.encode([query], False), "query vector")[0]

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        ids, scores = self.search_batch([query], k)
        return ids[0], scores[0]

    def search_batch(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        k = self.check_k(k)
        queries = [self.check_query(q) for q in queries]
        if not queries:
            raise ValueError("search_batch needs at least one query")
        return self.ann.search(self.encode(queries, False), k)
