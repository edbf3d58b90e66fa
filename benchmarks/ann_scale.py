"""Retrieval over a million passages: exact search vs HNSW vs IVF-PQ (FAISS), with notebook 04's encoder.

The dual encoder of notebook 04 is trained as there (``make_setup``: 300 steps on the training countries); one
million synthetic passages built from the knowledge base's templates (two sentences each, see
``ragteach/data/passages.py``) go through its frozen document encoder, 1,000 template questions through its
query encoder. Exact inner-product search gives the true top 10; every approximate index is built over the same
vectors and each setting of its search knob is one row: build time, index size (serialised), recall@10 against
exact search, median latency of a single query on one FAISS thread (and the speed-up over exact search), and
relevant@10 (share of the top 10 that state the asked country and relation).

Run: ``.venv/bin/python benchmarks/ann_scale.py`` (a few minutes on 2 cores; ``--passages 200000`` for less;
``--plot artifacts/ann_scale.png`` also draws recall vs latency).
"""
from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

import torch

from ragteach.report import markdown_table
from ragteach.lessons.retrieval_generation import make_setup
from ragteach.lessons.retrieval_generation import plot_tradeoff, scale_experiment, summary, table_rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--passages", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--plot", type=Path, help="save the recall-vs-latency plot to this PNG")
    args = ap.parse_args()
    if args.passages < 1000 or args.queries < 1:
        ap.error("--passages must be >= 1000 and --queries >= 1")
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores (timings are wall clock)")

    t = time.perf_counter()
    S = make_setup(dense_steps=300)
    print(f"dual encoder trained in {time.perf_counter() - t:.0f} s ({len(S.kb)} knowledge-base documents)")
    res = scale_experiment(S.kb, S.doc_encoder, S.dpr, S.vocab, args.passages, args.queries)
    print(f"{res['n']:,} passages of {res['dim']} dimensions generated and encoded in {res['encode_s']:.0f} s; "
          f"e.g. {res['example']!r}; question e.g. {res['question']!r}")
    print(markdown_table(table_rows(res)))
    print(f"exact search of all {res['n_queries']} queries in one batch (all threads): {res['exact_batch_s']:.2f} s")
    for line in summary(res):
        print(line)
    print(f"peak memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
          f"load average after: {os.getloadavg()[0]:.2f}")
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        ax = plot_tradeoff(res)
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        ax.figure.savefig(args.plot, dpi=120, bbox_inches="tight")
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
