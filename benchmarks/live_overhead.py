"""What live previews cost a training run, and how fast a knob change reaches the training step.

On the 8-Gaussian ring GAN (``toy_config()``, batch 128, fixed seeds) this measures:

1. throughput in steps/s of ``TrainingSession.run(n, progress=False)`` without previews, against
   ``session.start(n)`` + ``session.wait()`` while a ``LiveView`` redraws ``toy_preview`` and
   ``history_preview`` (ipywidgets works without a kernel). The two conditions alternate, each
   repeated ``--repeats`` times on a freshly seeded trainer; the medians are compared.
   Goal: with previews, training is at most 10 % slower. Also: redraws per second, render times.
2. latency from ``session.set_knob("lr_d", v)`` on the main thread to the first step whose knob
   values contain ``v`` (the step function is wrapped to record ``perf_counter()`` when it receives
   its knob values), over ``--changes`` changes at random intervals, with and without a LiveView.
   Goal: at most 0.5 s.
3. what the trainer contract's all-or-nothing step costs: a plain ``train_step`` against the
   transactional ``trainer(knobs)`` (which copies weights, Adam moments and the RNG state first), and
   training throughput while another thread calls ``session.set_knob`` in a tight loop (each call waits
   1 ms while training runs, so that such a loop cannot starve training of the interpreter lock).

It prints figures and asserts nothing about timings (they depend on the machine and its load).
Run from the repository root:

    .venv/bin/python benchmarks/live_overhead.py            # 1,500 steps per run
    .venv/bin/python benchmarks/live_overhead.py --quick    # 300 steps per run, a smoke check
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import time

import torch

from ragteach.data.toy2d import ring
from ragteach.gan.models import toy_config
from ragteach.gan.plots import toy_preview
from ragteach.gan.train import GANTrainer, gan_knobs
from ragteach.live.preview import history_preview
from ragteach.live.session import TrainingSession
from ragteach.live.widgets import LiveView

SEED = 0


def make_session(seen: list | None = None):
    """A fresh, identically seeded GAN session; with ``seen``, record (time, lr_d) at each step."""
    mix = ring()
    trainer = GANTrainer(toy_config(), mix.sample, batch_size=128, seed=SEED)
    step = trainer
    if seen is not None:
        def step(k):
            seen.append((time.perf_counter(), k["lr_d"]))
            return trainer(k)
    return TrainingSession(step, gan_knobs(), state={"gan": trainer}), trainer, mix


def make_view(session, trainer, mix) -> LiveView:
    return LiveView(session, [toy_preview(trainer, mix), history_preview(["loss_d", "loss_g"])])


def throughput(n: int, previews: bool) -> tuple[float, float]:
    """(steps/s, redraws/s) for n steps from a fresh session."""
    session, trainer, mix = make_session()
    if not previews:
        t0 = time.perf_counter()
        session.run(n, progress=False)
        return n / (time.perf_counter() - t0), 0.0
    view = make_view(session, trainer, mix)  # its first (untimed) drawing happens here
    redraws = view.redraws
    t0 = time.perf_counter()
    session.start(n)
    session.wait()
    elapsed = time.perf_counter() - t0
    redraws = view.redraws - redraws
    view.close()  # waits for a redraw in progress
    return n / elapsed, redraws / elapsed


def knob_latency(changes: int, previews: bool) -> list[float]:
    """Seconds from set_knob to the first step using the new value, one per change."""
    seen: list[tuple[float, float]] = []
    session, trainer, mix = make_session(seen)
    view = make_view(session, trainer, mix) if previews else None
    rng = random.Random(SEED)
    sets = []
    session.start()  # until stop()
    try:
        time.sleep(0.3)
        for i in range(changes):
            time.sleep(rng.uniform(0.02, 0.2))
            value = 1e-3 * (1 + (i + 1) / 1000)  # a new value each time, so the first use is unambiguous
            t = time.perf_counter()
            session.set_knob("lr_d", value)
            sets.append((t, value))
        deadline = time.perf_counter() + 5.0
        while (not seen or seen[-1][1] != sets[-1][1]) and time.perf_counter() < deadline:
            time.sleep(0.005)
    finally:
        session.stop()
        if view is not None:
            view.close()  # waits for a redraw in progress
    session.wait()  # re-raises a training error, if any
    return [next((ts for ts, v in seen if v == value), float("inf")) - t for t, value in sets]


def transaction_cost(n: int) -> tuple[float, float]:
    """(ms per plain train_step, ms per transactional step) on identically seeded trainers."""
    out = []
    for transactional in (False, True):
        _, trainer, _ = make_session()
        knobs = gan_knobs().snapshot()
        step = trainer if transactional else trainer.train_step
        t0 = time.perf_counter()
        for _ in range(n):
            step(dict(knobs))
        out.append(1000 * (time.perf_counter() - t0) / n)
    return out[0], out[1]


def starved_throughput(seconds: float = 2.0) -> tuple[float, float, int]:
    """(steps/s alone, steps/s while a thread sets a knob as fast as it can, knob sets made)."""
    import threading

    rates, sets = [], 0
    for hammer in (False, True):
        session, _, _ = make_session()
        stop = threading.Event()

        def loop() -> None:
            nonlocal sets
            while not stop.is_set():
                session.set_knob("lr_d", 1e-3 if sets % 2 else 2e-3)
                sets += 1

        session.start()
        time.sleep(0.3)
        thread = threading.Thread(target=loop) if hammer else None
        if thread:
            thread.start()
        before = session.step
        time.sleep(seconds)
        rates.append((session.step - before) / seconds)
        stop.set()
        if thread:
            thread.join()
        session.stop()
    return rates[0], rates[1], sets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1500, help="steps per throughput run")
    ap.add_argument("--quick", action="store_true", help="300 steps per run (a smoke check)")
    ap.add_argument("--repeats", type=int, default=3, help="runs per condition, alternating")
    ap.add_argument("--changes", type=int, default=20, help="knob changes per latency condition")
    args = ap.parse_args()
    n = 300 if args.quick else args.steps

    print(f"torch {torch.__version__}, {torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}; ring GAN, batch 128, {n} steps x {args.repeats} runs")
    warm, trainer, mix = make_session()  # first-call costs (allocator, fonts) out of the timings
    warm.run(50, progress=False)
    previews = [toy_preview(trainer, mix), history_preview(["loss_d", "loss_g"])]
    for p in previews:
        p.render(warm)

    runs: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for _ in range(args.repeats):
        for with_previews in (False, True):
            runs[with_previews].append(throughput(n, with_previews))
    latency = {p: knob_latency(args.changes, p) for p in (False, True)}

    print(f"\n{'condition':<24}{'steps/s':>9}{'redraws/s':>11}   {'runs (steps/s)':<22}"
          f"{'knob latency ms: median':>24}{'max':>8}")
    for p, name in ((False, "no previews"), (True, "LiveView, 2 previews")):
        sps = [r[0] for r in runs[p]]
        lat = [1000 * x for x in latency[p]]
        print(f"{name:<24}{statistics.median(sps):>9.0f}{statistics.median(r[1] for r in runs[p]):>11.2f}   "
              f"{' '.join(f'{x:.0f}' for x in sps):<22}{statistics.median(lat):>24.1f}{max(lat):>8.1f}")

    ratio = statistics.median(r[0] for r in runs[False]) / statistics.median(r[0] for r in runs[True])
    worst = max(max(v) for v in latency.values())
    print(f"\ntime per step, with previews / without: {ratio:.2f} ({100 * (ratio - 1):+.0f} %; "
          f"goal <= 10 % slower: {'met' if ratio <= 1.10 else 'NOT met'})")
    print(f"knob change to first step using it: max {1000 * worst:.1f} ms "
          f"(goal <= 500 ms: {'met' if worst <= 0.5 else 'NOT met'})")
    times = {}
    for p in previews:  # on a history of 50 steps
        t0 = time.perf_counter()
        p.render(warm)
        times[p.name] = 1000 * (time.perf_counter() - t0)
    print(f"one render (collect + draw + PNG, {warm.step}-step history): " + ", ".join(f"{k} {v:.0f} ms" for k, v in times.items()))
    plain, transactional = transaction_cost(n)
    print(f"all-or-nothing step: plain train_step {plain:.2f} ms, transactional {transactional:.2f} ms "
          f"(x{transactional / plain:.2f})")
    alone, hammered, sets = starved_throughput()
    print(f"while another thread sets a knob in a tight loop ({sets} sets): {hammered:.0f} steps/s vs "
          f"{alone:.0f} alone (x{hammered / alone:.2f})")


if __name__ == "__main__":
    main()
