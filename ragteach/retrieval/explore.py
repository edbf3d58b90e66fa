"""An interactive map of the dense retriever's space: documents and questions as points, hover to read them.

The dual encoder puts every text on the unit sphere in 64 dimensions; the map projects documents and questions
onto the two directions along which the documents vary most (PCA, fitted on the documents). Documents are coloured
by the relation they state; held-out questions are drawn as crosses, each joined to the document that answers it,
so a learner sees whether a question lands next to its answer. A plain ``plotly.graph_objects.Figure``: it works in
JupyterLab, in Colab and on the static website. No Jupyter import here.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def pca_2d(fit_on: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Project ``fit_on`` and each array of ``others`` onto the top two principal directions of ``fit_on``."""
    fit_on = np.asarray(fit_on, dtype=np.float64)
    if fit_on.ndim != 2 or len(fit_on) < 3:
        raise ValueError(f"need at least 3 vectors (N, dim) to fit the projection, got shape {fit_on.shape}")
    mean = fit_on.mean(0)
    _, _, vt = np.linalg.svd(fit_on - mean, full_matrices=False)
    return [(np.asarray(x, dtype=np.float64) - mean) @ vt[:2].T for x in (fit_on, *others)]


def embedding_map(doc_vectors: np.ndarray, docs: Sequence[str], relations: Sequence[str],
                  q_vectors: np.ndarray, questions: Sequence[str], gold: Sequence[int]) -> go.Figure:
    """Documents (dots, coloured by relation) and questions (crosses, a grey line to the gold document)."""
    if len(doc_vectors) != len(docs) or len(docs) != len(relations):
        raise ValueError("doc_vectors, docs and relations must have the same length")
    if len(q_vectors) != len(questions) or len(questions) != len(gold):
        raise ValueError("q_vectors, questions and gold must have the same length")
    d2, q2 = pca_2d(doc_vectors, q_vectors)
    fig = go.Figure()
    for i, rel in enumerate(dict.fromkeys(relations)):
        idx = [j for j, r in enumerate(relations) if r == rel]
        fig.add_trace(go.Scatter(x=d2[idx, 0], y=d2[idx, 1], mode="markers", name=f"documents: {rel}",
                                 marker=dict(size=5, color=COLOURS[i % len(COLOURS)], opacity=0.6),
                                 hovertext=[docs[j] for j in idx], hoverinfo="text"))
    xs, ys = [], []
    for (qx, qy), g in zip(q2, gold):
        xs += [qx, d2[g, 0], None]
        ys += [qy, d2[g, 1], None]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color="grey", width=0.7), hoverinfo="skip",
                             name="question → its answer's document"))
    fig.add_trace(go.Scatter(x=q2[:, 0], y=q2[:, 1], mode="markers", name="held-out questions",
                             marker=dict(symbol="x", size=8, color="black"),
                             hovertext=[f"{q}<br>answer in: {docs[g]}" for q, g in zip(questions, gold)],
                             hoverinfo="text"))
    fig.update_layout(title="the dense retriever's space (PCA of the document vectors)", height=560,
                      xaxis_title="principal direction 1", yaxis_title="principal direction 2",
                      hovermode="closest", margin=dict(t=60, l=50, r=20, b=40))
    return fig
