"""Approximate nearest-neighbour indexes (ragteach.retrieval.ann) on 5,000 encoded synthetic passages."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ragteach.data.countries import load_kb
from ragteach.data.passages import passage_questions, synthetic_passages
from ragteach.retrieval.ann import ANNRetriever, build_index, query_latency_ms, recall_at_k
from ragteach.retrieval.dense import BagEncoder
from ragteach.lessons.retrieval_generation import encode_passages, relevant_at_k
from ragteach.retrieval.text import Vocab, tokenize


@pytest.fixture(scope="module")
def kb():
    return load_kb()


@pytest.fixture(scope="module")
def data(kb):
    """5,000 passages and 200 questions through a fixed-seed BagEncoder (untrained: the index test needs
    realistic vectors, not a good retriever)."""
    torch.manual_seed(0)
    vocab = Vocab((w for d in kb.docs for w in tokenize(d)), capacity=4096)
    passages = synthetic_passages(kb, 5000, seed=0)
    questions, src = passage_questions(passages, 200, seed=0)
    vocab.add(w for q in questions for w in tokenize(q))
    enc = BagEncoder(4096, seed=0)
    vectors = encode_passages(enc, vocab, passages.texts, progress=False)
    queries = encode_passages(enc, vocab, questions, progress=False)
    exact_ids, _ = build_index(vectors, "exact").search(queries, 10)
    return dict(vocab=vocab, passages=passages, questions=questions, src=src, enc=enc, vectors=vectors,
                queries=queries, exact_ids=exact_ids)


def test_passages_use_only_knowledge_base_words_and_are_reproducible(kb, data):
    p = data["passages"]
    assert len(p) == 5000 and p.facts.shape == (5000, 2, 3)
    assert synthetic_passages(kb, 50, seed=0).texts == p.texts[:50]
    assert synthetic_passages(kb, 50, seed=1).texts != p.texts[:50]
    ids = [i for t in p.texts[:500] for i in data["vocab"].ids(tokenize(t))]
    assert 1 not in ids, "a passage word is unknown to the encoder's vocabulary"
    assert len(set(p.texts)) > 4990
    c, r, v = p.facts[0, 0]
    assert p.countries[c] in p.texts[0] and p.values[("capital", "currency", "subregion", "demonym")[r]][v] in p.texts[0]


def test_exact_index_is_brute_force(data):
    ids, scores = build_index(data["vectors"], "exact").search(data["queries"][:20], 10)
    brute = data["queries"][:20] @ data["vectors"].T
    np.testing.assert_allclose(scores, np.sort(brute, 1)[:, ::-1][:, :10], rtol=1e-4, atol=1e-5)
    assert recall_at_k(ids, np.argsort(-brute, 1)[:, :10], 10) >= 0.99   # ties may swap at the boundary


def test_hnsw_recall_at_10_is_high_and_grows_with_ef_search(data):
    ix = build_index(data["vectors"], "hnsw", m_links=32, ef_construction=64)
    recall = []
    for ef in (8, 64):
        ix.set_search(ef_search=ef)
        ids, _ = ix.search(data["queries"], 10)
        recall.append(recall_at_k(ids, data["exact_ids"], 10))
    assert recall[1] >= 0.9 and recall[0] < recall[1], recall


def test_ivfpq_compresses_and_refine_recovers_recall(data):
    exact = build_index(data["vectors"], "exact")
    ivf = build_index(data["vectors"], "ivfpq", nlist=64, pq_m=16, nbits=6, nprobe=1)
    refined = build_index(data["vectors"], "ivfpq", nlist=64, pq_m=16, nbits=6, nprobe=1, refine=True, k_factor=8)
    assert ivf.nbytes < exact.nbytes / 4                        # 12 bytes of codes + an 8-byte id vs 256 bytes
    r = {}
    for name, ix in (("ivf", ivf), ("refined", refined)):
        for nprobe in (1, 64):
            ix.set_search(nprobe=nprobe)
            r[name, nprobe] = recall_at_k(ix.search(data["queries"], 10)[0], data["exact_ids"], 10)
    assert r["ivf", 1] < r["ivf", 64] and r["refined", 1] < r["refined", 64]
    assert r["refined", 64] >= 0.95 > r["ivf", 64], r          # PQ alone is capped by its quantisation error


def test_relevant_at_k_counts_passages_that_state_the_asked_pair(data):
    p, src = data["passages"], data["src"]
    asked = p.facts[src, 0, :2]
    assert relevant_at_k(p, src[:, None], asked, 1) == 1.0
    other = (src + 1) % len(p)
    assert relevant_at_k(p, other[:, None], asked, 1) < 0.2
    assert relevant_at_k(p, np.full((len(src), 1), -1), asked, 1) == 0.0   # FAISS pads missing hits with -1


def test_recall_at_k_by_hand():
    assert recall_at_k(np.array([[1, 2, 3]]), np.array([[3, 2, 9]]), 3) == pytest.approx(2 / 3)
    assert recall_at_k(np.array([[1, 2], [5, 6]]), np.array([[1, 7], [6, 5]]), 1) == 0.5


@pytest.mark.parametrize("call, match", [
    (lambda v: build_index(np.zeros((0, 4)), "exact"), "non-empty 2-D"),
    (lambda v: build_index(v[0], "exact"), "non-empty 2-D"),
    (lambda v: build_index(np.array([[np.nan, 1.0]]), "exact"), "NaN"),
    (lambda v: build_index(v, "lsh"), "kind must be one of"),
    (lambda v: build_index(v[:100], "ivfpq"), "at least 256 vectors"),
    (lambda v: build_index(v, "ivfpq", pq_m=5), "pq_m must divide"),
    (lambda v: build_index(v, "ivfpq", nlist=10 ** 6), "nlist must be in"),
    (lambda v: build_index(v[:50], "exact").search(v[:2], 0), "k must be a whole number in"),
    (lambda v: build_index(v[:50], "exact").search(v[:2, :10], 3), "dimensions"),
    (lambda v: build_index(v[:50], "hnsw").set_search(nprobe=4), "no search parameter"),
    (lambda v: build_index(v[:50], "hnsw").set_search(ef_search=0), ">= 1"),
    (lambda v: recall_at_k(np.zeros((2, 3)), np.zeros((3, 3)), 3), "same number of queries"),
    (lambda v: recall_at_k(np.zeros((2, 3)), np.zeros((2, 3)), 4), "k must be"),
    (lambda v: synthetic_passages(load_kb(), 0), "whole number >= 1"),
])
def test_bad_input_says_what_to_change(data, call, match):
    with pytest.raises(ValueError, match=match):
        call(data["vectors"])


def test_latency_restores_faiss_threads(data):
    import faiss

    before = faiss.omp_get_max_threads()
    assert query_latency_ms(build_index(data["vectors"][:500], "exact"), data["queries"], max_queries=5) > 0
    assert faiss.omp_get_max_threads() == before


def test_ann_retriever_keeps_the_retriever_interface(kb, data):
    vocab = Vocab((w for d in kb.docs for w in tokenize(d)), capacity=4096)
    vocab.add(w for q in data["questions"] for w in tokenize(q))
    enc = BagEncoder(4096, seed=0)

    def encode(texts, docs):
        return encode_passages(enc, vocab, texts, progress=False)
    exact = ANNRetriever(encode, kind="exact").index(kb.docs)
    hnsw = ANNRetriever(encode, kind="hnsw", ef_search=128).index(kb.docs)
    q = "What is the capital of France?"
    ids, scores = hnsw.search(q, 5)
    assert ids.shape == (5,) and ids.dtype == np.int64 and np.all(np.diff(scores) <= 1e-6)
    np.testing.assert_allclose(scores, hnsw._scores(q)[ids], rtol=1e-4, atol=1e-5)
    e_ids, _ = exact.search_batch(data["questions"][:50], 10)
    h_ids, _ = hnsw.search_batch(data["questions"][:50], 10)
    assert recall_at_k(h_ids, e_ids, 10) >= 0.9
    with pytest.raises(ValueError, match="empty"):
        hnsw.search("  ", 3)
    with pytest.raises(ValueError, match="k must be"):
        hnsw.search(q, len(kb.docs) + 1)
    with pytest.raises(RuntimeError, match="index"):
        ANNRetriever(encode).search(q, 3)
    with pytest.raises(ValueError, match="kind"):
        ANNRetriever(lambda texts, docs: np.zeros((len(texts), 4)), kind="annoy")
