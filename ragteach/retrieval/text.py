"""Tokens and a growable vocabulary shared by the retrievers and the generator.

``tokenize("The capital of Côte d'Ivoire is Yamoussoukro.")`` →
``['the', 'capital', 'of', 'côte', "d'ivoire", 'is', 'yamoussoukro', '.']``; a possessive
``'s`` is its own token, so ``"france's"`` → ``['france', "'s"]``: lower case, words
(letters in any script, digits, inner apostrophes) and single punctuation marks.
"""
from __future__ import annotations

import re
from typing import Iterable, Sequence

_TOKEN = re.compile(r"\w+(?:['’]\w+)*|['’]s\b|[^\w\s]")
_POSSESSIVE = re.compile(r"(['’]s)\b")  # "france's" → "france 's", so the name matches

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)


def tokenize(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens of ``text``."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return _TOKEN.findall(_POSSESSIVE.sub(r" \1", text.lower()))


def detokenize(tokens: Sequence[str]) -> str:
    """Tokens joined by spaces, without a space before punctuation or around hyphens."""
    text = " ".join(tokens)
    text = re.sub(r" ([.,;:!?)])", r"\1", text)
    return re.sub(r" ?- ?", "-", text)


class Vocab:
    """Word ↔ id. Ids 0..3 are ``<pad> <unk> <bos> <eos>``. ``capacity`` bounds growth, so that an
    embedding table sized ``capacity`` covers every word a later re-index adds (the hot-swap)."""

    def __init__(self, words: Iterable[str] = (), capacity: int = 8192) -> None:
        self.capacity = capacity
        self.itos: list[str] = list(SPECIALS)
        self.stoi: dict[str, int] = {w: i for i, w in enumerate(self.itos)}
        self.add(words)

    def __len__(self) -> int:
        return len(self.itos)

    def add(self, words: Iterable[str]) -> None:
        """Add unseen words; raise if the vocabulary would exceed its capacity."""
        for w in words:
            if w not in self.stoi:
                if len(self.itos) >= self.capacity:
                    raise ValueError(f"the vocabulary is full ({self.capacity} words); build the model "
                                     f"with a larger capacity to index more new words")
                self.stoi[w] = len(self.itos)
                self.itos.append(w)

    def ids(self, tokens: Sequence[str]) -> list[int]:
        """Ids of ``tokens``; unknown words become ``<unk>`` (1)."""
        return [self.stoi.get(t, 1) for t in tokens]

    def words(self, ids: Sequence[int]) -> list[str]:
        return [self.itos[i] for i in ids]
