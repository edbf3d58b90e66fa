"""Notebook 04's lesson: the knowledge base and its split, the trained dual encoder (DPR-style pre-training,
then frozen on the document side), the index, fresh RAG / closed-book models, the two-document runs, the
verdicts, and retrieval at scale.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from ragteach.data.countries import (KnowledgeBase, Question, load_kb, split_countries, split_questions,
                                     two_doc_questions)
from ragteach.data.passages import Passages, passage_questions, synthetic_passages
from ragteach.parallel import run_jobs
from ragteach.retrieval.ann import build_index, query_latency_ms, recall_at_k
from ragteach.retrieval.decoding import exact_match, generate
from ragteach.retrieval.dense import BagEncoder, frozen_copy, train_dual_encoder
from ragteach.retrieval.generator import CopyGenerator
from ragteach.retrieval.index import RAGIndex
from ragteach.retrieval.marginals import MARGINALS
from ragteach.retrieval.rag import RAG, load_answers
from ragteach.retrieval.text import Vocab, tokenize
from ragteach.retrieval.train import RAGTrainer, rag_knobs
from ragteach.runs import Run, train_runs
from ragteach.stats import claim_word, difference, format_interval, proportion_difference

CAPACITY = 4096


@dataclass
class Setup:
    kb: KnowledgeBase
    train: list[Question]
    test: list[Question]
    vocab: Vocab
    dpr: BagEncoder             # the pre-trained dual encoder (start point of every query encoder)
    doc_encoder: BagEncoder     # its frozen copy, for documents
    dpr_losses: list[float]

    def index(self, kb: KnowledgeBase | None = None, query_encoder: torch.nn.Module | None = None) -> RAGIndex:
        """An index over ``kb`` (default: the setup's); dense queries go through ``query_encoder``."""
        return RAGIndex((kb or self.kb).docs, self.vocab, self.doc_encoder, query_encoder or self.dpr)

    def gold(self, questions: list[Question], kb: KnowledgeBase | None = None) -> list[int]:
        return [(kb or self.kb).gold(q) for q in questions]


def make_setup(kb: KnowledgeBase | None = None, dense_steps: int = 300, test_fraction: float = 0.2,
               seed: int = 0) -> Setup:
    """Split by country, build the vocabulary (documents + training questions), pre-train the dual
    encoder on training countries only (softmax over their documents), freeze a copy for documents."""
    kb = kb or load_kb()
    train, test = split_questions(kb, test_fraction, seed)
    train_c, _ = split_countries(kb, test_fraction, seed)
    vocab = Vocab((w for d in kb.docs for w in tokenize(d)), capacity=CAPACITY)
    vocab.add(w for q in train for w in tokenize(q.text))
    train_docs = [i for i, f in enumerate(kb.facts) if f.country in train_c]
    local = {d: i for i, d in enumerate(train_docs)}
    dpr = BagEncoder(CAPACITY, seed=seed)
    losses = train_dual_encoder(dpr, vocab, [q.text for q in train], [local[kb.gold(q)] for q in train],
                                [kb.docs[i] for i in train_docs], steps=dense_steps, seed=seed)
    return Setup(kb, train, test, vocab, dpr, frozen_copy(dpr), losses)


def new_rag(setup: Setup, seed: int = 0) -> RAG:
    """A RAG model: a trainable copy of the pre-trained query encoder + a fresh copy-generator whose
    output vocabulary is the training answers' words."""
    gen_words = {w for q in setup.train for w in tokenize(q.answer)}
    query = BagEncoder(CAPACITY)
    query.load_state_dict(setup.dpr.state_dict())
    return RAG(setup.vocab, query, CopyGenerator(setup.vocab, sorted(gen_words), seed=seed))


def new_closed_book(setup: Setup, seed: int = 0) -> RAG:
    """The closed-book twin: the same generator, trained with method='none' (it reads only the question)."""
    return new_rag(setup, seed)


def two_doc_split(setup: Setup, test_fraction: float = 0.2, seed: int = 0) -> tuple[list[Question], list[Question]]:
    """Two-document questions (subregion + capital) for the setup's training and held-out countries."""
    train_c, test_c = split_countries(setup.kb, test_fraction, seed)
    return two_doc_questions(setup.kb, sorted(train_c)), two_doc_questions(setup.kb, sorted(test_c))


def train_two_doc(setup: Setup, marginal: str, seed: int, steps: int, k: int = 5, retriever: str = "bm25",
                  lr: float = 3e-3, progress: bool = False) -> Run:
    """Train a fresh RAG with ``marginal`` on every training question plus the two-document ones of the
    training countries (same seed, batches and retriever for both marginals), then measure it on the held-out
    two-document questions, decoded with its own marginal. Its scores: ``em`` (exact match), ``logp`` (mean
    log p(gold answer | x)) and ``first_only`` (the share of answers that stop after the first document's part,
    the subregion)."""
    two_train, two_test = two_doc_split(setup)
    model = new_rag(setup, seed=seed)
    index = setup.index(query_encoder=model.query_encoder)
    trainer = RAGTrainer(model, index, setup.train + two_train, seed=seed)
    run = train_runs(trainer, [dict(marginal=marginal, seed=seed)], steps, steps,
                     knobs=rag_knobs(lr=lr, k=k, retriever=retriever, marginal=marginal), progress=progress,
                     desc=f"two-document, RAG-{marginal}, seed {seed}")[0]
    model.eval()
    answers = [a.text for a in generate(model, index, [q.text for q in two_test], k, retriever, marginal)]
    em = sum(exact_match(a, q.answer) for a, q in zip(answers, two_test)) / len(two_test)
    first = sum(tokenize(a) in (tokenize(q.answer.split(", ")[0]), tokenize(q.answer.split(", ")[0] + ","))
                for a, q in zip(answers, two_test)) / len(two_test)
    with torch.no_grad():
        b = model.prepare(index, [q.text for q in two_test], k, retriever)
        logp = MARGINALS[marginal](b.doc_logp, model.tok_logp(b, load_answers(model, two_test)))
    run.scores = {"em": em, "logp": float(logp.mean()), "first_only": first}
    run.trainer = None   # the table needs only the scores; the trainer holds the whole index
    return run


def two_doc_runs(setup: Setup, seeds: Sequence[int], steps: int, workers: int = 1) -> list[Run]:
    """RAG-Token and RAG-Sequence trained alike for every seed; with ``workers > 1`` the runs train side by
    side, one process of one torch thread each (:func:`ragteach.parallel.run_jobs`)."""
    jobs = {f"RAG-{marginal}, seed {seed}": dict(setup=setup, marginal=marginal, seed=seed, steps=steps)
            for seed in seeds for marginal in ("token", "sequence")}
    return list(run_jobs(train_two_doc, jobs, workers, progress=True).values())


# ----------------------------------------------------------------------------- verdicts
# Computed from the measurements, never written as prose.
# Exact-match rates are shares of n questions, so two models are compared with the normal-approximation 95 %
# interval of a difference of two proportions, ``Δ ± 1.96·sqrt(p₁(1−p₁)/n₁ + p₂(1−p₂)/n₂)`` (the same questions
# are asked of both, so this is conservative). A verdict is "holds" when the whole interval favours the claim,
# "does not hold" when it is wholly against it, and "inconclusive" otherwise.

def retrieval_helps(rag_em: float, closed_em: float, n: int) -> str:
    """Does retrieval + generation beat the same generator closed-book on held-out questions?"""
    gap = proportion_difference(rag_em, n, closed_em, n)
    return f"{claim_word(gap)}: +{100 * gap.mean:.1f} ± {100 * gap.half:.1f} points (95 % interval, n = {n})"


def retrievers_verdict(recall: Sequence[dict], k_needed: float = 0.2) -> str:
    """Which retrievers find the gold document in the top 5 at least 90 % of the time, and whether the
    top-1 of a word-matching retriever falls far (more than ``k_needed``) below its top-5."""
    ok = [r["retriever"] for r in recall if r["recall@5"] >= 0.9]
    text = f"{len(ok)} of {len(recall)} reach recall@5 ≥ 90 %" + (f" ({', '.join(ok)})" if ok else "")
    sparse = [r for r in recall if r["retriever"] in ("bm25", "tfidf")]
    gaps = [(r["recall@5"] - r["recall@1"], r["retriever"]) for r in sparse]
    if gaps and max(gaps)[0] > k_needed:
        gap, name = max(gaps)
        text += f"; {name}'s first document is right {gap:.0%} less often than its top 5: K > 1 matters"
    return text


def learned_to_retrieve(p_gold: Sequence[float], window: int = 20) -> str:
    """Did p(gold document | x) rise during joint training? Welch 95 % interval of (mean of the last
    ``window`` steps − mean of the first ``window``)."""
    if len(p_gold) < 2 * window:
        return f"inconclusive: only {len(p_gold)} steps (need {2 * window})"
    first, last = list(p_gold[:window]), list(p_gold[-window:])
    start, gap = statistics.mean(first), difference(first, last)
    verdict = claim_word(gap)
    text = f"{verdict}: p(gold doc|x) {start:.2f} → {statistics.mean(last):.2f} ({gap})"
    if verdict == "holds":
        return text + ", learned from the answer loss alone"
    return (text + f"; this run resolves only changes larger than {gap.half:.2f}, and it started at {start:.2f}, "
            f"so at most {1 - start:+.2f} was left to gain")


def marginals_differ(seq_tok: Sequence[tuple[str, float, float]], n: int) -> str:
    """RAG-Sequence vs RAG-Token exact match per retriever: does either win beyond its interval anywhere?"""
    parts = []
    for retriever, seq, tok in seq_tok:
        gap = proportion_difference(tok, n, seq, n)
        parts.append(f"{retriever}: token − sequence {100 * gap.mean:+.1f} ± {100 * gap.half:.1f}")
    clear = [p for (r, s, t), p in zip(seq_tok, parts) if proportion_difference(t, n, s, n).sign]
    head = f"differ beyond the interval for {len(clear)} of {len(seq_tok)} retrievers" if clear else \
        "inconclusive: no EM difference beyond its interval (the two sums themselves differ: tested)"
    return head + " (" + "; ".join(parts) + ")"


def swap_verdict(new_index: float, old_index: float, n: int) -> str:
    """Does re-indexing alone (no retraining) make answers follow the edited facts?"""
    gap = proportion_difference(new_index, n, old_index, n)
    return (f"{claim_word(gap)}: {new_index:.0%} follow the edit with the new index vs {old_index:.0%} "
            f"with the old ({100 * gap.mean:+.0f} ± {100 * gap.half:.0f} points, n = {n})")


def two_doc_verdict(token: Sequence[float], sequence: Sequence[float], what: str = "em") -> str:
    """One takeaway (<= 25 words) of the two-document table: RAG-Token vs RAG-Sequence over seeds (mean ± 95 %
    t-interval each, Welch interval of the gap). ``what="em"``: exact match shares; ``"logp"``: mean log p(gold|x)."""
    if what not in ("em", "logp"):
        raise ValueError(f"what must be 'em' or 'logp', got {what!r}")
    scale, digits, unit = (100, 0, " points") if what == "em" else (1, 1, " nats")
    tok, seq = [scale * v for v in token], [scale * v for v in sequence]
    gap = difference(seq, tok)
    size = f"{abs(gap.mean):.{digits}f} ± {gap.half:.{digits}f}{unit}"
    label = "Exact match" if what == "em" else "log p(gold answer|x)"
    pct = "%" if what == "em" else ""
    head = (f"{label} over {len(tok)} seeds: RAG-Token {format_interval(tok, digits)}{pct}, "
            f"RAG-Sequence {format_interval(seq, digits)}{pct}")
    if gap.sign > 0:
        return head + f"; mixing passages per token wins by {size}."
    if gap.sign < 0:
        return head + f"; RAG-Sequence wins by {size}."
    return head + f"; no clear winner: these seeds resolve only gaps over {gap.half:.{digits}f}{unit}."


# ----------------------------------------------------------------------------- retrieval at scale
# The same trained encoder, a million synthetic passages, exact vs approximate search.
# The experiment of notebook 04's last section and of ``benchmarks/ann_scale.py``:
#
# 1. ``n`` synthetic passages from the knowledge base's templates (:mod:`ragteach.data.passages`) are encoded by
#    the frozen document encoder of notebook 04 (``BagEncoder``, 64 dimensions), questions about them by the
#    query encoder;
# 2. exact search (``IndexFlatIP``) gives the true top k of every question;
# 3. HNSW and IVF-PQ (with and without exact re-ranking) are built over the same vectors, and each of their
#    search knobs (``ef_search``, ``nprobe``) gives one point: recall@k against exact search and the median
#    single-query latency (one FAISS thread).
#
# Besides recall against exact search, ``relevant@k`` is the share of the top k passages that state the
# asked (country, relation) — i.e. whether what the approximation misses mattered for answering.

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

    def sweep(ix, knob: str, values: Sequence[int]) -> None:
        """One row per value of the index's search knob (the index is freed when it returns)."""
        mb = ix.nbytes / 2 ** 20          # serialises the index: once, not per value
        for v in values:
            ix.set_search(**{knob: v})
            add(ix, knob, v, ix.search(queries, k)[0], ix.build_s, mb)

    sweep(build_index(vectors, "hnsw", m_links=m_links, seed=seed), "ef_search", ef_search)
    for refine in (False, True):
        sweep(build_index(vectors, "ivfpq", refine=refine, seed=seed), "nprobe", nprobe)
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
