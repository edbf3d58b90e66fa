"""The one statistics module: its intervals agree with scipy's, and its verdict words follow the interval."""
import math

import pytest
from scipy import stats as scipy_stats

from ragteach import stats


def test_interval_is_the_t_interval():
    mean, half = stats.interval([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert half == pytest.approx(scipy_stats.t.ppf(0.975, 2) * 1.0 / math.sqrt(3))
    assert stats.interval([5.0]) == (5.0, math.inf)
    assert stats.format_interval([5.0]) == "5.0 (1 run)"
    with pytest.raises(ValueError, match="at least one"):
        stats.interval([])
    assert stats.format_interval([8, 8, 8]) == "8.0 ± 0.0"
    assert stats.difference([8, 8, 8], [8, 8, 8]).sign == 0
    assert stats.difference([7, 7, 7], [8, 8, 8]).sign == 1
    assert stats.difference([1, 5, 9], [2, 6, 10]).sign == 0          # a shift far inside the noise


def test_difference_matches_scipy_welch():
    a, b = [91.0, 93.5, 92.2, 95.0], [80.1, 85.3, 79.9]
    d = stats.difference(b, a)   # mean(a) − mean(b)
    ci = scipy_stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert d.lo == pytest.approx(ci.low) and d.hi == pytest.approx(ci.high) and d.sign == 1
    assert (-d).sign == -1 and str(-d).startswith("-")


def test_paired_difference_matches_scipy_paired_t():
    a, b = [1.0, 2.0, 3.0, 4.0], [1.5, 2.4, 3.6, 4.5]
    ci = scipy_stats.ttest_rel(b, a).confidence_interval(0.95)
    d = stats.paired_difference(a, b)
    assert d.lo == pytest.approx(ci.low) and d.hi == pytest.approx(ci.high)


def test_proportion_difference_and_claim_word():
    big, small = stats.proportion_difference(0.9, 200, 0.05, 200), stats.proportion_difference(0.5, 20, 0.45, 20)
    assert stats.claim_word(big) == "holds" and stats.claim_word(-big) == "does not hold"
    assert stats.claim_word(small) == "inconclusive"
    assert stats.claim_word(big, guard=-big) == "does not hold"   # a clearly worse guard vetoes the gain
