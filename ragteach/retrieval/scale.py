"""Retrieval at scale: the same trained encoder, a million synthetic passages, exact vs approximate search.

The experiment of notebook 04's last section and of ``benchmarks/ann_scale.py``:

1. ``n`` synthetic passages from the knowledge base's templates (:mod:`ragteach.data.passages`) are encoded by
   the frozen document encoder of notebook 04 (``BagEncoder``, 64 dimensions), questions about them by the
   query encoder;
2. exact search (``IndexFlatIP``) gives the true top k of every question;
3. HNSW and IVF-PQ (with and without exact re-ranking) are built over the same vectors, and each of their
   search knobs (``ef_search``, ``nprobe``) gives one point: recall@k against exact search and the median
   single-query latency (one FAISS thread).

Besides recall against exact search, ``relevant@k`` is the share of the top k passages that state the
asked (country, relation) — i.e. whether what the approximation misses mattered for answering.
"""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from ragteach.data.countries import KnowledgeBase
from ragteach.data.passages import Passages, passage_questions, synthetic_passages
from ragteach.retrieval.ann import build_index, query_latency_ms, recall_at_k
from ragteach.retrieval.text import Vocab


def encode_passages(encoder, vocab: Vocab, texts: Sequence[str], batch: int = 4096,
                    progress: bool = True) -> np.ndarray:
    """Unit vectors (N, dim) float32 of ``texts`` (no vocabulary growth: unknown words → ``<unk>``)."""
    import torch

    from ragteach.config import progress as progress_bar
    from ragteach.retrieval.dense import encode_texts

    out = np.empty((len(texts), 0), dtype=np.float32)
    parts = []
    with torch.no_grad(), progress_bar(total=len(texts), desc="encoding passages", enabled=progress,
                                       unit="passage") as bar:
        for i in range(0, len(texts), batch):
            parts.append(encode_texts(encoder, vocab, texts[i:i + batch], grow=False, batch=batch).numpy())
            bar.update(len(parts[-1]))
    return np.concatenate(parts).astype(np.float32) if parts else out


def relevant_at_k(passages: Passages, ids: np.ndarray, asked: np.ndarray, k: int) -> float:
    """Share of the top-k passages (ids (Q, ≥k)) that state the asked (country, relation) (asked (Q, 2))."""
    facts = passages.facts[np.clip(ids[:, :k], 0, None)][..., :2]          # (Q, k, f, 2)
    hit = (facts == asked[:, None, None, :]).all(-1).any(-1) & (ids[:, :k] >= 0)
    return float(hit.mean())


def scale_experiment(kb: KnowledgeBase, doc_encoder, query_encoder, vocab: Vocab, n_passages: int,
                     n_queries: int = 1000, k: int = 10, ef_search: Sequence[int] = (16, 32, 64, 128, 256),
                     nprobe: Sequence[int] = (1, 4, 16, 64), m_links: int = 32, seed: int = 0,
                     progress: bool = True) -> dict:
    """Run the whole comparison; returns ``{"rows": [...], "n": n_passages, "dim": dim, "encode_s": s,
    "exact_batch_s": s}``; each row: index, knob, value, build s, index MB, recall@k, ms/query,
    relevant@k."""
    t = time.perf_counter()
    passages = synthetic_passages(kb, n_passages, seed=seed)
    questions, src = passage_questions(passages, n_queries, seed=seed)
    asked = passages.facts[src, 0, :2]
    vectors = encode_passages(doc_encoder, vocab, passages.texts, progress=progress)
    queries = encode_passages(query_encoder, vocab, questions, progress=False)
    encode_s = time.perf_counter() - t
    rows = []

    def add(ix, knob, value, ids, build_s, mb):
        rows.append({"index": ix.kind + ("+refine" if ix.params.get("refine") else ""), "knob": knob,
                     "value": value, "build s": build_s, "index MB": mb,
                     f"recall@{k}": recall_at_k(ids, exact_ids, k), "ms/query": query_latency_ms(ix, queries, k),
                     f"relevant@{k}": relevant_at_k(passages, ids, asked, k)})

    exact = build_index(vectors, "exact")
    t = time.perf_counter()
    exact_ids, _ = exact.search(queries, k)
    exact_batch_s = time.perf_counter() - t
    add(exact, "-", "-", exact_ids, exact.build_s, exact.nbytes / 2 ** 20)
    del exact

    hnsw = build_index(vectors, "hnsw", m_links=m_links, seed=seed)
    mb = hnsw.nbytes / 2 ** 20
    for v in ef_search:
        hnsw.set_search(ef_search=v)
        add(hnsw, "ef_search", v, hnsw.search(queries, k)[0], hnsw.build_s, mb)
    del hnsw
    for refine in (False, True):
        ivf = build_index(vectors, "ivfpq", refine=refine, seed=seed)
        mb = ivf.nbytes / 2 ** 20
        for v in nprobe:
            ivf.set_search(nprobe=v)
            add(ivf, "nprobe", v, ivf.search(queries, k)[0], ivf.build_s, mb)
        del ivf
    return {"rows": rows, "n": n_passages, "dim": vectors.shape[1], "encode_s": encode_s,
            "exact_batch_s": exact_batch_s, "n_queries": n_queries, "k": k, "example": passages.texts[0],
            "question": questions[0]}


def plot_tradeoff(result: dict, ax=None):
    """Recall@k against exact search (y) vs single-query latency in ms (x, log scale), one line per index;
    each point is one setting of its search knob. Returns the axes."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(7, 4.2))[1]
    k = result["k"]
    by_index: dict[str, list[dict]] = {}
    for r in result["rows"]:
        by_index.setdefault(r["index"], []).append(r)
    for name, rows in by_index.items():
        x = [r["ms/query"] for r in rows]
        y = [r[f"recall@{k}"] for r in rows]
        knob = "" if rows[0]["knob"] == "-" else f"; labels: {rows[0]['knob']}"
        ax.plot(x, y, "o-" if len(rows) > 1 else "s", label=f"{name} ({rows[0]['index MB']:.1f} MB{knob})", ms=6)
        for r, xi, yi in zip(rows, x, y):
            if r["knob"] != "-":
                ax.annotate(str(r["value"]), (xi, yi), textcoords="offset points", xytext=(4, -10), fontsize=8)
    from matplotlib.ticker import LogFormatterSciNotation, NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(LogFormatterSciNotation())
    ax.xaxis.set_minor_formatter(NullFormatter())            # no overlapping 2×10⁻², 3×10⁻², … labels
    ax.set_xlabel("ms per query (one thread, median)")
    ax.set_ylabel(f"recall@{k} against exact search")
    ax.set_title(f"{result['n']:,} passages, {result['dim']} dimensions: recall vs latency")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return ax


def table_rows(result: dict) -> list[dict]:
    """The result's rows formatted for :func:`ragteach.report.markdown_table`, with the speed-up of each
    index over exact search per single query (exact search is the first row)."""
    k, exact_ms = result["k"], result["rows"][0]["ms/query"]
    return [{"index": r["index"], "knob": r["knob"], "value": r["value"], "build s": f"{r['build s']:.1f}",
             "index MB": f"{r['index MB']:.1f}", f"recall@{k}": f"{r[f'recall@{k}']:.3f}",
             "ms/query": f"{r['ms/query']:.3f}", "× faster than exact": f"{exact_ms / r['ms/query']:.1f}",
             f"relevant@{k}": f"{r[f'relevant@{k}']:.3f}"} for r in result["rows"]]


def summary(result: dict, target: float = 0.95) -> list[str]:
    """One sentence per approximate index: its fastest setting with recall@k ≥ ``target`` (speed-up, size,
    relevance beside exact search's), or that no setting in the sweep reached it."""
    k = result["k"]
    exact, approx = result["rows"][0], result["rows"][1:]
    lines = []
    for name in dict.fromkeys(r["index"] for r in approx):
        ok = [r for r in approx if r["index"] == name and r[f"recall@{k}"] >= target]
        if not ok:
            top = max((r for r in approx if r["index"] == name), key=lambda r: r[f"recall@{k}"])
            lines.append(f"{name}: never reached recall@{k} ≥ {target} in this sweep (best {top[f'recall@{k}']:.3f} "
                         f"at {top['knob']}={top['value']}).")
            continue
        r = min(ok, key=lambda r: r["ms/query"])
        lines.append(f"{name}: recall@{k} {r[f'recall@{k}']:.3f} at {r['knob']}={r['value']}, "
                     f"{exact['ms/query'] / r['ms/query']:.1f}× faster per query than exact search, index "
                     f"{r['index MB']:.0f} MB vs {exact['index MB']:.0f} MB, relevant@{k} {r[f'relevant@{k}']:.3f} "
                     f"vs {exact[f'relevant@{k}']:.3f} for exact search.")
    return lines
