"""An interactive plotly view of finished toy-GAN runs: modes captured and high-quality share over training.

One line per run (seed), grouped by method, so a learner can hover over any point to read the seed, the step and
both scores, click a legend entry to hide a method, and switch between the ring and the grid with the buttons.
A plain ``plotly.graph_objects.Figure`` (no FigureWidget, no kernel callbacks): it works in JupyterLab, in Colab
and on the static website alike. No Jupyter import here: a notebook shows it with ``fig.show()``.
"""
from __future__ import annotations

from typing import Any, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

COLOURS = ["#1f77b4", "#2ca02c", "#9467bd", "#d62728", "#ff7f0e", "#8c564b"]


def coverage_figure(runs: Sequence[Any], ceilings: Sequence[dict[str, Any]] = ()) -> go.Figure:
    """Modes captured (top) and high-quality % (bottom) against the training step, one line per run.

    runs: records with settings ``method``, ``mixture``, ``seed`` and curves ``modes`` and ``high_quality`` (a share in
    [0, 1]), e.g. toy :class:`ragteach.runs.Run` records. ceilings: rows with ``mixture``, ``modes_mean`` and
    ``hq_mean`` (real data scored the same way), drawn as dotted lines."""
    if not runs:
        raise ValueError("coverage_figure needs at least one run")
    mixtures = list(dict.fromkeys(r["mixture"] for r in runs))
    methods = list(dict.fromkeys(r["method"] for r in runs))
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("modes captured", "high-quality samples %"))
    owner: list[str] = []  # the mixture of each trace, for the buttons
    for mixture in mixtures:
        for m, method in enumerate(methods):
            colour = COLOURS[m % len(COLOURS)]
            for i, run in enumerate(r for r in runs if r["mixture"] == mixture and r["method"] == method):
                hq = [100 * h for h in run.curve("high_quality")]
                text = [f"{method}, seed {run['seed']}<br>step {s}: {mo} modes, {h:.1f} % high quality"
                        for s, mo, h in zip(run.curve("step"), run.curve("modes"), hq)]
                for row, values in ((1, run.curve("modes")), (2, hq)):
                    fig.add_trace(go.Scatter(x=run.curve("step"), y=values, mode="lines+markers", line=dict(color=colour),
                                             marker=dict(size=4), name=method, legendgroup=method,
                                             showlegend=(i == 0 and row == 1), hovertext=text, hoverinfo="text",
                                             visible=mixture == mixtures[0]), row=row, col=1)
                    owner.append(mixture)
        for row, key in ((1, "modes_mean"), (2, "hq_mean")):
            ceiling = next((c[key] for c in ceilings if c.get("mixture") == mixture), None)
            if ceiling is None:
                continue
            steps = [s for r in runs if r["mixture"] == mixture for s in r.curve("step")]
            fig.add_trace(go.Scatter(x=[min(steps), max(steps)], y=[ceiling, ceiling], mode="lines",
                                     line=dict(color="black", dash="dot"), name="real data", legendgroup="real",
                                     showlegend=row == 1, hovertext=f"real data: {ceiling:.1f}", hoverinfo="text",
                                     visible=mixture == mixtures[0]), row=row, col=1)
            owner.append(mixture)
    buttons = [dict(label=mixture, method="update",
                    args=[{"visible": [o == mixture for o in owner]}, {"title.text": f"{mixture}: every run"}])
               for mixture in mixtures]
    fig.update_layout(title=f"{mixtures[0]}: every run", height=560, hovermode="closest",
                      updatemenus=[dict(type="buttons", direction="right", buttons=buttons, x=1, y=1.13,
                                        xanchor="right")] if len(mixtures) > 1 else [],   # the title is on the left
                      margin=dict(t=90, l=50, r=20, b=40))
    fig.update_xaxes(title_text="step", row=2, col=1)
    return fig
