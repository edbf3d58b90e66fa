"""Everything notebook 04 builds, in fixed-seed functions: the knowledge base and its split, the
trained dual encoder (DPR-style pre-training, then frozen on the document side), the index, and
fresh RAG / closed-book models ready for joint training."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ragteach.data.countries import KnowledgeBase, Question, load_kb, split_countries, split_questions
from ragteach.retrieval.dense import BagEncoder, frozen_copy, train_dual_encoder
from ragteach.retrieval.generator import CopyGenerator
from ragteach.retrieval.index import RAGIndex
from ragteach.retrieval.rag import RAG
from ragteach.retrieval.text import Vocab, tokenize

CAPACITY = 4096


@dataclass
class Setup:
    kb: KnowledgeBase
    train: list[Question]
    test: list[Question]
    vocab: Vocab
    dpr: BagEncoder             # the pre-trained dual encoder (start point of every query encoder)
    doc_encoder: BagEncoder     # its frozen copy, for documents
    dpr_losses: list[float]

    def index(self, kb: KnowledgeBase | None = None, query_encoder: torch.nn.Module | None = None) -> RAGIndex:
        """An index over ``kb`` (default: the setup's); dense queries go through ``query_encoder``."""
        return RAGIndex((kb or self.kb).docs, self.vocab, self.doc_encoder, query_encoder or self.dpr)

    def gold(self, questions: list[Question], kb: KnowledgeBase | None = None) -> list[int]:
        return [(kb or self.kb).gold(q) for q in questions]


def make_setup(kb: KnowledgeBase | None = None, dense_steps: int = 300, test_fraction: float = 0.2,
               seed: int = 0) -> Setup:
    """Split by country, build the vocabulary (documents + training questions), pre-train the dual
    encoder on training countries only (softmax over their documents), freeze a copy for documents."""
    kb = kb or load_kb()
    train, test = split_questions(kb, test_fraction, seed)
    train_c, _ = split_countries(kb, test_fraction, seed)
    vocab = Vocab((w for d in kb.docs for w in tokenize(d)), capacity=CAPACITY)
    vocab.add(w for q in train for w in tokenize(q.text))
    train_docs = [i for i, f in enumerate(kb.facts) if f.country in train_c]
    local = {d: i for i, d in enumerate(train_docs)}
    dpr = BagEncoder(CAPACITY, seed=seed)
    losses = train_dual_encoder(dpr, vocab, [q.text for q in train], [local[kb.gold(q)] for q in train],
                                [kb.docs[i] for i in train_docs], steps=dense_steps, seed=seed)
    return Setup(kb, train, test, vocab, dpr, frozen_copy(dpr), losses)


def new_rag(setup: Setup, seed: int = 0) -> RAG:
    """A RAG model: a trainable copy of the pre-trained query encoder + a fresh copy-generator whose
    output vocabulary is the training answers' words."""
    gen_words = {w for q in setup.train for w in tokenize(q.answer)}
    query = BagEncoder(CAPACITY)
    query.load_state_dict(setup.dpr.state_dict())
    return RAG(setup.vocab, query, CopyGenerator(setup.vocab, sorted(gen_words), seed=seed))


def new_closed_book(setup: Setup, seed: int = 0) -> RAG:
    """The closed-book twin: the same generator, trained with method='none' (it reads only the question)."""
    return new_rag(setup, seed)
