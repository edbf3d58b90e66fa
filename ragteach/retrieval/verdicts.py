"""Notebook 04's verdicts, computed from its measurements (never written as prose).

Exact-match rates are shares of n questions, so two models are compared with the normal-approximation 95 %
interval of a difference of two proportions, ``Δ ± 1.96·sqrt(p₁(1−p₁)/n₁ + p₂(1−p₂)/n₂)`` (the same questions
are asked of both, so this is conservative). A verdict is "holds" when the whole interval favours the claim,
"does not hold" when it is wholly against it, and "inconclusive" otherwise.
"""
from __future__ import annotations

import statistics
from typing import Sequence

from ragteach.stats import claim_word, difference, format_interval, proportion_difference


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
