"""The compute cost of article 001's distance term λ·E||G(z) − x||², as ratios to a plain step.

On the digits GAN of notebook 02 (``digits_config()``, batch 64, all 1,347 training digits) this times
full training steps (D step + G step) for: λ = 0 (no term), λ > 0 with random x, nearest x (a distance
from every sample to every training image) and fixed x. Conditions alternate over ``--repeats`` rounds
and the median time per step is reported. It prints figures and asserts nothing.

    .venv/bin/python benchmarks/relative_cost.py            # 300 steps per measurement
    .venv/bin/python benchmarks/relative_cost.py --quick    # 60 steps, a smoke check
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from ragteach.data.digits import load_digits
from ragteach.lessons.relative_augmentation import digits_gan

CONDITIONS = {"λ = 0 (no term)": dict(lam=0.0), "λ = 0.1, random x": dict(lam=0.1),
              "λ = 0.1, nearest x": dict(lam=0.1, pairing="nearest"), "λ = 0.1, fixed x": dict(lam=0.1, pairing="fixed")}


def time_per_step(x_train: torch.Tensor, steps: int, **knobs) -> float:
    trainer, session = digits_gan(x_train, seed=0, lam=knobs.get("lam", 0.0), pairing=knobs.get("pairing", "random"),
                                  g_loss="article")
    values = session.knobs.snapshot()
    for _ in range(10):  # warm-up
        trainer(values)
    started = time.perf_counter()
    for _ in range(steps):
        trainer(values)
    return (time.perf_counter() - started) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    steps, repeats = (60, 1) if args.quick else (args.steps, args.repeats)
    x_train = load_digits().x_train
    times: dict[str, list[float]] = {name: [] for name in CONDITIONS}
    for _ in range(repeats):
        for name, knobs in CONDITIONS.items():
            times[name].append(time_per_step(x_train, steps, **knobs))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}; {steps} steps x {repeats} rounds, median")
    base = statistics.median(times["λ = 0 (no term)"])
    print(f"{'condition':24s} {'ms/step':>8s} {'ratio to λ = 0':>15s}")
    for name, ts in times.items():
        t = statistics.median(ts)
        print(f"{name:24s} {1000 * t:8.2f} {t / base:15.2f}")


if __name__ == "__main__":
    main()
