"""The offline knowledge base and its by-country split."""
import pytest

from ragteach.data.countries import Fact, KnowledgeBase, capital_edits, load_kb, split_questions


@pytest.fixture(scope="module")
def kb():
    return load_kb()


def test_knowledge_base_has_real_facts(kb):
    assert len(kb) > 900
    assert kb.docs[kb.doc_of[("France", "capital")]] == "The capital of France is Paris"
    assert kb.docs[kb.doc_of[("Japan", "currency")]].endswith("JPY")


def test_split_is_by_country(kb):
    train, test = split_questions(kb, 0.2, seed=0)
    assert {q.country for q in train}.isdisjoint({q.country for q in test})
    assert 0.15 < len(test) / (len(train) + len(test)) < 0.25
    assert split_questions(kb, 0.2, seed=0)[1] == test  # fixed seed, same split
    for q in test[:50]:
        assert kb.docs[kb.gold(q)].endswith(q.answer)


def test_edits_replace_and_add(kb):
    edits = capital_edits(kb, ["France"], new_countries=1, seed=0)
    new = kb.edited(edits)
    assert len(new) == len(kb) + 1
    assert new.docs[new.doc_of[("France", "capital")]].endswith(edits[0].value)
    assert kb.docs[kb.doc_of[("France", "capital")]] == "The capital of France is Paris"  # original unchanged
    assert (edits[1].country, "capital") in new.doc_of


def test_bad_knowledge_base():
    with pytest.raises(ValueError, match="at least one fact"):
        KnowledgeBase([])
    with pytest.raises(ValueError, match="only once"):
        KnowledgeBase([Fact("A", "capital", "X"), Fact("A", "capital", "Y")])


def test_two_document_questions_need_two_passages(kb):
    from ragteach.data.countries import split_countries, two_doc_questions
    train_c, test_c = split_countries(kb, 0.2, seed=0)
    qs = two_doc_questions(kb, sorted(test_c))
    assert qs and {q.country for q in qs} <= test_c
    france = two_doc_questions(kb, ["France"])
    assert france[0].answer == "Western Europe, Paris" and france[0].relation == "subregion+capital"
    sub, cap = (kb.docs[kb.doc_of[("France", r)]] for r in ("subregion", "capital"))
    assert sub.endswith("Western Europe") and "Paris" not in sub and cap.endswith("Paris") and "Europe" not in cap
