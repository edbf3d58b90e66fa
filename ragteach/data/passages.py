"""Many passages from a small knowledge base: the scale test of approximate nearest-neighbour search.

Lewis et al. retrieve from 21 M Wikipedia passages; our knowledge base has about a thousand one-sentence
documents. To measure indexes at a million passages without a download, each synthetic passage joins
``facts_per_passage`` sentences written with the knowledge base's own templates (``DOC_TEMPLATES``) about a
country and a value drawn at random, independently, from the knowledge base's countries and from the values of
that relation, e.g. ``"The capital of Peru is Lima. People from Chad are called Swiss."`` — so most statements
are *false* (the pairs are shuffled): the passages are realistic inputs for an encoder, not facts to learn.
Every word is a word of the knowledge base, so the trained dual encoder's vocabulary covers them all.

The questions are the knowledge base's question templates (``QUESTION_TEMPLATES``) about a (country, relation)
that some passage states; a passage is a ``gold`` passage of its question when it states that pair.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ragteach.data.countries import DOC_TEMPLATES, QUESTION_TEMPLATES, RELATIONS, KnowledgeBase


@dataclass
class Passages:
    """``texts[i]`` states the facts ``(countries[c], RELATIONS[r], values[r][v])`` for each row
    ``(c, r, v)`` of ``facts[i]`` (shape ``(n, facts_per_passage, 3)``)."""

    texts: list[str]
    facts: np.ndarray
    countries: list[str]
    values: dict[str, list[str]]

    def __len__(self) -> int:
        return len(self.texts)


def synthetic_passages(kb: KnowledgeBase, n: int, facts_per_passage: int = 2, seed: int = 0) -> Passages:
    """``n`` passages of ``facts_per_passage`` template sentences (relation, country and value drawn
    uniformly and independently with a fixed seed; the first m of n passages are the m passages of n = m)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n (the number of passages) must be a whole number >= 1, got {n!r}")
    if not 1 <= facts_per_passage <= 10:
        raise ValueError(f"facts_per_passage must be in [1, 10], got {facts_per_passage!r}")
    countries = sorted({f.country for f in kb.facts})
    values = {r: sorted({f.value for f in kb.facts if f.relation == r}) for r in RELATIONS}
    rels = [r for r in RELATIONS if values[r]]
    if not rels:
        raise ValueError("the knowledge base has no facts of a known relation")
    # One uniform draw per (passage, sentence, field), in order: the first m passages do not depend on n.
    u = np.random.default_rng(seed).random((int(n), facts_per_passage, 3))
    r = np.array([RELATIONS.index(x) for x in rels])[(u[..., 0] * len(rels)).astype(np.int64)]
    c = (u[..., 1] * len(countries)).astype(np.int64)
    sizes = np.array([len(values[x]) or 1 for x in RELATIONS])
    v = (u[..., 2] * sizes[r]).astype(np.int64)               # uniform over the values of each row's relation
    facts = np.stack([c, r, v], axis=-1)                      # (n, facts_per_passage, 3)
    templates = [DOC_TEMPLATES[x] for x in RELATIONS]
    vals = [values[x] for x in RELATIONS]
    texts = [". ".join(templates[ri].format(c=countries[ci], v=vals[ri][vi]) for ci, ri, vi in row) + "."
             for row in facts.tolist()]
    return Passages(texts, facts, countries, values)


def passage_questions(passages: Passages, n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """``n`` questions, each about the first fact of a random passage, in a random phrasing; returns
    the texts and the id of the passage each was drawn from (one of its gold passages)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n (the number of questions) must be a whole number >= 1, got {n!r}")
    rng = np.random.default_rng(seed + 1)
    src = rng.integers(len(passages), size=int(n))
    texts = []
    for p in src.tolist():
        ci, ri, _ = passages.facts[p, 0].tolist()
        phrasings = QUESTION_TEMPLATES[RELATIONS[ri]]
        texts.append(phrasings[int(rng.integers(len(phrasings)))].format(c=passages.countries[ci]))
    return texts, src.astype(np.int64)
