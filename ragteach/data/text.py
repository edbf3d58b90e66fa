"""Text that ships with Python, as characters: the corpus, a character vocabulary, train/val batches.

The corpus is the Python documentation topics bundled in the standard library
(``pydoc_data.topics``, about 465,000 characters, 103 distinct characters), so it loads offline
everywhere Python runs. The topics are joined in sorted order, so the text and the split are the
same on every machine.

>>> data = load_text()
>>> vocab = data.vocab
>>> vocab.decode(vocab.encode("def f(x):"))
'def f(x):'
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


def pydoc_topics_text() -> str:
    """The Python documentation topics from the standard library, joined in sorted key order."""
    try:
        from pydoc_data.topics import topics
    except ImportError as exc:  # some minimal Python builds strip it
        raise RuntimeError(
            "this Python has no pydoc_data.topics (a stripped-down build); pass your own text to "
            "load_text(text=...)") from exc
    return "".join(topics[key] for key in sorted(topics))


@dataclass
class CharVocab:
    """Characters ↔ integer ids. ``chars[i]`` is the character with id ``i`` (sorted order)."""

    chars: str

    def __post_init__(self) -> None:
        if not self.chars:
            raise ValueError("a vocabulary needs at least one character")
        if len(set(self.chars)) != len(self.chars):
            raise ValueError("vocabulary characters must be unique")
        self.stoi = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> "CharVocab":
        return cls("".join(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> torch.Tensor:
        """A 1-D long tensor of ids; refuses characters the model has never seen, naming them."""
        unknown = sorted({c for c in text if c not in self.stoi})
        if unknown:
            shown = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in unknown[:10])
            raise ValueError(
                f"the text contains {len(unknown)} character(s) not in the vocabulary: {shown}. "
                f"Use only characters of the training text (see vocab.chars), e.g. replace or remove them.")
        return torch.tensor([self.stoi[c] for c in text], dtype=torch.long)

    def decode(self, ids) -> str:
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        return "".join(self.chars[i] for i in ids)


@dataclass
class TextData:
    """A character corpus split into a train part and a validation part (the last ``val_fraction``).

    The split is contiguous (the end of the text is held out), as in nanoGPT's ``prepare.py``,
    so validation text is never seen in training, not even as overlapping windows.
    """

    vocab: CharVocab
    train: torch.Tensor
    val: torch.Tensor

    def batch(self, split: str, batch_size: int, block_size: int,
              generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Random windows: inputs ``x`` (B, T) and next-character targets ``y`` (B, T)."""
        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        data = self.train if split == "train" else self.val
        if block_size < 1 or len(data) <= block_size:
            raise ValueError(f"block_size must be in [1, {len(data) - 1}] for the {split} split, got {block_size}")
        starts = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
        offsets = torch.arange(block_size)
        x = data[starts[:, None] + offsets]        # (B, T)
        y = data[starts[:, None] + offsets + 1]    # (B, T)
        return x, y


def load_text(text: str | None = None, val_fraction: float = 0.1) -> TextData:
    """The corpus (default: :func:`pydoc_topics_text`) encoded with its own vocabulary and split."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    text = pydoc_topics_text() if text is None else text
    if len(text) < 100:
        raise ValueError(f"the text is too short to train on ({len(text)} characters); give at least 100")
    vocab = CharVocab.from_text(text)
    ids = vocab.encode(text)
    n_val = max(1, int(len(ids) * val_fraction))
    return TextData(vocab, ids[:-n_val], ids[-n_val:])
