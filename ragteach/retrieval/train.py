"""Joint training of RAG: one step maximises log p(y|x) through the reader and the query encoder."""
from __future__ import annotations

from typing import Any, Sequence

import torch

from ragteach.data.countries import Question
from ragteach.knobs import Knob, Knobs
from ragteach.retrieval.decoding import evaluate
from ragteach.retrieval.index import K_MAX, METHODS, RAGIndex
from ragteach.retrieval.marginals import MARGINALS
from ragteach.retrieval.rag import RAG, load_answers
from ragteach.training import Trainer, check_positive_int, eval_mode, set_lr


def rag_knobs(lr: float = 3e-3, k: int = 5, retriever: str = "bm25", marginal: str = "token") -> Knobs:
    return Knobs.of(
        Knob("lr", lr, low=0.0, high=0.1, low_open=True, log=True, description="learning rate"),
        Knob("K", k, low=1, high=K_MAX, kind="int", description="K documents"),
        Knob("retriever", retriever, kind="choice", choices=METHODS + ("none",), description="retriever"),
        Knob("marginal", marginal, kind="choice", choices=tuple(MARGINALS), description="RAG-"),
    )


class RAGTrainer(Trainer):
    """One joint training step per call (the session's step function):
    loss = −mean_(x,y) log Σ_i p(d_i|x) p(y|x,d_i) (or the RAG-Token form), Adam on the query encoder
    and the generator (``evaluate`` measures exact match on held-out questions).
    The document encoder is frozen (as in the paper); its vectors live in the index."""

    def default_knobs(self) -> Knobs:
        return rag_knobs()

    def __init__(self, model: RAG, index: RAGIndex | None, questions: Sequence[Question], batch_size: int = 32,
                 doc_of: dict[tuple[str, str], int] | None = None, seed: int = 0) -> None:
        if not questions:
            raise ValueError("RAGTrainer needs at least one training question")
        check_positive_int("batch_size", batch_size)
        super().__init__(seed)  # self.rng: which questions form each batch
        self.model, self.index, self.questions = model, index, list(questions)
        self.batch_size = batch_size
        self.opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3e-3)
        self.modules, self.optimizers = {"model": model}, {"model": self.opt}
        self.doc_of = dict(doc_of or {})  # (country, relation) → gold document id, for p_gold

    def train_step(self, knobs: dict[str, Any]) -> dict[str, float]:
        method = knobs.get("retriever", "bm25")
        if method != "none" and self.index is None:
            raise ValueError("this trainer has no index: it can only train closed-book (retriever='none')")
        set_lr(self.opt, knobs.get("lr", 3e-3))
        pick = torch.randperm(len(self.questions), generator=self.rng)[:self.batch_size]
        qs = [self.questions[i] for i in pick.tolist()]
        self.model.train()
        b = self.model.prepare(self.index, [q.text for q in qs], knobs.get("K", 5), method)
        logp = MARGINALS[knobs.get("marginal", "token")](b.doc_logp, self.model.tok_logp(b, load_answers(self.model, qs)))
        loss = -logp.mean()
        self.update("model", loss)
        metrics = {"loss": loss.item()}
        if b.doc_index is not None and self.doc_of:
            gold = torch.tensor([self.index_gold(q) for q in qs]).unsqueeze(1)       # (B, 1)
            hit = b.doc_index == gold
            metrics["p_gold"] = float((b.doc_logp.detach().exp() * hit).sum(-1).mean())      # p(gold doc | x), 0 if missed
        return metrics

    def evaluate(self, questions: Sequence[Question], k: int = 5, retriever: str = "bm25",
                 marginal: str = "token") -> dict[str, float]:
        """``em``: exact match of the trained model's answers to ``questions`` (:func:`decoding.evaluate`)."""
        with eval_mode(self.model):
            return evaluate(self.model, self.index, questions, k, retriever, marginal)

    def index_gold(self, q: Question) -> int:
        return self.doc_of.get((q.country, q.relation), -1)
