"""A knowledge base that ships offline: facts about ~250 countries from the ``countryinfo`` package.

Each fact (country, relation, value) becomes one short document, e.g.
``"The capital of France is Paris"``; each fact is asked in several phrasings
(``"Which city is France's seat of government?"``). Questions are split train/test **by country**,
so a test question always asks about a country whose facts were never trained on.
The answer is always the end of its document, so a reader that learns *where* answers sit in a
sentence can answer about any country it can retrieve.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Iterable, Sequence

RELATIONS = ("capital", "currency", "subregion", "demonym")

# The document template per relation: the value always comes last.
DOC_TEMPLATES = {
    "capital": "The capital of {c} is {v}",
    "currency": "The currency of {c} has the code {v}",
    "subregion": "{c} lies in the subregion {v}",
    "demonym": "People from {c} are called {v}",
}

QUESTION_TEMPLATES = {
    "capital": ("What is the capital of {c}?", "Which city is {c}'s seat of government?",
                "Name the capital city of {c}.", "{c} is governed from which city?"),
    "currency": ("What currency is used in {c}?", "Which currency code does {c} use?",
                 "What money do people pay with in {c}?"),
    "subregion": ("In which subregion is {c}?", "Where in the world is {c}?",
                  "Which part of the world does {c} belong to?"),
    "demonym": ("What are people from {c} called?", "What is the demonym of {c}?",
                "How do you call someone from {c}?"),
}


@dataclass(frozen=True)
class Fact:
    country: str
    relation: str
    value: str


@dataclass(frozen=True)
class Question:
    text: str
    answer: str
    country: str
    relation: str


@dataclass
class KnowledgeBase:
    """Documents with the fact each one states; ``doc_of[(country, relation)]`` is its index."""

    facts: list[Fact]
    docs: list[str] = field(init=False)
    doc_of: dict[tuple[str, str], int] = field(init=False)

    def __post_init__(self) -> None:
        if not self.facts:
            raise ValueError("a knowledge base needs at least one fact; got none")
        self.docs = [DOC_TEMPLATES[f.relation].format(c=f.country, v=f.value) for f in self.facts]
        self.doc_of = {(f.country, f.relation): i for i, f in enumerate(self.facts)}
        if len(self.doc_of) != len(self.facts):
            raise ValueError("each (country, relation) may appear only once in a knowledge base")

    def __len__(self) -> int:
        return len(self.docs)

    def gold(self, q: Question) -> int:
        """The index of the document that answers ``q``."""
        return self.doc_of[(q.country, q.relation)]

    def edited(self, changes: Iterable[Fact]) -> "KnowledgeBase":
        """A new knowledge base where each change replaces the fact with the same (country,
        relation), or is appended if there is none (a new country). The original is unchanged."""
        facts = list(self.facts)
        for ch in changes:
            if ch.relation not in DOC_TEMPLATES:
                raise ValueError(f"relation must be one of {RELATIONS}, got {ch.relation!r}")
            i = self.doc_of.get((ch.country, ch.relation))
            if i is None:
                facts.append(ch)
            else:
                facts[i] = ch
        return KnowledgeBase(facts)


def load_facts(relations: Sequence[str] = RELATIONS) -> list[Fact]:
    """Every non-empty (country, relation, value) from ``countryinfo``, in a fixed order."""
    from countryinfo import all_countries

    bad = [r for r in relations if r not in DOC_TEMPLATES]
    if bad:
        raise ValueError(f"relations must be among {RELATIONS}, got {bad}")
    facts = []
    for c in sorted(all_countries(), key=lambda c: c.info()["name"]):
        info = c.info()
        values = {"capital": info.get("capital"), "currency": (info.get("currencies") or [None])[0],
                  "subregion": info.get("subregion"), "demonym": info.get("demonym")}
        for r in relations:
            if values[r]:
                facts.append(Fact(info["name"], r, str(values[r]).strip()))
    return facts


def load_kb(relations: Sequence[str] = RELATIONS) -> KnowledgeBase:
    return KnowledgeBase(load_facts(relations))


def questions_for(facts: Iterable[Fact]) -> list[Question]:
    """Every phrasing of every fact."""
    return [Question(t.format(c=f.country), f.value, f.country, f.relation)
            for f in facts for t in QUESTION_TEMPLATES[f.relation]]


# Questions whose answer needs two documents: the subregion (one passage) and the capital (another).
TWO_DOC_RELATIONS = ("subregion", "capital")
TWO_DOC_TEMPLATES = ("In which subregion is {c}, and what is its capital?",
                     "Name the subregion of {c} and its capital.",
                     "What are the subregion and the capital of {c}?")


def two_doc_questions(kb: KnowledgeBase, countries: Iterable[str]) -> list[Question]:
    """Questions answered by two documents of ``kb``: "Western Europe, Paris" needs the subregion's passage for
    its first words and the capital's passage for the last (``relation`` is ``"subregion+capital"``).
    Countries without both facts are skipped."""
    out = []
    for c in countries:
        values = [kb.facts[kb.doc_of[(c, r)]].value for r in TWO_DOC_RELATIONS if (c, r) in kb.doc_of]
        if len(values) == len(TWO_DOC_RELATIONS):
            out += [Question(t.format(c=c), ", ".join(values), c, "+".join(TWO_DOC_RELATIONS))
                    for t in TWO_DOC_TEMPLATES]
    return out


def split_countries(kb: KnowledgeBase, test_fraction: float = 0.2, seed: int = 0) -> tuple[set[str], set[str]]:
    """Countries split at random (fixed seed) into a train and a test set."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    countries = sorted({f.country for f in kb.facts})
    random.Random(seed).shuffle(countries)
    n_test = max(1, round(test_fraction * len(countries)))
    return set(countries[n_test:]), set(countries[:n_test])


def split_questions(kb: KnowledgeBase, test_fraction: float = 0.2, seed: int = 0) -> tuple[list[Question], list[Question]]:
    """Train and test questions; no country appears in both."""
    train_c, test_c = split_countries(kb, test_fraction, seed)
    qs = questions_for(kb.facts)
    return [q for q in qs if q.country in train_c], [q for q in qs if q.country in test_c]


_SYLLABLES = ("ka", "lo", "ri", "zan", "mu", "te", "vor", "shi", "ba", "del", "qu", "nor", "pi", "sa", "gul")


def invented_name(rng: random.Random, syllables: int = 3) -> str:
    """A made-up capitalised name such as ``Zanlori`` (for facts no model can have memorised)."""
    return "".join(rng.choice(_SYLLABLES) for _ in range(syllables)).capitalize()


def capital_edits(kb: KnowledgeBase, countries: Sequence[str], new_countries: int = 0,
                  seed: int = 0) -> list[Fact]:
    """Edits for the hot-swap test: each listed country gets an invented capital, and
    ``new_countries`` invented countries are added with invented capitals."""
    rng = random.Random(seed)
    edits = [Fact(c, "capital", invented_name(rng)) for c in countries]
    taken = {f.country for f in kb.facts}
    while len(edits) < len(countries) + new_countries:
        name = invented_name(rng, 2) + "ia"
        if name not in taken:
            taken.add(name)
            edits.append(Fact(name, "capital", invented_name(rng)))
    return edits
