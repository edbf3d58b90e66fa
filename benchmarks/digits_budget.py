"""How many steps does notebook 02's baseline GAN need to reach 80 % confident samples over 10 classes?

Notebook 02 trains every method for the same number of steps (its full mode fits 5 minutes). This trains its
baseline, the non-saturating GAN, with the notebook's own code (``train_digits_batch``, batch 64, all training
digits) for longer, on *tuning* seeds (200-204, not the notebook's), at the notebook's learning rate and at half
of it, and prints the confident share every ``--every`` steps (mean ± 95 % t-interval over seeds) and the classes
covered at the end. The two learning rates train side by side in two processes. It asserts nothing.

    .venv/bin/python benchmarks/digits_budget.py            # 4,000 steps, about 4 minutes on 2 cores
    .venv/bin/python benchmarks/digits_budget.py --quick    # a smoke check
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import date

import torch

from ragteach.data.digits import load_digits
from ragteach.lessons import relative_augmentation as dx
from ragteach.metrics.samples import DigitJudge
from ragteach.parallel import run_jobs
from ragteach.stats import format_interval


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--every", type=int, default=400)
    parser.add_argument("--quick", action="store_true", help="60 steps, 2 seeds")
    args = parser.parse_args()
    steps, every, seeds = (60, 30, [200, 201]) if args.quick else (args.steps, args.every, [200, 201, 202, 203, 204])
    d = load_digits()
    judge = DigitJudge(d.x_train, d.y_train)
    real = dx.real_reference(judge, d.x_train, d.x_test)
    lrs = {"2e-3 (notebook 02)": 2e-3, "1e-3": 1e-3}
    jobs = {name: dict(method="GAN (non-saturating)", train_sets=[d.x_train], judge_seeds=seeds, x_held_out=d.x_test,
                       judge=judge, real=real, steps=steps, eval_every=every, lr=lr) for name, lr in lrs.items()}
    started = time.perf_counter()
    batches = run_jobs(dx.train_digits_batch, jobs, workers=min(2, os.cpu_count() or 1))
    print(f"# {date.today()}, {os.cpu_count()} cores, {platform.machine()}, torch {torch.__version__}; "
          f"{time.perf_counter() - started:.0f} s; command: python benchmarks/digits_budget.py"
          + (" --quick" if args.quick else ""))
    print(f"confident % of notebook 02's GAN (batch 64, {len(d.x_train)} digits), mean ± 95 % interval over seeds {seeds}")
    evaluated = batches[next(iter(lrs))][0].curve("step")   # the same evaluation steps in every run
    print("| lr | " + " | ".join(f"step {s}" for s in evaluated) + " | classes at the end |")
    print("|---" * (len(evaluated) + 2) + "|")
    for name, batch in batches.items():
        curve = [format_interval([r.curve("confident %")[i] for r in batch]) for i in range(len(evaluated))]
        print(f"| {name} | " + " | ".join(curve) + f" | {format_interval([r.scores['classes'] for r in batch])} |")


if __name__ == "__main__":
    main()
