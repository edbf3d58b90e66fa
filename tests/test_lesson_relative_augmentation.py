"""Notebook 02's digits protocol: batched seeds, λ chosen on other seeds than judged, interval verdicts."""
import pickle

import pytest
import torch

from ragteach.data.digits import load_digits
from ragteach.lessons import relative_augmentation as dx
from ragteach.runs import Run
from ragteach.stats import claim_word, difference
from ragteach.metrics.samples import DigitJudge

A_HIGH, A_LOW = [10.0, 10.5, 9.5, 10.2, 9.8], [5.0, 5.5, 4.5, 5.2, 4.8]
OVERLAP = [9.0, 11.0, 10.5, 9.2, 10.6]


def test_claim_word_reads_the_interval():
    assert claim_word(difference(A_LOW, A_HIGH)) == "holds"
    assert claim_word(difference(A_HIGH, A_LOW)) == "does not hold"
    assert claim_word(difference(A_HIGH, OVERLAP)) == "inconclusive"
    # a clear gain bought with a clearly worse guard does not count
    assert claim_word(difference(A_LOW, A_HIGH), guard=difference(A_HIGH, A_LOW)) == "does not hold"
    assert claim_word(difference(A_LOW, A_HIGH), guard=difference(A_HIGH, OVERLAP)) == "holds"
    # no clear gain but clearly worse samples: the claimed help is not there
    assert claim_word(difference(A_HIGH, OVERLAP), guard=difference(A_HIGH, A_LOW)) == "does not hold"


def test_gated_verdict_changes_with_the_measurement_and_says_inconclusive_on_overlap():
    guard = (A_HIGH, A_HIGH)
    better = dx.gated_verdict("X", "GAN", "digit-like diversity / real", (A_HIGH, A_LOW), "confident %", guard)
    worse = dx.gated_verdict("X", "GAN", "digit-like diversity / real", (A_LOW, A_HIGH), "confident %", guard)
    unclear = dx.gated_verdict("X", "GAN", "digit-like diversity / real", (OVERLAP, A_HIGH), "confident %", guard)
    noisy = dx.gated_verdict("X", "GAN", "digit-like diversity / real", (A_HIGH, A_LOW), "confident %", (A_LOW, A_HIGH))
    assert (better.word, worse.word, unclear.word, noisy.word) == ("holds", "does not hold", "inconclusive",
                                                                   "does not hold")
    assert len({str(better), str(worse), str(unclear), str(noisy)}) == 4   # not a constant text
    assert "+5.00" in better.reason and "-5.00" in worse.reason and "does not count" in noisy.reason
    worse_quality = dx.gated_verdict("X", "GAN", "confident %", (OVERLAP, A_HIGH), "classes", (A_LOW, A_HIGH))
    assert worse_quality.word == "does not hold" and "the claim does not hold" in worse_quality.reason
    # lower is better (quality lost)
    assert dx.gated_verdict("X", "GAN", "quality lost", (A_LOW, A_HIGH), higher_is_better=False).word == "holds"
    assert dx.gated_verdict("X", "GAN", "quality lost", (A_HIGH, A_LOW), higher_is_better=False).word == "does not hold"
    with pytest.raises(ValueError, match="both guard_key and guard"):
        dx.gated_verdict("X", "GAN", "k", (A_LOW, A_HIGH), guard_key="g")


def test_time_verdict_changes_with_the_measurement():
    slow, fast, similar = [0.020, 0.021, 0.019, 0.020], [0.010, 0.011, 0.009, 0.010], [0.010, 0.012, 0.009, 0.011]
    v_slow, v_fast, v_same = (dx.time_verdict(slow, fast, "nearest", "λ=0"), dx.time_verdict(fast, slow, "nearest", "λ=0"),
                              dx.time_verdict(similar, fast, "nearest", "λ=0"))
    assert (v_slow.word, v_fast.word, v_same.word) == ("holds", "does not hold", "inconclusive")
    assert "×2.00" in v_slow.reason and "×0.50" in v_fast.reason and len({str(v_slow), str(v_fast), str(v_same)}) == 3


def _run(method, seed, role, confident, scores, n=100):
    return Run(dict(method=method, train_images=n, seed=seed, role=role),
               [{"step": i, "confident %": c} for i, c in enumerate(confident)], scores)


def test_lambda_is_selected_on_the_selection_seeds_only():
    runs = [_run("a", s, "select", [1.0], {"k": 0.9}) for s in (100, 101)] + \
           [_run("b", s, "select", [1.0], {"k": 0.5}) for s in (100, 101)] + \
           [_run("a", s, "judge", [1.0], {"k": 0.1}) for s in (0, 1)] + \
           [_run("b", s, "judge", [1.0], {"k": 5.0}) for s in (0, 1)]
    chosen, means = dx.select_lambda(runs, ["a", "b"], 100, key="k")
    assert chosen == "a" and means == {"a": pytest.approx(0.9), "b": pytest.approx(0.5)}   # the judging runs do not count
    assert dx.values(runs, "b", 100, "k") == [5.0, 5.0]
    with pytest.raises(ValueError, match="no select runs"):
        dx.select_lambda(runs, ["c"], 100, key="k")


def test_quality_lost_counts_drops_not_gains_and_rows_give_intervals():
    assert dx.quality_lost(_run("a", 0, "judge", [10.0, 20.0, 30.0], {})) == 0.0
    assert dx.quality_lost(_run("a", 0, "judge", [30.0, 10.0, 30.0], {})) == 10.0
    runs = [_run("a", s, "judge", [1.0, 0.0], {"k": v}) for s, v in enumerate([1.0, 2.0, 3.0])]
    row = dx.seed_rows(runs, keys=["k", "quality lost"])[0]
    assert row["seeds"] == 3 and row["k_mean"] == pytest.approx(2.0)
    assert row["k_ci"] == pytest.approx(4.303 * 1.0 / 3 ** 0.5, rel=1e-3)   # t_{2, 0.975} · s / √n
    assert row["quality lost"] == "1.00 ± 0.00"


def test_train_digits_batch_scores_every_run_and_separates_roles():
    d = load_digits()
    judge = DigitJudge(d.x_train, d.y_train)
    real = dx.real_reference(judge, d.x_train, d.x_test)
    small = d.train_fraction(0.1)[0]
    runs = dx.train_digits_batch("article's loss, λ=0.1, nearest x", [d.x_train, small], [0, 1], d.x_test, judge,
                                 real, steps=6, eval_every=3, select_seeds=[7], n_eval=100, n_final=200)
    assert [(r["train_images"], r["seed"], r["role"]) for r in runs] == [
        (len(d.x_train), 0, "judge"), (len(d.x_train), 1, "judge"), (len(small), 0, "judge"), (len(small), 1, "judge"),
        (len(d.x_train), 7, "select")]
    assert len(runs[0].curve("s/step")) == 2 and all(r.curve("step") == [3, 6] for r in runs)
    assert all(set(r.scores) == set(dx.TABLE_KEYS) for r in runs)
    assert runs[0].sample(5).shape == (5, 64)
    stored = pickle.loads(pickle.dumps(runs[0]))      # a stored run keeps its 64 samples, not the batch's trainer
    assert stored.trainer is None and torch.equal(stored.sample(5), runs[0].trainer.sample(5)[0])
    with pytest.raises(ValueError, match="only 64 samples"):
        stored.sample(65)
    with pytest.raises(ValueError, match="unknown method"):
        dx.train_digits_batch("GAN", [small], [0], d.x_test, judge, real, 2, 1)
    only_select = dx.train_digits_batch("RaSGAN", [small], [], d.x_test, judge, real, 2, 1, select_seeds=[4],
                                        n_eval=50, n_final=100)
    assert [(r["seed"], r["role"]) for r in only_select] == [(4, "select")]
    with pytest.raises(ValueError, match="judging or selection seed"):
        dx.train_digits_batch("RaSGAN", [small], [], d.x_test, judge, real, 2, 1)
    with pytest.raises(ValueError, match="eval_every"):
        dx.train_digits_batch("RaSGAN", [small], [0], d.x_test, judge, real, 2, 5)


def test_rank_auc_on_known_orderings():
    from ragteach.stats import rank_auc

    assert rank_auc([3, 4, 5], [0, 1, 2]) == 1.0
    assert rank_auc([0, 1, 2], [3, 4, 5]) == 0.0
    assert rank_auc([1, 1], [1, 1, 1]) == 0.5                  # ties count one half
    assert rank_auc([1, 3], [2]) == 0.5
    with pytest.raises(ValueError, match="at least one value"):
        rank_auc([], [1.0])


class _LookupD(torch.nn.Module):
    """A discriminator that has learned its training set by heart: logit +1 on it, −1 elsewhere."""

    def __init__(self, train):
        super().__init__()
        self.train_set = train

    def forward(self, x):
        seen = (torch.cdist(x, self.train_set).min(dim=1).values < 1e-6).float()
        return 2 * seen - 1


def test_d_memorisation_reads_100_for_a_memorising_d_and_50_for_a_blind_one():
    d = load_digits()
    x_small = d.x_train[:134]
    assert dx.d_memorisation(_LookupD(x_small), x_small, d.x_test) == 100.0
    assert dx.d_memorisation(lambda x: torch.zeros(len(x)), x_small, d.x_test) == 50.0
    # a D that scores by a property training and held-out digits share (ink) cannot tell them apart
    ink = dx.d_memorisation(lambda x: x.sum(1), d.x_train, d.x_test)
    assert 40 < ink < 60
