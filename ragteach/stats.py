"""Statistics over independent runs (seeds): t-intervals of a mean, intervals of a difference, verdict words.

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
    """A measured difference ``mean ± half`` (95 % interval). ``sign`` is +1 or −1 when the whole interval
    lies on that side of 0, and 0 when it contains 0 (no clear difference at this number of seeds)."""

    mean: float
    half: float
    digits: int = 2

    @property
    def lo(self) -> float:
        return self.mean - self.half

    @property
    def hi(self) -> float:
        return self.mean + self.half

    @property
    def sign(self) -> int:
        if math.isinf(self.half) or math.isnan(self.half):
            return 0
        return 1 if self.lo > 0 else -1 if self.hi < 0 else 0

    def __neg__(self) -> "Difference":
        return Difference(-self.mean, self.half, self.digits)

    def __str__(self) -> str:
        n = self.digits
        return f"{self.mean:+.{n}f} ± {self.half:.{n}f}" if math.isfinite(self.half) else f"{self.mean:+.{n}f} (1 run)"


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


def paired_difference(a: Sequence[float], b: Sequence[float], confidence: float = 0.95,
                      digits: int = 3) -> Difference:
    """``mean(b − a) ± t_{n−1}·sd/√n`` over paired measurements (e.g. the same validation batches)."""
    if len(a) != len(b) or len(a) < 2:
        raise ValueError(f"need two paired lists of >= 2 measurements, got {len(a)} and {len(b)}")
    d = [float(y) - float(x) for x, y in zip(a, b)]
    t = float(scipy_stats.t.ppf((1 + confidence) / 2, len(d) - 1))
    return Difference(statistics.fmean(d), t * statistics.stdev(d) / math.sqrt(len(d)), digits)


def proportion_difference(p1: float, n1: int, p2: float, n2: int) -> Difference:
    """p1 − p2 for shares p1 of n1 and p2 of n2, with the normal-approximation 95 % interval
    ``± 1.96·sqrt(p₁(1−p₁)/n₁ + p₂(1−p₂)/n₂)`` (conservative when the same questions are asked of both)."""
    for p, n in ((p1, n1), (p2, n2)):
        if not 0 <= p <= 1 or n < 1:
            raise ValueError(f"shares must be in [0, 1] over n >= 1 questions, got {p} over {n}")
    return Difference(p1 - p2, 1.96 * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2))


# ----------------------------------------------------------------------------- verdict words
@dataclass(frozen=True)
class Verdict:
    """A verdict word ('holds', 'does not hold', 'mixed', 'inconclusive') and the measured reason."""

    word: str
    reason: str

    def __str__(self) -> str:
        return f"{self.word}: {self.reason}"


def claim_word(gain: Difference, guard: Difference | None = None) -> str:
    """'holds' / 'does not hold' / 'inconclusive' from the interval of a difference oriented so that
    positive favours the claim (``gain``), and optionally of a quality ``guard`` (positive = not worse).

    - the guard clearly < 0 (the claimant is clearly worse on quality) → does not hold, whatever the gain;
    - else gain clearly > 0 → holds; gain clearly < 0 → does not hold;
    - else (gain's interval contains 0) → inconclusive."""
    if guard is not None and guard.sign < 0:
        return "does not hold"
    return "holds" if gain.sign > 0 else "does not hold" if gain.sign < 0 else "inconclusive"


def cost_verdict(cost: Difference, tolerance: float = 0.05, unit: str = "nats/char") -> str:
    """Is a cost (e.g. a loss increase, 95 % interval) within ``tolerance``?

    "holds" when the whole interval lies at or below the tolerance, "does not hold" when it lies above it,
    "inconclusive" when it straddles it: the verdict follows the measurement, never a single-number ``<``.
    An inconclusive verdict also says what the run could have told apart: a cost is resolved from the
    tolerance only when it differs from it by more than the interval's half-width."""
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0 {unit}, got {tolerance}")
    if cost.hi <= tolerance:
        return f"holds: costs {cost} {unit}, within {tolerance:g}"
    if cost.lo > tolerance:
        return f"does not hold: costs {cost} {unit}, more than {tolerance:g}"
    return (f"inconclusive: costs {cost} {unit}, the interval straddles {tolerance:g}; this run resolves only "
            f"costs more than {cost.half:.{cost.digits}f} from {tolerance:g}")


def which_is_lower(diff: Difference, a: str, b: str, unit: str = "nats/char") -> str:
    """Which of two losses is lower, given ``diff`` = loss(b) − loss(a) with its interval (or: no difference shown)."""
    if diff.sign > 0:
        return f"{a} loses less ({b} − {a} = {diff} {unit})"
    if diff.sign < 0:
        return f"{b} loses less ({b} − {a} = {diff} {unit})"
    return f"no difference shown ({b} − {a} = {diff} {unit}, the interval contains 0)"


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
