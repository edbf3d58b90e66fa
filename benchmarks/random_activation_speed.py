"""Does random activation save compute and memory? Dense vs masked (the article's) vs structured.

Prints ratios (speed-up = dense time / variant time; ideal 1/p for the MLP) for one MLP layer and for
the notebook's GPT: forward, training step, per-token generation, FLOPs, saved-activation memory; then the
same for random **attention heads** (p_head): one attention layer keeping k of its h heads, and the whole GPT.
Timings on a shared CPU are noisy: variants are interleaved, every call timed, the median call kept; compare ratios.

    .venv/bin/python benchmarks/random_activation_speed.py [--threads N]
"""
from __future__ import annotations

import argparse
import os
import time

import torch

from ragteach.data.text import load_text
from ragteach.lessons.random_activations import attention_flop_share, attention_rows, mlp_flop_share, mlp_rows, model_rows
from ragteach.gpt.model import GPTConfig
from ragteach.report import markdown_table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1: the machine is shared)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); median of interleaved calls; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (others' work slows and scatters timings)\n")

    for n_embd, tokens in ((128, 1024), (512, 1024)):
        print(f"## One MLP layer: {n_embd} → {4 * n_embd} → {n_embd}, {tokens} tokens\n")
        rows = mlp_rows(n_embd, tokens)
        print(markdown_table(rows))
        r25 = next(r for r in rows if r["p"] == 0.25)
        print(f"\nstructured forward at p = 0.25: {r25['fwd speed-up structured']}× of an ideal 4× "
              f"= {r25['fwd speed-up structured'] / 4:.2f} of ideal (goal ≥ 0.6)\n")

    cfg = GPTConfig(vocab_size=len(load_text().vocab), n_layer=4, n_head=4, n_embd=128, block_size=64)
    share = mlp_flop_share(cfg)
    print(f"## The notebook's GPT ({cfg.n_layer} layers, {cfg.n_head} heads, {cfg.n_embd}-dim, context "
          f"{cfg.block_size}), batch 16: random MLP units\n")
    print(f"MLPs are {share:.0%} of a dense forward's FLOPs, so the whole-model ideal at p is "
          f"1 / (1 − {share:.2f}·(1 − p)) (Amdahl), not 1/p.\n")
    rows = model_rows(cfg)
    for r in rows:
        r["ideal (Amdahl)"] = round(1 / (1 - share * (1 - r["p"])), 2)
    print(markdown_table(rows))

    print(f"\n## One attention layer: {cfg.n_head} heads of {cfg.n_embd // cfg.n_head}, 16 × {cfg.block_size} tokens, "
          f"k = round(p_head·h) heads kept\n")
    att = attention_rows(cfg.n_embd, cfg.n_head, batch_size=16, block_size=cfg.block_size)
    print(markdown_table(att))
    h25 = next(r for r in att if r["p_head"] == 0.25)
    print(f"\nstructured attention forward keeping {h25['heads kept']} heads: {h25['fwd speed-up structured']}× of an ideal "
          f"{h25['ideal h/k']}× = {h25['fwd speed-up structured'] / h25['ideal h/k']:.2f} of ideal\n")
    a_share = attention_flop_share(cfg)
    print(f"## The notebook's GPT: random attention heads (column p = p_head; attention is {a_share:.0%} of the FLOPs)\n")
    rows = model_rows(cfg, ps=(1.0, 0.75, 0.5, 0.25), knob="p_head")
    for r in rows:
        r["ideal (Amdahl)"] = round(1 / (1 - a_share * (1 - r["p"])), 2)
    print(markdown_table(rows))
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
