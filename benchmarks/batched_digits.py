"""Notebook 02's digits runs: K runs of one method in one vectorised step vs the same K runs one by one.

For each chosen method of ``digits_methods()`` (digits MLP GAN, batch 64) this measures the seconds of
``--steps`` steps of

1. K separate ``GANTrainer`` runs (seeds 0 .. K−1, half on all training digits, half on the 10 % share),
   stepped one after the other, and
2. one ``BatchedGANTrainer`` training the same K runs together,

alternating the two ``--repeats`` times (medians), and prints the ratio one-by-one / batched (> 1: batching
pays). Wall-clock and process-CPU times are both printed with the load average: the machine may be shared.
Equality of each batched run with its run alone is tested in tests/test_batched_digits.py.

    .venv/bin/python benchmarks/batched_digits.py            # K = 13, 100 steps, 3 repeats
    .venv/bin/python benchmarks/batched_digits.py --quick    # a smoke check
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from ragteach.data.digits import load_digits
from ragteach.gan.batched import BatchedGANTrainer
from ragteach.lessons.relative_augmentation import digits_config, digits_methods
from ragteach.gan.train import GANTrainer, gan_knobs, tensor_sampler


def timed(step, steps: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=13, help="K, runs trained together (notebook 02: 13)")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--methods", default="GAN (non-saturating)|article's loss, λ=0.1, nearest x|DiffAugment",
                        help="'|'-separated keys of digits_methods()")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="K = 4, 10 steps, 1 repeat, one method")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.steps, args.repeats, args.methods = 4, 10, 1, "GAN (non-saturating)"
    torch.set_num_threads(args.threads)
    d = load_digits()
    sets = [d.x_train if k % 2 == 0 else d.train_fraction(0.1)[0] for k in range(args.runs)]
    print(f"K = {args.runs} runs, {args.steps} steps, {args.repeats} repeats, {args.threads} threads, "
          f"load average {os.getloadavg()[0]:.1f}")
    for method in args.methods.split("|"):
        kw = dict(digits_methods()[method])
        knobs = gan_knobs(lam=kw.pop("lam", None), pairing=kw.pop("pairing", "random"), lam_max=1.0).snapshot()
        alone = [GANTrainer(digits_config(), tensor_sampler(x), batch_size=64, seed=k, distance_data=x, **kw)
                 for k, x in enumerate(sets)]
        batched = BatchedGANTrainer(digits_config(), [tensor_sampler(x) for x in sets], list(range(args.runs)),
                                    batch_size=64, distance_data=sets, **kw)
        for _ in range(3):                  # warm-up: first calls pay for imports and allocations
            [t(knobs) for t in alone]
            batched(knobs)
        one_by_one, together = [], []
        for _ in range(args.repeats):
            one_by_one.append(timed(lambda: [t(knobs) for t in alone], args.steps))
            together.append(timed(lambda: batched(knobs), args.steps))
        w1, c1 = (statistics.median(x[i] for x in one_by_one) for i in (0, 1))
        wb, cb = (statistics.median(x[i] for x in together) for i in (0, 1))
        print(f"{method}: one by one {w1:.2f} s (CPU {c1:.2f} s), batched {wb:.2f} s (CPU {cb:.2f} s): "
              f"batched is {w1 / wb:.1f}x faster wall-clock, {c1 / cb:.1f}x in CPU time")


if __name__ == "__main__":
    main()
