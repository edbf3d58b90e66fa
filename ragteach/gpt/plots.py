"""Previews for the live GPT experiment: loss curves, a generated-text sample, the drawn p values."""
from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ragteach.gpt.train import GPTTrainer
from ragteach.live.preview import Preview, new_figure, plot_history, trained_with


def loss_preview(window: int = 20) -> Preview:
    """Train loss (moving average) and validation loss, with dashed lines where a knob changed."""

    def collect(session: Any) -> tuple[list[dict], list[Any]]:
        return list(session.history), list(session.knobs.changes)

    def draw(data: tuple[list[dict], list[Any]]) -> Figure:
        history, changes = data
        fig, (ax,) = new_figure()
        plot_history(ax, history, ["loss"], changes, window=window, title="loss (nats/char)", ylabel="cross-entropy")
        val = [(r["step"], r["val_loss"]) for r in history if "val_loss" in r]
        if val:
            ax.plot(*zip(*val), "o-", color="tab:red", label="val_loss")
            ax.legend(loc="best", fontsize=8)
        return fig

    return Preview("loss curves", collect, draw)


def text_preview(trainer: GPTTrainer, prompt: str = "def ", n_chars: int = 100) -> Preview:
    """A sample from the current model (fixed seed, so changes come from the weights and p)."""

    def collect(session: Any) -> tuple[int, str, dict]:
        used = {name: trained_with(session, name) for name in ("active_in", "source", "p") if name in session.knobs}
        return session.step, trainer.sample(prompt, n_chars, seed=0), used

    def draw(data: tuple[int, str, dict]) -> Figure:
        step, text, s = data
        fig, (ax,) = new_figure(5.6, 3.8)
        fig.subplots_adjust(left=0.03, right=0.98, bottom=0.02, top=0.86)
        ax.axis("off")
        on = s.get("active_in", "both") in ("generate", "both")
        p = f"p={s['p']:g}" if s.get("source", "fixed") == "fixed" and "p" in s else "p ~ λ·Beta(α, β)"
        ax.set_title(f"sample at step {step}, trained with {p}\nrandom units while generating: "
                     f"{'on' if on else 'off'}", fontsize=11)
        lines = []
        for line in text.splitlines() or [""]:
            lines.extend(textwrap.wrap(line, 44) or [""])
        ax.text(0.0, 1.0, "\n".join(lines[:10]), family="monospace", fontsize=11, va="top", transform=ax.transAxes)
        return fig

    return Preview("generated text", collect, draw)


def p_histogram_preview(last: int = 500) -> Preview:
    """Histogram of the p drawn at the last ``last`` steps."""

    def collect(session: Any) -> list[float]:
        return [r["p_drawn"] for r in session.history[-last:] if "p_drawn" in r]

    def draw(ps: list[float]) -> Figure:
        fig, (ax,) = new_figure()
        if ps:
            ax.hist(ps, bins=np.linspace(0, 1, 26), color="tab:purple")
            ax.axvline(float(np.mean(ps)), color="black", linestyle="--", label=f"mean {np.mean(ps):.2f}")
            ax.legend(fontsize=8)
        ax.set_xlim(0, 1)
        ax.set_xlabel("p drawn for a step")
        ax.set_ylabel("steps")
        ax.set_title(f"p of the last {len(ps)} steps")
        return fig

    return Preview("drawn p", collect, draw)
