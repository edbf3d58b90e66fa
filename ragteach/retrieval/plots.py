"""Previews of a RAG session: p(d|x) over the retrieved documents for a few fixed questions."""
from __future__ import annotations

import textwrap
from typing import Any, Sequence

import torch
from matplotlib.figure import Figure

from ragteach.data.countries import Question
from ragteach.live.preview import Preview, new_figure, trained_with
from ragteach.retrieval.train import RAGTrainer


def doc_prob_preview(trainer: RAGTrainer, questions: Sequence[Question]) -> Preview:
    """Bars of p(d_i | x) for each question's top-K documents (the K and retriever the model was last
    trained with); the document that holds the answer is green."""

    def collect(session: Any) -> tuple[str, list[tuple[str, list[str], list[float], list[bool]]]]:
        method, k = trained_with(session, "retriever"), trained_with(session, "K")
        method = method if method != "none" else "bm25"
        with torch.no_grad():
            b = trainer.model.prepare(trainer.index, [q.text for q in questions], k, method)
        out = []
        for i, q in enumerate(questions):
            ids = b.doc_index[i].tolist()
            gold = trainer.index_gold(q)
            out.append((q.text, [trainer.index.docs[j] for j in ids], b.doc_logp[i].exp().tolist(),
                        [j == gold for j in ids]))
        return f"step {session.step}: top {k} by {method}", out

    def draw(data: tuple[str, list[tuple[str, list[str], list[float], list[bool]]]]) -> Figure:
        heading, rows = data
        fig, axes = new_figure(4.4, 3.8, ncols=len(rows))
        fig.subplots_adjust(left=0.02, right=0.98, bottom=0.1, top=0.78, wspace=0.06)
        fig.suptitle(heading, fontsize=10)
        for ax, (question, docs, probs, gold) in zip(axes, rows):
            y = range(len(docs))[::-1]
            ax.barh(list(y), probs, color=["tab:green" if g else "#cccccc" for g in gold])
            for yi, d in zip(y, docs):
                ax.text(0.01, yi, textwrap.shorten(d, 40), va="center", fontsize=8)
            ax.set_xlim(0, 1)
            ax.set_yticks([])
            ax.set_title(textwrap.fill(question, 34), fontsize=9)
            ax.set_xlabel("p(d | x)", fontsize=9)
        return fig

    return Preview("p(d|x)", collect, draw)
