"""Tokens and a growable vocabulary shared by the retrievers and the generator.

``tokenize("The capital of Côte d'Ivoire is Yamoussoukro.")`` →
``['the', 'capital', 'of', 'côte', "d'ivoire", 'is', 'yamoussoukro', '.']``; a possessive
``'s`` is its own token, so ``"france's"`` → ``['france', "'s"]``: lower case, words
(letters in any script, digits, inner apostrophes) and single punctuation marks.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Iterable, Sequence

_TOKEN = re.compile(r"\w+(?:['’]\w+)*|['’]s\b|[^\w\s]")
_POSSESSIVE = re.compile(r"(['’]s)\b")  # "france's" → "france 's", so the name matches

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)


def normalize(text: str) -> str:
    """``text`` in Unicode NFKC form (so "co\u0302te", c + o + combining accent, is "côte"), without
    invisible format characters (zero-width space, soft hyphen, ...), which would split or fake words."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if unicodedata.category(ch) != "Cf")


def tokenize(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens of ``normalize(text)``."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return _TOKEN.findall(_POSSESSIVE.sub(r" \1", normalize(text).lower()))


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
        """Add unseen words, all or none: if they would exceed the capacity, raise and add nothing."""
        new = [w for w in dict.fromkeys(words) if w not in self.stoi]
        if len(self.itos) + len(new) > self.capacity:
            raise ValueError(f"the vocabulary is full: {len(new)} new words do not fit in {self.capacity - len(self)} "
                             f"free places of {self.capacity}; build the model with a larger capacity to index them")
        for w in new:
            self.stoi[w] = len(self.itos)
            self.itos.append(w)

    def truncate(self, n: int) -> None:
        """Forget every word added after the first ``n`` (undoes ``add`` when a build that grew it fails)."""
        for w in self.itos[n:]:
            del self.stoi[w]
        del self.itos[n:]

    def ids(self, tokens: Sequence[str]) -> list[int]:
        """Ids of ``tokens``; unknown words become ``<unk>`` (1)."""
        return [self.stoi.get(t, 1) for t in tokens]

    def words(self, ids: Sequence[int]) -> list[str]:
        return [self.itos[i] for i in ids]
