"""K toy-GAN runs in one vectorised step vs one run: time ratio, and does each batched run equal its run alone?

On the 8-Gaussian ring (``toy_config()``, batch 128) this measures

1. seconds per step of one ``GANTrainer`` (the single-run trainer) and of one ``BatchedGANTrainer`` step
   training K runs (seeds 0 .. K−1). Both conditions alternate ``--repeats`` times; medians are compared.
   Goal (issue 12): K = 8 batched at most 2x the time of one run, i.e. 4x cheaper per run.
2. equality: after ``--check-steps`` steps, the largest difference between run k's samples in the batched
   trainer and ``GANTrainer(seed=k)`` trained alone on the same knobs, in float64 (the summation order of a
   batched product differs, and a GAN amplifies float32 rounding chaotically within dozens of steps;
   tests/test_batched.py checks the same to 1e-9).

It prints figures and asserts nothing about timings (they depend on the machine and its load: the
load average is printed with them). Run from the repository root:

    .venv/bin/python benchmarks/batched_runs.py            # K = 8, 300 timed steps, 3 repeats
    .venv/bin/python benchmarks/batched_runs.py --quick    # a smoke check
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from ragteach.data.toy2d import ring
from ragteach.gan.batched import BatchedGANTrainer
from ragteach.gan.models import toy_config
from ragteach.gan.train import GANTrainer

KNOBS = dict(lr_g=1e-3, lr_d=1e-3, d_steps=1, instance_noise=0.0, noise_anneal_steps=0, label_smoothing=0.0,
             label_flip=0.0)


def seconds_per_step(trainer, steps: int, warmup: int = 20) -> tuple[float, float]:
    """(wall-clock, process CPU) seconds per step; CPU time suffers less from other processes' load."""
    for _ in range(warmup):
        trainer(KNOBS)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        trainer(KNOBS)
    return (time.perf_counter() - wall) / steps, (time.process_time() - cpu) / steps


def flops_per_step(trainer) -> int:
    """Floating-point operations of one training step (matrix products, as counted by torch)."""
    with FlopCounterMode(display=False) as counter:
        trainer(KNOBS)
    return counter.get_total_flops()


def matmul_peak(threads: int, n: int = 1024, repeats: int = 20) -> float:
    """GFLOP/s of one large float32 matrix product on ``threads`` threads: what this CPU can do at best."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n ** 3 * repeats / (time.perf_counter() - start) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8, help="K, runs trained together")
    parser.add_argument("--steps", type=int, default=300, help="timed steps per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--check-steps", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="K = 4, 40 steps, 1 repeat")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.steps, args.repeats, args.check_steps = 4, 40, 1, 10
    torch.set_num_threads(args.threads)
    mix, cfg, K = ring(), toy_config(), args.runs

    # each step as a transaction (the default, as in a live session), and without the copy that takes, as
    # train_toy_runs trains (Trainer.transactional = False: its failed step ends the experiment anyway)
    times: dict[tuple[str, bool], list[tuple[float, float]]] = {}
    for _ in range(args.repeats):
        for undo in (True, False):
            for name, trainer in (("one", GANTrainer(cfg, mix.sample, batch_size=args.batch_size, seed=0)),
                                  ("many", BatchedGANTrainer(cfg, mix.sample, list(range(K)),
                                                             batch_size=args.batch_size))):
                trainer.transactional = undo
                times.setdefault((name, undo), []).append(seconds_per_step(trainer, args.steps))
    print(f"load average {os.getloadavg()[0]:.2f} (1 min), {args.threads} threads, batch {args.batch_size}")
    for undo in (True, False):
        for i, clock in enumerate(("wall-clock", "CPU")):
            one, many = (statistics.median(t[i] for t in times[name, undo]) for name in ("one", "many"))
            print(f"{'with' if undo else 'without'} the undo copy, {clock:10s}: one run (GANTrainer) {1000 * one:.2f} "
                  f"ms/step, {K} runs (BatchedGANTrainer) {1000 * many:.2f} ms/step: ratio {many / one:.2f}x "
                  f"(goal <= 2x), {K * one / many:.1f}x the runs per second of training them one by one")
    single, batched = times["one", True], times["many", True]

    # why the ratio is what it is: K runs do K times the arithmetic; once that arithmetic runs near the
    # CPU's peak, the ratio cannot fall below K x (one run's FLOPs / peak) / (one run's time)
    one = statistics.median(t[0] for t in single)
    many = statistics.median(t[0] for t in batched)
    f_one = flops_per_step(GANTrainer(cfg, mix.sample, batch_size=args.batch_size, seed=0))
    f_many = flops_per_step(BatchedGANTrainer(cfg, mix.sample, list(range(K)), batch_size=args.batch_size))
    peak = matmul_peak(args.threads)
    print(f"arithmetic: one run {f_one / 1e6:.0f} MFLOP/step at {f_one / one / 1e9:.1f} GFLOP/s; {K} runs "
          f"{f_many / 1e6:.0f} MFLOP/step at {f_many / many / 1e9:.1f} GFLOP/s; a 1024x1024 matrix product "
          f"on {args.threads} thread(s): {peak:.1f} GFLOP/s. At that peak, {K} runs' products alone take "
          f"{1000 * f_many / peak / 1e9:.2f} ms/step, i.e. a ratio of at least {f_many / peak / 1e9 / one:.2f}x")

    # equality, in float64: float32 rounding differences (a batched product sums in another order) grow
    # chaotically in a GAN within some dozens of steps; in float64 they stay far below the data scale
    torch.set_default_dtype(torch.float64)
    sample = lambda n, g: mix.sample(n, g).double()
    batch = BatchedGANTrainer(cfg, sample, list(range(K)), batch_size=args.batch_size)
    alone = [GANTrainer(cfg, sample, batch_size=args.batch_size, seed=k) for k in range(K)]
    for _ in range(args.check_steps):
        batch(KNOBS)
        for t in alone:
            t(KNOBS)
    samples = batch.sample(1000)
    gaps = [(samples[k] - t.sample(1000)).abs().max().item() for k, t in enumerate(alone)]
    torch.set_default_dtype(torch.float32)
    print(f"after {args.check_steps} steps (float64), max |batched run k − GANTrainer(seed=k)| over 1,000 samples: "
          + ", ".join(f"{g:.0e}" for g in gaps) + f" (data scale 1): "
          + ("every run equals its run alone" if max(gaps) < 1e-6 else "NOT EQUAL"))

if __name__ == "__main__":
    main()
