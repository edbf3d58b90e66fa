"""TF-IDF retrieval: cosine similarity of l2-normalised tf·idf vectors (scikit-learn's vectoriser).

``w(t, d) = tf(t, d) · (ln((1 + N) / (1 + df(t))) + 1)``, each document vector scaled to length 1;
``score(q, d) = w_q · w_d``.
"""
from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from ragteach.retrieval.base import Retriever
from ragteach.retrieval.text import tokenize


class TfidfRetriever(Retriever):
    name = "tfidf"

    def _index(self, docs: list[str]) -> None:
        self.vectorizer = TfidfVectorizer(tokenizer=tokenize, lowercase=False, token_pattern=None)
        self.matrix = self.vectorizer.fit_transform(docs)  # (n_docs, n_terms), rows of length 1

    def _scores(self, query: str) -> np.ndarray:
        q = self.vectorizer.transform([query])  # (1, n_terms)
        return (self.matrix @ q.T).toarray().ravel()  # (n_docs,)
