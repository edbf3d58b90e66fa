"""Does flushing denormal floats to zero speed up notebook 01's toy-GAN runs, and does it change them?

A float32 number below 1.2e-38 in magnitude is *denormal*; x86 CPUs compute with such numbers in slow
microcode. Late in a toy GAN's training (learning rate falling towards 1e-5) many gradients and Adam
moments become denormal. ``ragteach.training.flush_denormals`` makes the CPU treat them as zero while
``train_toy_runs`` trains. This script trains notebook 01's GAN runs (ring + grid x 5 seeds, its recipe
``TOY_RECIPE``, D of ``TOY_D_HIDDEN``) twice in this process, with and without flushing, and prints both
times, their ratio, and whether every run's scores are the same. It asserts nothing: the times depend on the
machine.

    .venv/bin/python benchmarks/denormals.py            # about 6 minutes on one core
    .venv/bin/python benchmarks/denormals.py --quick    # a smoke check (300 steps)
"""
from __future__ import annotations

import argparse
import contextlib
import os
import time
from unittest import mock

import torch

import ragteach.gan.experiments as experiments
from ragteach.data.toy2d import grid, ring
from ragteach.gan.models import toy_config

RECIPE = {**experiments.TOY_RECIPE, "eval_every": experiments.TOY_RECIPE["steps"] // 10,
          "cfg": toy_config(1, experiments.TOY_D_HIDDEN)}


def timed(flush: bool, recipe: dict) -> tuple[float, list]:
    started = time.perf_counter()
    if flush:
        runs = experiments.train_toy_runs([ring(), grid()], seeds=[0, 1, 2, 3, 4], **recipe)
    else:       # the same call with flushing replaced by a block that changes nothing
        with mock.patch.object(experiments, "flush_denormals", contextlib.nullcontext):
            runs = experiments.train_toy_runs([ring(), grid()], seeds=[0, 1, 2, 3, 4], **recipe)
    return time.perf_counter() - started, [(r.curve("modes"), r.curve("high_quality")) for r in runs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 steps: a smoke check")
    args = parser.parse_args()
    torch.set_num_threads(1)
    recipe = {**RECIPE, "steps": 300, "eval_every": 100} if args.quick else RECIPE
    timed(True, {**recipe, "steps": 20, "eval_every": 20})     # warm-up: the first run pays one-off costs
    plain, plain_scores = timed(False, recipe)
    flushed, flushed_scores = timed(True, recipe)
    print(f"notebook 01's GAN runs (10 runs, {recipe['steps']} steps, 1 thread): denormals computed {plain:.1f} s, "
          f"flushed to zero {flushed:.1f} s, ratio {plain / flushed:.2f}x; every run's modes and high-quality share "
          f"at every evaluation {'the same' if plain_scores == flushed_scores else 'DIFFERENT'}; "
          f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
