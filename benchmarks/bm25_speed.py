"""BM25 indexing and query throughput: ragteach's BM25Retriever vs bm25s and rank_bm25.

Corpus: the country knowledge base (every document, repeated ``REPEAT`` times with a suffix so the
index is larger); queries: every question of notebook 04. Same tokens for all three libraries.
Prints seconds and ratios (>1 means ours is faster). Single thread.
"""
from __future__ import annotations

import time

import numpy as np

from ragteach.data.countries import load_kb, questions_for
from ragteach.retrieval.bm25 import BM25Retriever
from ragteach.retrieval.text import tokenize

REPEAT = 10


def timed(fn, repeats: int = 3) -> float:
    """Best of ``repeats`` wall-clock runs, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    import bm25s
    from rank_bm25 import BM25Okapi

    kb = load_kb()
    corpus = [tokenize(d) + [f"copy{r}"] for r in range(REPEAT) for d in kb.docs]
    queries = [tokenize(q.text) for q in questions_for(kb.facts)]
    print(f"{len(corpus)} documents, {len(queries)} queries")

    ours = BM25Retriever()
    ref = bm25s.BM25(method="lucene")
    t_ours = timed(lambda: ours.index_tokens(corpus))
    t_bm25s = timed(lambda: ref.index(corpus, show_progress=False))
    t_rank = timed(lambda: BM25Okapi(corpus), repeats=1)
    okapi = BM25Okapi(corpus)
    k = 10
    q_ours = timed(lambda: [np.argpartition(-ours.scores_tokens(q), k)[:k] for q in queries])
    q_bm25s = timed(lambda: ref.retrieve(queries, k=k, show_progress=False, n_threads=1))
    sub = queries[:300]  # rank_bm25 is slow: time 300 queries and scale
    q_rank = timed(lambda: [np.argpartition(-okapi.get_scores(q), k)[:k] for q in sub], repeats=1) * len(queries) / len(sub)

    rows = [("indexing", t_ours, t_bm25s, t_rank), (f"{len(queries)} queries, top {k}", q_ours, q_bm25s, q_rank)]
    print(f"{'':28s}{'ours':>10s}{'bm25s':>10s}{'rank_bm25':>11s}{'bm25s/ours':>12s}{'rank_bm25/ours':>16s}")
    for name, a, b, c in rows:
        print(f"{name:28s}{a:10.3f}{b:10.3f}{c:11.3f}{b / a:12.2f}{c / a:16.2f}")
    print(f"queries per second: ours {len(queries) / q_ours:,.0f}, bm25s {len(queries) / q_bm25s:,.0f}, "
          f"rank_bm25 {len(queries) / q_rank:,.0f}")


if __name__ == "__main__":
    main()
