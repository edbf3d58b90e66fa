"""Statistics over independent runs (seeds): t-intervals of a mean and Welch intervals of a difference.

Every notebook's tables and verdicts use these, so that "±" means the same thing on every page.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Sequence

from scipy import stats as scipy_stats


def interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """(mean, half-width) of the t-interval  x̄ ± t_{n−1,(1+c)/2} · s / √n  over independent runs.
    One value gives half-width ``inf``: one seed says nothing about the spread."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("need at least one value")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, math.inf
    t = scipy_stats.t.ppf((1 + confidence) / 2, len(values) - 1)
    return mean, float(t * statistics.stdev(values) / math.sqrt(len(values)))


def format_interval(values: Sequence[float], digits: int = 1) -> str:
    """'mean ± half-width' of the 95 % t-interval, or 'mean (1 run)'."""
    mean, half = interval(values)
    return f"{mean:.{digits}f} (1 run)" if math.isinf(half) else f"{mean:.{digits}f} ± {half:.{digits}f}"


@dataclass(frozen=True)
class Difference:
    """mean(b) − mean(a) with its 95 % Welch t-interval; ``sign`` is +1 or −1 when the whole interval
    lies on that side of 0, and 0 when it contains 0 (no clear difference at this number of seeds)."""

    diff: float
    half: float

    @property
    def sign(self) -> int:
        if math.isinf(self.half) or math.isnan(self.half):
            return 0
        return 1 if self.diff - self.half > 0 else -1 if self.diff + self.half < 0 else 0

    def __str__(self) -> str:
        return f"{self.diff:+.2f} ± {self.half:.2f}" if math.isfinite(self.half) else f"{self.diff:+.2f} (1 run)"


def difference(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Difference:
    """Welch's interval for mean(b) − mean(a): d ± t_ν · √(s_a²/n_a + s_b²/n_b), ν by Welch–Satterthwaite.
    If neither group varies, the difference is exact (half-width 0)."""
    a, b = [float(v) for v in a], [float(v) for v in b]
    if not a or not b:
        raise ValueError("both groups need at least one value")
    d = statistics.fmean(b) - statistics.fmean(a)
    if len(a) < 2 or len(b) < 2:
        return Difference(d, math.inf)
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    if va + vb == 0:
        return Difference(d, 0.0)
    nu = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    return Difference(d, float(scipy_stats.t.ppf((1 + confidence) / 2, nu) * math.sqrt(va + vb)))


def rank_auc(higher: Sequence[float], lower: Sequence[float]) -> float:
    """P(a > b) + ½ P(a = b) for a drawn from ``higher`` and b from ``lower``: the Mann-Whitney U statistic
    #{(i, j): a_i > b_j} (ties count one half) divided by its maximum n·m, computed from the ranks of the
    pooled values. 0.5: the two cannot be told apart by ordering; 1.0: every a lies above every b."""
    a, b = [float(v) for v in higher], [float(v) for v in lower]
    if not a or not b:
        raise ValueError("rank_auc needs at least one value on each side")
    ranks = scipy_stats.rankdata(a + b)
    u = float(ranks[:len(a)].sum()) - len(a) * (len(a) + 1) / 2
    return u / (len(a) * len(b))
