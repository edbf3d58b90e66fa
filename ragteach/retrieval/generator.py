"""A small copy-generator (pointer-generator) reader: p(y | x, d), one token at a time.

Given a question x and one document d (tokens d_1..d_L), the probability of the next answer token
y_t after y_<t mixes *copying* a document position and *generating* a word from a small output
vocabulary (the answer words of the training set and ``<eos>``), in one softmax:

    s_t            = tanh(W_s [c ; r_t ; pos_t ; bos_t])              decoder state (D,)
    score(copy j)  = (W_c s_t) · h_j + w_f · [d_{j-1} = y_{t-1}]        h = conv(E d), two 1-D convolutions (window ±3 tokens)
    score(gen w)   = (W_g s_t)_w
    p(y_t = w)     = Σ_{j: d_j = w} softmax(·)_j + softmax(·)_w

c = tanh(W [pool(E x) ; mean_j h_j]) summarises question and document; r_t (CopyNet's "selective
read") averages h_j over the positions holding y_{t-1}; the "follows" feature [d_{j-1} = y_{t-1}]
lets a multi-word answer ("buenos aires") continue where it was copied from. Copying is what makes a
reader answer about countries it never saw: it learns *where* answers sit, not what they are.
The state depends on y_<t only through y_{t-1}, so all T positions of a teacher-forced answer are
computed at once (no recurrence). The closed-book twin is the same module with d := x.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ragteach.retrieval.text import BOS, EOS, Vocab
from ragteach.training import seeded

FLOOR = -30.0  # log-prob of a token neither in the document nor in the output vocabulary
NEG = -1e9      # "impossible" without the NaN gradients of -inf


@dataclass
class Encoded:
    """A batch of N (question, document) pairs, encoded once and reused at every decoding step."""

    d_ids: torch.Tensor  # (N, L) document token ids, 0 = pad
    h: torch.Tensor      # (N, L, 2H) token states with ±3 tokens of context
    ctx: torch.Tensor    # (N, D) question + document summary

    def repeat(self, n: int) -> "Encoded":
        """Each pair repeated n times in a row: (N, ...) → (N·n, ...)."""
        return Encoded(*(t.repeat_interleave(n, 0) for t in (self.d_ids, self.h, self.ctx)))


def _window(x: torch.Tensor, gap: int) -> torch.Tensor:
    """[x_{j-gap} ; x_j ; x_{j+gap}] for every position j (zeros outside): (N, L, C) → (N, L, 3C)."""
    L = x.shape[1]
    padded = F.pad(x, (0, 0, gap, gap))
    return torch.cat([padded[:, :L], x, padded[:, 2 * gap:]], -1)


class CopyGenerator(nn.Module):
    def __init__(self, vocab: Vocab, gen_words: Sequence[str], emb: int = 64, hidden: int = 64,
                 state: int = 128, max_len: int = 10, seed: int = 0) -> None:
        super().__init__()
        with seeded(seed):  # the initial weights, without reseeding the global generator
            self.max_len = max_len
            self.bos, self.eos = vocab.stoi[BOS], vocab.stoi[EOS]
            gen = [EOS] + sorted(set(gen_words) - {EOS})
            vocab.add(gen)
            gen_ids = torch.tensor(vocab.ids(gen))
            self.register_buffer("gen_ids", gen_ids)                                  # (G,)
            lookup = torch.full((vocab.capacity,), -1, dtype=torch.long)
            lookup[gen_ids] = torch.arange(len(gen_ids))
            self.register_buffer("gen_index", lookup)                                 # (capacity,) → G or -1
            self.emb = nn.Embedding(vocab.capacity, emb, padding_idx=0)
            self.q_attn = nn.Linear(emb, 1)
            self.conv1 = nn.Linear(3 * emb, 2 * hidden)         # a 1-D convolution as shifts + matmul
            self.conv2 = nn.Linear(3 * 2 * hidden, 2 * hidden)  # (faster than Conv1d on a CPU here)
            self.ctx = nn.Linear(emb + 2 * hidden, state)
            self.pos = nn.Embedding(max_len + 1, state)
            self.state = nn.Linear(state + 2 * hidden + 2, state)
            self.copy = nn.Linear(state, 2 * hidden)
            self.follow = nn.Parameter(torch.tensor(2.0))
            self.gen = nn.Linear(state, len(gen_ids))

    def encode(self, q_ids: torch.Tensor, d_ids: torch.Tensor) -> Encoded:
        """q_ids (N, Lq), d_ids (N, L) → Encoded. Pads are id 0."""
        e = self.emb(q_ids)                                                       # (N, Lq, E)
        a = self.q_attn(e).squeeze(-1).masked_fill(q_ids == 0, -1e9).softmax(-1)  # (N, Lq)
        q = (a.unsqueeze(-1) * e).sum(1)                                          # (N, E)
        m = (d_ids != 0).float().unsqueeze(-1)                                    # (N, L, 1)
        h = torch.tanh(self.conv1(_window(self.emb(d_ids) * m, 1)))              # (N, L, 2H)
        h = (h + torch.tanh(self.conv2(_window(h, 2)))) * m                       # (N, L, 2H)
        hbar = (h * m).sum(1) / m.sum(1).clamp(min=1)                             # (N, 2H)
        return Encoded(d_ids, h, torch.tanh(self.ctx(torch.cat([q, hbar], -1))))

    def log_dist(self, enc: Encoded, y_prev: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probabilities of copying each position and generating each output word, for every
        step t given its previous token y_prev[:, t]: (N, T, L) and (N, T, G), jointly normalised."""
        N, T = y_prev.shape
        valid = (enc.d_ids != 0).unsqueeze(1)                                     # (N, 1, L)
        same = (enc.d_ids.unsqueeze(1) == y_prev.unsqueeze(2)) & valid            # (N, T, L)
        sel = same.float() @ enc.h / same.sum(-1, keepdim=True).clamp(min=1)      # (N, T, 2H)
        follows = F.pad(same[:, :, :-1], (1, 0)).float()                          # (N, T, L)
        flags = torch.stack([(y_prev == self.bos).float(), same.any(-1).float()], -1)  # (N, T, 2)
        pos = self.pos(torch.arange(T, device=y_prev.device).clamp(max=self.max_len))  # (T, D)
        s = torch.tanh(self.state(torch.cat([enc.ctx.unsqueeze(1) + pos, sel, flags], -1)))  # (N, T, D)
        copy = torch.einsum("ntk,nlk->ntl", self.copy(s), enc.h) + self.follow * follows
        copy = copy.masked_fill(~valid, NEG)                            # (N, T, L)
        logp = torch.cat([copy, self.gen(s)], -1).log_softmax(-1)                 # (N, T, L+G)
        return logp[..., :copy.shape[-1]], logp[..., copy.shape[-1]:]

    def token_logp(self, enc: Encoded, y: torch.Tensor) -> torch.Tensor:
        """log p(y_t | x, d, y_<t) for a teacher-forced answer y (N, T) (pads 0) → (N, T);
        pad positions give 0, a token found nowhere gives FLOOR."""
        y_prev = F.pad(y[:, :-1], (1, 0), value=self.bos)                         # (N, T)
        copy, gen = self.log_dist(enc, y_prev)
        hit = enc.d_ids.unsqueeze(1) == y.unsqueeze(2)                            # (N, T, L)
        copy = copy.masked_fill(~hit, NEG).logsumexp(-1)                # (N, T)
        g = self.gen_index[y]                                                     # (N, T)
        gen = gen.gather(-1, g.clamp(min=0).unsqueeze(-1)).squeeze(-1).masked_fill(g < 0, NEG)
        out = torch.logaddexp(copy, gen).clamp(min=FLOOR)
        return out.masked_fill(y == 0, 0.0)

    def next_word_logp(self, enc: Encoded, y_prev: torch.Tensor, words: torch.Tensor) -> torch.Tensor:
        """log p(next token = words[c] | x, d, y_prev) for candidate ids ``words`` (C,) → (N, C).
        ``y_prev`` (N, t) starts with <bos>; only its last position is scored."""
        copy, gen = self.log_dist(enc, y_prev)
        copy, gen = copy[:, -1].exp(), gen[:, -1].exp()                           # (N, L), (N, G)
        col = torch.searchsorted(words, enc.d_ids)                                # (N, L) position in words
        p = torch.zeros(len(copy), len(words)).scatter_add_(1, col.clamp(max=len(words) - 1),
                                                            copy.nan_to_num(0.0))
        p[:, torch.searchsorted(words, self.gen_ids)] += gen
        return p.clamp(min=1e-30).log()
