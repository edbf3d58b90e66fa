"""Notebook 04's verdict sentences are computed: two measurements that disagree never give the same text."""
import pytest

from ragteach.lessons import retrieval_generation as v
from ragteach.stats import proportion_difference


def test_retrieval_helps_follows_the_measurement():
    assert v.retrieval_helps(0.9, 0.05, 200).startswith("holds")
    assert v.retrieval_helps(0.05, 0.9, 200).startswith("does not hold")
    assert v.retrieval_helps(0.5, 0.45, 20).startswith("inconclusive")


def test_retrievers_verdict_counts_and_flags_the_top1_gap():
    good = [{"retriever": "bm25", "recall@1": 0.9, "recall@5": 0.99}, {"retriever": "dense", "recall@1": 0.9, "recall@5": 0.95}]
    weak = [{"retriever": "bm25", "recall@1": 0.4, "recall@5": 0.97}, {"retriever": "dense", "recall@1": 0.5, "recall@5": 0.6}]
    assert v.retrievers_verdict(good) != v.retrievers_verdict(weak)
    assert "2 of 2" in v.retrievers_verdict(good) and "K > 1" in v.retrievers_verdict(weak)


def test_learned_to_retrieve_and_swap_and_marginals():
    rising = [0.1 + 0.01 * i for i in range(60)]
    flat = [0.3, 0.31] * 30
    assert v.learned_to_retrieve(rising).startswith("holds") and v.learned_to_retrieve(flat).startswith("inconclusive")
    assert v.learned_to_retrieve(rising[:10]).startswith("inconclusive: only 10 steps")
    assert v.swap_verdict(1.0, 0.0, 40).startswith("holds") and v.swap_verdict(0.4, 0.5, 10).startswith("inconclusive")
    differ = v.marginals_differ([("bm25", 0.2, 0.9)], 200)
    same = v.marginals_differ([("bm25", 0.88, 0.9)], 200)
    assert differ.startswith("differ") and same.startswith("inconclusive")


def test_bad_shares_are_refused():
    with pytest.raises(ValueError, match="shares must be in"):
        proportion_difference(1.5, 10, 0.5, 10)
