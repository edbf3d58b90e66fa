"""K toy-GAN runs in one vectorised step vs one run: time ratio, and does each batched run equal its run alone?

On the 8-Gaussian ring (``toy_config()``, batch 128) this measures

1. seconds per step of one ``GANTrainer`` (the single-run trainer) and of one ``BatchedGANTrainer`` step
   training K runs (seeds 0 .. K−1). Both conditions alternate ``--repeats`` times; medians are compared.
   Goal (issue 12): K = 8 batched at most 2x the time of one run, i.e. 4x cheaper per run.
2. equality: after ``--check-steps`` steps, the largest difference between run k's samples in the batched
   trainer and ``GANTrainer(seed=k)`` trained alone on the same knobs, in float64 (the summation order of a
   batched product differs, and a GAN amplifies float32 rounding chaotically within dozens of steps;
   tests/test_batched.py checks the same to 1e-9).
3. where a step's time goes: ``torch.profiler`` (CPU) splits one step of each trainer into matrix products
   (``aten::mm/addmm/bmm/baddbmm`` and their backward), Adam (the optimiser steps), random draws and the
   rest (other ops: elementwise, copies, autograd bookkeeping; outside ops: Python = wall time minus op
   time). If only the matrix products grew with K, the ratio could not fall below
   (K runs' matrix products + one run's other time) / one run's time: that measured bound is printed.
4. with ``--compile``: the same timings with G and D compiled by ``torch.compile`` (inductor; on the CPU it
   writes C++ and compiles it with gcc; compile time is excluded), and how far the compiled trainers'
   samples drift from the eager ones' in float32 (compiled kernels sum in another order, too).

It prints figures and asserts nothing about timings (they depend on the machine and its load: the
load average is printed with them). Run from the repository root:

    .venv/bin/python benchmarks/batched_runs.py            # K = 8, 300 timed steps, 3 repeats
    .venv/bin/python benchmarks/batched_runs.py --quick    # a smoke check
    .venv/bin/python benchmarks/batched_runs.py --compile  # also torch.compile (a minute or two more)
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from torch.profiler import ProfilerActivity, profile
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


# what each profiled op counts as: the first op around it (itself, its caller, ...) that names a kind
MATMULS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::linear", "aten::matmul",
           "MmBackward0", "AddmmBackward0", "BmmBackward0", "BaddbmmBackward0"}
RANDOM = {"aten::randn", "aten::randint", "aten::rand", "aten::bernoulli", "aten::bernoulli_", "aten::normal_",
          "aten::uniform_", "aten::random_", "aten::randperm", "aten::multinomial"}
KINDS = ("matrix products", "Adam", "random draws", "other ops", "outside ops")


def kind(event) -> str:
    """The kind of work a profiled op is part of: Adam's step, a matrix product (forward or backward), a
    random draw, or another op (elementwise, copies, autograd's bookkeeping, zero_grad ...)."""
    names = []
    while event is not None:
        names.append(event.name.split(": ")[-1])   # "autograd::engine::evaluate_function: MmBackward0"
        event = event.cpu_parent
    if any(name.startswith("Optimizer.step") for name in names):
        return "Adam"
    if any(name in MATMULS for name in names):
        return "matrix products"
    return "random draws" if any(name in RANDOM for name in names) else "other ops"


def step_breakdown(trainer, steps: int) -> dict[str, float]:
    """Seconds per step of each kind: the self CPU time of its ops on the calling thread (an op running on
    2 threads counts its wall time once), and "outside ops" = the profiled wall time minus all op time,
    i.e. Python. The profiler itself adds about a microsecond per op, most of it to the small ones."""
    for _ in range(5):
        trainer(KNOBS)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        for _ in range(steps):
            trainer(KNOBS)
        wall = time.perf_counter() - start
    seconds = dict.fromkeys(KINDS, 0.0)
    for event in prof.events():
        seconds[kind(event)] += event.self_cpu_time_total / 1e6
    seconds["outside ops"] = wall - sum(seconds.values())
    return {name: s / steps for name, s in seconds.items()}


def print_breakdown(one: dict[str, float], many: dict[str, float], K: int, one_timed: float) -> None:
    """The breakdown as a table, and the ratio if only the matrix products grew with K."""
    total_one, total_many = sum(one.values()), sum(many.values())
    print(f"where a step's time goes (torch.profiler, self CPU time, ms/step and share of the profiled step):")
    print(f"  {'':16s} {'one run':>14s} {f'{K} runs':>14s}")
    for name in KINDS:
        print(f"  {name:16s} {1000 * one[name]:7.2f} {one[name] / total_one:5.0%}  "
              f"{1000 * many[name]:7.2f} {many[name] / total_many:5.0%}")
    print(f"  {'profiled step':16s} {1000 * total_one:7.2f}        {1000 * total_many:7.2f}")
    mm_one, mm_many = one["matrix products"], many["matrix products"]
    print(f"if only the matrix products grew with K, the ratio would be at least "
          f"({1000 * mm_many:.2f} + {1000 * (one_timed - mm_one):.2f}) / {1000 * one_timed:.2f} = "
          f"{(mm_many + one_timed - mm_one) / one_timed:.2f}x (one run's step as timed above, without the "
          f"profiler; with its profiled step: {(mm_many + total_one - mm_one) / total_one:.2f}x)")


def compiled(trainer):
    """``trainer`` with G and D compiled (``nn.Module.compile``: forward and backward, one graph per shape and
    grad mode, specialised to it: ``dynamic=False``); Adam, the random draws and the step's Python stay eager."""
    trainer.G.compile(dynamic=False)
    trainer.D.compile(dynamic=False)
    return trainer


def compile_report(cfg, sample, K: int, batch_size: int, steps: int, repeats: int, check_steps: int) -> None:
    """ms/step of one run and of K runs, eager and compiled (alternating, medians; compile time excluded),
    and the largest difference of 1,000 samples, compiled vs eager, after ``check_steps`` steps in float32."""
    make = {"one": lambda: GANTrainer(cfg, sample, batch_size=batch_size, seed=0),
            "many": lambda: BatchedGANTrainer(cfg, sample, list(range(K)), batch_size=batch_size)}
    eager = {name: new() for name, new in make.items()}
    fast, compile_s, first, gap = {}, {}, {}, {}
    for name, new in make.items():
        start = time.perf_counter()
        fast[name] = compiled(new())
        for _ in range(3):   # the first calls compile: D on 2B and B rows, G with and without grad
            fast[name](KNOBS)
        compile_s[name] = time.perf_counter() - start
        reference = new()    # from the same start: 3 steps already, then check_steps more on each
        for _ in range(3):
            reference(KNOBS)
        first[name] = (reference.sample(1000) - fast[name].sample(1000)).abs().max().item()
        for _ in range(check_steps):
            reference(KNOBS)
            fast[name](KNOBS)
        gap[name] = (reference.sample(1000) - fast[name].sample(1000)).abs().max().item()
    times: dict[tuple[str, bool], list[float]] = {}
    for _ in range(repeats):
        for name in make:
            for is_compiled, trainer in ((False, eager[name]), (True, fast[name])):
                times.setdefault((name, is_compiled), []).append(seconds_per_step(trainer, steps)[0])
    print(f"torch.compile (G and D; compile time excluded: one run {compile_s['one']:.0f} s, {K} runs "
          f"{compile_s['many']:.0f} s), load average {os.getloadavg()[0]:.2f}:")
    med = {key: statistics.median(t) for key, t in times.items()}
    for is_compiled in (False, True):
        one, many = med["one", is_compiled], med["many", is_compiled]
        print(f"  {'compiled' if is_compiled else 'eager   '}: one run {1000 * one:.2f} ms/step, {K} runs "
              f"{1000 * many:.2f} ms/step: ratio {many / one:.2f}x ({many / med['one', False]:.2f}x eager one run)")
    print(f"  max |compiled − eager| over 1,000 samples (float32, data scale 1) after 3 steps: one run "
          f"{first['one']:.1e}, {K} runs {first['many']:.1e}; after {3 + check_steps} steps: one run "
          f"{gap['one']:.1e}, {K} runs {gap['many']:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8, help="K, runs trained together")
    parser.add_argument("--steps", type=int, default=300, help="timed steps per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--check-steps", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--profile-steps", type=int, default=20, help="profiled steps per breakdown")
    parser.add_argument("--quick", action="store_true", help="K = 4, 40 steps, 1 repeat")
    parser.add_argument("--compile", action="store_true", help="also time G and D compiled by torch.compile")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.steps, args.repeats, args.check_steps, args.profile_steps = 4, 40, 1, 10, 5
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

    # measured, not estimated: the profiler's split of each step (alternating, medians over repeats)
    parts: dict[str, list[dict[str, float]]] = {"one": [], "many": []}
    for _ in range(args.repeats):
        parts["one"].append(step_breakdown(GANTrainer(cfg, mix.sample, batch_size=args.batch_size, seed=0),
                                           args.profile_steps))
        parts["many"].append(step_breakdown(BatchedGANTrainer(cfg, mix.sample, list(range(K)),
                                                              batch_size=args.batch_size), args.profile_steps))
    median = {name: {part: statistics.median(p[part] for p in runs) for part in KINDS}
              for name, runs in parts.items()}
    print_breakdown(median["one"], median["many"], K, one)
    if args.compile:
        compile_report(cfg, mix.sample, K, args.batch_size, args.steps, args.repeats, args.check_steps)

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
