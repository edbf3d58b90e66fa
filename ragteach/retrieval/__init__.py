"""Retrieval-augmented generation, built from parts: sparse (TF-IDF, BM25) and dense (a trained dual
encoder, a pretrained MiniLM, FAISS) retrievers behind one interface, a copy-generator reader, and the
RAG-Sequence / RAG-Token marginals trained jointly. See notebook 04."""
from ragteach.retrieval.base import Retriever, UnknownQueryWarning
from ragteach.retrieval.bm25 import BM25Retriever
from ragteach.retrieval.tfidf import TfidfRetriever

__all__ = ["Retriever", "UnknownQueryWarning", "BM25Retriever", "TfidfRetriever"]
