"""Everything notebook 04 builds, in fixed-seed functions: the knowledge base and its split, the
trained dual encoder (DPR-style pre-training, then frozen on the document side), the index, and
fresh RAG / closed-book models ready for joint training."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from ragteach.data.countries import (KnowledgeBase, Question, load_kb, split_countries, split_questions,
                                     two_doc_questions)
from ragteach.parallel import run_jobs
from ragteach.runs import Run, train_runs
from ragteach.retrieval.decoding import exact_match, generate
from ragteach.retrieval.dense import BagEncoder, frozen_copy, train_dual_encoder
from ragteach.retrieval.generator import CopyGenerator
from ragteach.retrieval.index import RAGIndex
from ragteach.retrieval.marginals import MARGINALS
from ragteach.retrieval.rag import RAG, load_answers
from ragteach.retrieval.train import RAGTrainer, rag_knobs
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


def two_doc_split(setup: Setup, test_fraction: float = 0.2, seed: int = 0) -> tuple[list[Question], list[Question]]:
    """Two-document questions (subregion + capital) for the setup's training and held-out countries."""
    train_c, test_c = split_countries(setup.kb, test_fraction, seed)
    return two_doc_questions(setup.kb, sorted(train_c)), two_doc_questions(setup.kb, sorted(test_c))


def train_two_doc(setup: Setup, marginal: str, seed: int, steps: int, k: int = 5, retriever: str = "bm25",
                  lr: float = 3e-3, progress: bool = False) -> Run:
    """Train a fresh RAG with ``marginal`` on every training question plus the two-document ones of the
    training countries (same seed, batches and retriever for both marginals), then measure it on the held-out
    two-document questions, decoded with its own marginal. Its scores: ``em`` (exact match), ``logp`` (mean
    log p(gold answer | x)) and ``first_only`` (the share of answers that stop after the first document's part,
    the subregion)."""
    two_train, two_test = two_doc_split(setup)
    model = new_rag(setup, seed=seed)
    index = setup.index(query_encoder=model.query_encoder)
    trainer = RAGTrainer(model, index, setup.train + two_train, seed=seed)
    run = train_runs(trainer, [dict(marginal=marginal, seed=seed)], steps, steps,
                     knobs=rag_knobs(lr=lr, k=k, retriever=retriever, marginal=marginal), progress=progress,
                     desc=f"two-document, RAG-{marginal}, seed {seed}")[0]
    model.eval()
    answers = [a.text for a in generate(model, index, [q.text for q in two_test], k, retriever, marginal)]
    em = sum(exact_match(a, q.answer) for a, q in zip(answers, two_test)) / len(two_test)
    first = sum(tokenize(a) in (tokenize(q.answer.split(", ")[0]), tokenize(q.answer.split(", ")[0] + ","))
                for a, q in zip(answers, two_test)) / len(two_test)
    with torch.no_grad():
        b = model.prepare(index, [q.text for q in two_test], k, retriever)
        logp = MARGINALS[marginal](b.doc_logp, model.tok_logp(b, load_answers(model, two_test)))
    run.scores = {"em": em, "logp": float(logp.mean()), "first_only": first}
    run.trainer = None   # the table needs only the scores; the trainer holds the whole index
    return run


def two_doc_runs(setup: Setup, seeds: Sequence[int], steps: int, workers: int = 1) -> list[Run]:
    """RAG-Token and RAG-Sequence trained alike for every seed; with ``workers > 1`` the runs train side by
    side, one process of one torch thread each (:func:`ragteach.parallel.run_jobs`)."""
    jobs = {f"RAG-{marginal}, seed {seed}": dict(setup=setup, marginal=marginal, seed=seed, steps=steps)
            for seed in seeds for marginal in ("token", "sequence")}
    return list(run_jobs(train_two_doc, jobs, workers, progress=True).values())
