"""The embedding map of notebook 04 (plotly, no kernel needed)."""
import numpy as np
import pytest

from ragteach.retrieval.explore import embedding_map, pca_2d


def test_pca_keeps_the_two_largest_directions():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5)) * np.array([5.0, 3.0, 0.1, 0.1, 0.1])
    (p,) = pca_2d(x)
    assert p.shape == (200, 2)
    assert np.var(p[:, 0]) > np.var(p[:, 1]) > 5 * 0.1 ** 2
    assert abs(np.var(p[:, 0]) + np.var(p[:, 1]) - np.var(x[:, :2], axis=0).sum()) < 0.5


def test_map_draws_documents_by_relation_and_questions_with_a_line_to_their_document():
    rng = np.random.default_rng(1)
    docs = [f"doc {i}" for i in range(6)]
    fig = embedding_map(rng.normal(size=(6, 4)), docs, ["capital", "capital", "area", "area", "area", "region"],
                        rng.normal(size=(2, 4)), ["q0", "q1"], [1, 4])
    names = [t.name for t in fig.data]
    assert names[:3] == ["documents: capital", "documents: area", "documents: region"]
    questions = fig.data[-1]
    assert list(questions.hovertext) == ["q0<br>answer in: doc 1", "q1<br>answer in: doc 4"]
    lines = fig.data[-2]
    assert len(lines.x) == 6 and lines.x[2] is None  # two segments


def test_mismatched_inputs_are_refused():
    with pytest.raises(ValueError, match="same length"):
        embedding_map(np.zeros((3, 2)), ["a", "b"], ["r", "r", "r"], np.zeros((1, 2)), ["q"], [0])
    with pytest.raises(ValueError, match="at least 3 vectors"):
        pca_2d(np.zeros((2, 4)))
