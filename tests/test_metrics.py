import math

import numpy as np
import pytest
import torch

from ragteach.data.digits import load_digits
from ragteach.data.toy2d import grid, ring
from ragteach.metrics.modes import miss_shares, mode_stats
from ragteach.metrics.samples import DigitJudge, score_samples


def test_collapsed_samples_capture_one_mode():
    mix = ring()
    samples = mix.centers[3] + 0.001 * torch.randn(2500, 2)
    s = mode_stats(samples, mix)
    assert s.modes_captured == 1 and s.high_quality == 1.0 and s.counts[3] == 2500


def test_samples_between_modes_are_low_quality_and_capture_nothing():
    mix = grid()
    samples = torch.full((100, 2), 1.0)  # halfway between grid points
    s = mode_stats(samples, mix)
    assert s.modes_captured == 0 and s.high_quality == 0.0


def test_hq_threshold_is_three_sigma():
    mix = ring()
    inside = mix.centers[:1] + torch.tensor([[2.9 * mix.std, 0.0]])
    outside = mix.centers[:1] + torch.tensor([[3.1 * mix.std, 0.0]])
    assert mode_stats(inside, mix).high_quality == 1.0
    assert mode_stats(outside, mix).high_quality == 0.0


def test_miss_shares_split_the_samples_by_distance_to_the_nearest_mode():
    mix = ring()
    c, sd = mix.centers[0], mix.std
    samples = torch.stack([c, c + torch.tensor([2.0 * sd, 0.0]),          # near: within 3σ
                           c + torch.tensor([0.0, 4.0 * sd]),              # loose: 3σ to 6σ
                           (mix.centers[0] + mix.centers[1]) / 2])         # between two modes
    m = miss_shares(samples, mix)
    assert (m.near, m.loose, m.between) == (0.5, 0.25, 0.25)
    assert miss_shares(samples, mix).near == mode_stats(samples, mix).high_quality


def test_real_samples_miss_only_just_outside_their_modes():
    mix = grid()
    m = miss_shares(mix.sample(20000, torch.Generator().manual_seed(0)), mix)
    assert m.between == 0.0                               # beyond 6σ: probability e^-18 per sample
    assert m.loose == pytest.approx(math.exp(-4.5), abs=0.003)   # beyond 3σ: e^{-9/2} = 1.1 %


def test_miss_shares_reject_bad_thresholds_and_diverged_samples():
    with pytest.raises(ValueError, match="n_std < far_std"):
        miss_shares(torch.zeros(3, 2), ring(), n_std=6, far_std=3)
    with pytest.raises(ValueError, match="diverged"):
        miss_shares(torch.tensor([[0.0, float("nan")]]), ring())


def test_mode_stats_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        mode_stats(torch.zeros(5, 3), ring())


@pytest.fixture(scope="module")
def judge_and_data():
    d = load_digits()
    return DigitJudge(d.x_train, d.y_train), d


def test_judge_is_accurate_on_held_out_real_digits(judge_and_data):
    judge, d = judge_and_data
    assert judge.accuracy(d.x_test, d.y_test) > 0.93


def test_real_digits_score_high_and_noise_scores_low(judge_and_data):
    judge, d = judge_and_data
    real = score_samples(judge, d.x_test)
    assert real.classes_covered == 10 and real.confident_rate > 0.8
    ones = score_samples(judge, d.x_test[d.y_test == 1])
    assert ones.classes_covered <= 3 and np.argmax(ones.class_counts) == 1
    blank = score_samples(judge, torch.full((50, 64), -1.0))
    assert blank.classes_covered <= 1
    # quality with coverage ranks a one-class generator below real digits, however confident it is
    one_digit = score_samples(judge, d.x_train[d.y_train == 1][:1].repeat(300, 1))
    assert one_digit.confident_rate > real.confident_rate and one_digit.balanced_rate <= 0.1 + 1e-9
    assert real.balanced_rate > 0.7 and one_digit.collapsed(real) and not real.collapsed(real)
    with pytest.raises(ValueError, match="threshold"):
        score_samples(judge, d.x_test, threshold=0)


def test_nearest_distance():
    from ragteach.metrics.samples import nearest_distance
    ref = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    assert nearest_distance(torch.tensor([[3.0, 4.0], [0.0, 1.0]]), ref).tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match="same D"):
        nearest_distance(torch.zeros(2, 3), ref)


def test_diversity_is_zero_for_copies_and_positive_for_real_digits():
    from ragteach.metrics.samples import diversity
    d = load_digits()
    assert diversity(d.x_train[:1].repeat(50, 1)) == 0.0
    assert diversity(d.x_train) > 5.0
    with pytest.raises(ValueError, match="at least 2"):
        diversity(d.x_train[:1])


def test_copying_score_reads_copies_as_copying_and_fresh_digits_as_not():
    from ragteach.metrics.samples import copying_score
    d = load_digits()
    noise = 0.01 * torch.randn(500, 64, generator=torch.Generator().manual_seed(0))
    one_digit = d.x_train[7].repeat(500, 1) + noise          # a collapsed copier: one training digit, 500 times
    many = d.x_train[torch.randperm(len(d.x_train), generator=torch.Generator().manual_seed(1))[:500]] + noise
    fresh, held = d.x_test[:200], d.x_test[200:]             # digits no model saw, against other unseen digits
    assert copying_score(one_digit, d.x_train, held) > 10    # the whole training set holds the copied digit
    assert copying_score(many, d.x_train, held) > 10
    assert abs(copying_score(fresh, d.x_train, held)) < 3
    blur = d.x_train.mean(0, keepdim=True).repeat(500, 1)    # the average digit: farther than real digits are
    assert copying_score(blur, d.x_train, held) < -3


def test_digit_like_diversity_does_not_count_noise_as_diversity(judge_and_data):
    from ragteach.metrics.samples import confident_diversity, digit_like, distance_limit, diversity
    judge, d = judge_and_data
    noise = torch.rand(300, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    limit = distance_limit(d.x_train, d.x_test)
    assert diversity(noise) > diversity(d.x_test)                      # plain diversity rewards noise,
    assert digit_like(judge, noise).any()                               # and the judge alone is fooled by some,
    assert not digit_like(judge, noise, train=d.x_train, max_distance=limit).any()   # but noise is far from every digit
    assert confident_diversity(judge, noise, train=d.x_train, max_distance=limit) == 0.0
    real = confident_diversity(judge, d.x_test, train=d.x_train, max_distance=limit)
    assert digit_like(judge, d.x_test, train=d.x_train, max_distance=limit).float().mean() > 0.8
    ones = d.x_test[d.y_test == 1]
    assert 0 < confident_diversity(judge, ones, train=d.x_train, max_distance=limit) < real   # one class: less varied
    with pytest.raises(ValueError, match="threshold"):
        confident_diversity(judge, noise, threshold=1.5)
    with pytest.raises(ValueError, match="both train and max_distance"):
        digit_like(judge, noise, train=d.x_train)


def test_d_accuracy_is_the_mean_of_real_and_fake_hits():
    from ragteach.metrics.discriminator import d_accuracy
    real = torch.tensor([2.0, 1.0, -1.0, 3.0])       # 3 of 4 called real
    fake = torch.tensor([-2.0, 0.5, 1.0, 4.0])       # 1 of 4 called fake
    assert d_accuracy(real, fake).item() == pytest.approx(0.5 * (0.75 + 0.25))
    assert d_accuracy(torch.ones(2, 5), -torch.ones(2, 5)).tolist() == [1.0, 1.0]   # per run
    with pytest.raises(ValueError, match="same leading shape"):
        d_accuracy(torch.ones(2, 5), torch.ones(3, 5))
    with pytest.raises(ValueError, match="lower lr_d"):
        d_accuracy(torch.tensor([float("nan")]), torch.zeros(1))
