"""Previews of a RAG session: p(d|x) over the retrieved documents for a few fixed questions."""
from __future__ import annotations

import textwrap
from typing import Any, Sequence

import torch
from matplotlib.figure import Figure

from ragteach.data.countries import Question
from ragteach.live.preview import Preview, new_figure
from ragteach.retrieval.train import RAGTrainer


def doc_prob_preview(trainer: RAGTrainer, questions: Sequence[Question]) -> Preview:
    """Bars of p(d_i | x) for each question's top-K documents (current K and retriever knobs);
    the document that holds the answer is green."""

    def collect(session: Any) -> list[tuple[str, list[str], list[float], list[bool]]]:
        knobs = session.knobs.snapshot()
        method = knobs["retriever"] if knobs["retriever"] != "none" else "bm25"
        with torch.no_grad():
            b = trainer.model.prepare(trainer.index, [q.text for q in questions], knobs["K"], method)
        out = []
        for i, q in enumerate(questions):
            ids = b.doc_index[i].tolist()
            gold = trainer.index_gold(q)
            out.append((q.text, [trainer.index.docs[j] for j in ids], b.doc_logp[i].exp().tolist(),
                        [j == gold for j in ids]))
        return out

    def draw(data: list[tuple[str, list[str], list[float], list[bool]]]) -> Figure:
        fig, axes = new_figure(3.6, 3.4, ncols=len(data))
        fig.subplots_adjust(left=0.02, right=0.98, bottom=0.08, top=0.85, wspace=0.08)
        for ax, (question, docs, probs, gold) in zip(axes, data):
            y = range(len(docs))[::-1]
            ax.barh(list(y), probs, color=["tab:green" if g else "tab:grey" for g in gold])
            for yi, d in zip(y, docs):
                ax.text(0.01, yi, textwrap.shorten(d, 34), va="center", fontsize=6)
            ax.set_xlim(0, 1)
            ax.set_yticks([])
            ax.set_title(textwrap.fill(question, 30), fontsize=8)
            ax.set_xlabel("p(d | x)", fontsize=8)
        return fig

    return Preview("p(d|x)", collect, draw)
