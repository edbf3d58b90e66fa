"""Fixed-seed GAN experiments on the 2D mixtures, the way the notebooks run and tabulate them."""
from __future__ import annotations

import inspect
import pickle
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import torch

from ragteach.data.toy2d import GaussianMixture2D
from ragteach.gan.models import Discriminator, GANConfig, Generator, toy_config
from ragteach.gan.train import GANTrainer, gan_knobs, tensor_sampler
from ragteach.live.session import TrainingSession
from ragteach.metrics.modes import ModeStats, miss_shares, mode_stats
from ragteach.stats import Difference, difference, format_interval, interval
from ragteach.training import check_positive_int, flush_denormals, without_undo


@dataclass
class ToyRun:
    """One training run: the mode score every ``eval_every`` steps and at the end.

    ``session`` drives this run's trainer; for runs trained together (:func:`train_toy_runs`) it drives a
    :class:`~ragteach.gan.batched.BatchedGANTrainer` and ``index`` says which of its runs this is."""

    method: str
    mixture: str
    seed: int
    steps: list[int] = field(default_factory=list)
    modes: list[int] = field(default_factory=list)
    high_quality: list[float] = field(default_factory=list)
    d_accuracy: list[float] = field(default_factory=list)   # D's accuracy on fresh real and fake samples (0.5: chance)
    seconds: float = 0.0
    session: TrainingSession | None = None
    index: int | None = None
    data: GaussianMixture2D | None = None   # the mixture itself, to score further samples
    kept: float | None = None               # rejection_runs only: share of G's draws that D kept

    @property
    def final(self) -> tuple[int, float]:
        return self.modes[-1], self.high_quality[-1]

    def sample(self, n: int = 2500) -> torch.Tensor:
        """``n`` samples of this run's generator (fixed noise, as ``GANTrainer.sample``)."""
        if self.session is None:
            raise ValueError("this run kept no session (it was built from numbers), so it cannot sample")
        trainer = self.session.step_fn
        return trainer.sample(n) if self.index is None else trainer.sample(n)[self.index]

    def networks(self) -> tuple[Generator, Discriminator]:
        """This run's G and D as plain modules (for a run trained among others, its own slice of them)."""
        if self.session is None:
            raise ValueError("this run kept no session (it was built from numbers), so it has no networks")
        trainer = self.session.step_fn
        if self.index is None:
            return trainer.G, trainer.D
        return trainer.generator(self.index), trainer.discriminator(self.index)


@dataclass(frozen=True)
class Schedule:
    """The toy runs' learning rates: each knob keeps its starting value lr0 until the last ``fraction`` of
    the steps, then falls to ``low``, at once (``decay="step"``) or geometrically (``decay="exp"``:
    lr_t = lr0 · (low/lr0)^((t − t0)/(T − t0)), updated ``updates`` times). A large rate finds the
    modes, a small one puts the samples onto them. ``low=None``: no change."""

    low: float | None = None
    fraction: float = 0.25
    decay: str = "step"
    updates: int = 50

    def __post_init__(self) -> None:
        if not 0.0 <= self.fraction <= 1.0:
            raise ValueError(f"sharpen_fraction must be in [0, 1], got {self.fraction}")
        if self.decay not in ("step", "exp"):
            raise ValueError(f"lr_decay must be 'step' or 'exp', got {self.decay!r}")
        if self.low is not None and not self.low > 0:
            raise ValueError(f"sharpen_lr must be > 0, got {self.low}")

    def start(self, steps: int) -> int:
        """The step at which the rates start to fall."""
        return steps - int(self.fraction * steps) if self.low is not None else steps

    def rate(self, lr0: float, step: int, steps: int) -> float:
        t0 = self.start(steps)
        if self.low is None or step < t0:
            return lr0
        if self.decay == "step":
            return self.low
        return lr0 * (self.low / lr0) ** ((step - t0) / max(1, steps - t0))

    def chunks(self, steps: int, eval_every: int) -> list[tuple[int, int, bool]]:
        """(first step, length, evaluate after?) for every stretch of constant rates."""
        evals = set(range(eval_every, steps, eval_every)) | {steps}
        cuts = set(evals)
        t0 = self.start(steps)
        if 0 < t0 < steps:
            cuts.add(t0)
            if self.decay == "exp":
                cuts |= set(range(t0, steps, max(1, (steps - t0) // self.updates)))
        out, done = [], 0
        for end in sorted(cuts):
            out.append((done, end - done, end in evals))
            done = end
        return out


def _train_chunks(session: TrainingSession, schedule: Schedule, steps: int, eval_every: int, score: Any,
                  progress: bool, desc: str) -> None:
    """Run ``session`` through the schedule, calling ``score()`` after every evaluation stretch."""
    check_positive_int("steps", steps)
    check_positive_int("eval_every", eval_every)
    start = session.knobs.snapshot()
    lr0 = {"lr_g": start["lr_g"], "lr_d": start["lr_d"]}
    for first, length, evaluate in schedule.chunks(steps, eval_every):
        if first >= schedule.start(steps):
            session.knobs.update(**{k: schedule.rate(v, first, steps) for k, v in lr0.items()})
        session.run(length, progress=progress, desc=desc, reraise_interrupt=True)
        if evaluate:
            score()


def _eval_real(mixture: GaussianMixture2D, n: int, seed: int = 4321) -> torch.Tensor:
    """``n`` fresh real samples for scoring D, the same for every run and evaluation (a fixed seed)."""
    return mixture.sample(n, torch.Generator().manual_seed(seed))


def train_toy(mixture: GaussianMixture2D, method: str = "GAN", pack: int = 1, seed: int = 0,
              steps: int = 2000, eval_every: int = 250, batch_size: int = 128, n_eval: int = 2500,
              sharpen_lr: float | None = None, sharpen_fraction: float = 0.25, lr_decay: str = "step",
              progress: bool = False, trainer_kw: dict[str, Any] | None = None, **knob_values: Any) -> ToyRun:
    """Train one 2D GAN for ``steps`` steps and score ``n_eval`` samples every ``eval_every`` steps.

    batch_size: examples D judges per step. With packing (``pack`` = m) each example is m samples side by
        side, so G makes ``batch_size · m`` samples per step, as in the PacGAN code (its D minibatch holds
        the same number of packed examples for every m).
    sharpen_lr: if given, both learning rates fall to this value over the last ``sharpen_fraction`` of
        the steps, at once (``lr_decay="step"``) or geometrically (``"exp"``); see :class:`Schedule`.
    trainer_kw: more GANTrainer arguments (g_loss, objective, distance_data, ...).
    knob_values: initial knob values (lr_g, lr_d, instance_noise, label_smoothing, lam, ...).
    """
    trainer = GANTrainer(toy_config(pack), mixture.sample, batch_size=batch_size * pack, seed=seed,
                         **(trainer_kw or {}))
    session = TrainingSession(trainer, gan_knobs(**knob_values), state={"gan": trainer})
    run = ToyRun(method, mixture.name, seed, session=session, data=mixture)
    schedule = Schedule(sharpen_lr, sharpen_fraction, lr_decay)
    n_packed = n_eval - n_eval % pack              # D judges whole packs
    real = _eval_real(mixture, n_packed)           # the same real samples at every evaluation

    def score() -> None:
        fake = trainer.sample(n_eval)
        stats: ModeStats = mode_stats(fake, mixture)
        run.steps.append(session.step)
        run.modes.append(stats.modes_captured)
        run.high_quality.append(stats.high_quality)
        run.d_accuracy.append(trainer.d_accuracy(real, fake[:n_packed]))

    started = time.perf_counter()
    _train_chunks(session, schedule, steps, eval_every, score, progress, f"{method} seed {seed}")
    run.seconds = time.perf_counter() - started
    return run


def train_toy_runs(mixtures: GaussianMixture2D | Sequence[GaussianMixture2D], method: str = "GAN",
                   pack: int = 1, seeds: Sequence[int] = (0, 1, 2, 3, 4), steps: int = 2000, eval_every: int = 250,
                   batch_size: int = 128, n_eval: int = 2500, sharpen_lr: float | None = None,
                   sharpen_fraction: float = 0.25, lr_decay: str = "step", cfg: GANConfig | None = None,
                   betas: tuple[float, float] = (0.5, 0.999), progress: bool = False,
                   **knob_values: Any) -> list[ToyRun]:
    """Every (mixture, seed) pair as one run, all trained together in one vectorised step.

    The same recipe as :func:`train_toy` (same batches, noise and initial weights per seed, up to float
    rounding), but one :class:`~ragteach.gan.batched.BatchedGANTrainer` step trains all
    ``len(mixtures) · len(seeds)`` runs, so a multi-seed table costs little more than one run.
    betas: Adam's (β1, β2) for both players; (0.5, 0.999) is DCGAN's setting, (0.5, 0.9) WGAN-GP's toy one.
    Returns the runs mixture by mixture, seed by seed; ``seconds`` is each run's share of the wall time.
    """
    session, runs = _toy_runs_session(mixtures, method, pack, seeds, batch_size, cfg, knob_values, betas)
    schedule = Schedule(sharpen_lr, sharpen_fraction, lr_decay)
    n_packed = n_eval - n_eval % pack                                     # D judges whole packs
    real = torch.stack([_eval_real(run.data, n_packed) for run in runs])  # the same at every evaluation

    def score() -> None:
        fake = session.step_fn.sample(n_eval)
        accuracy = session.step_fn.d_accuracy(real, fake[:, :n_packed])
        for run, x, acc in zip(runs, fake, accuracy.tolist()):
            stats = mode_stats(x, run.data)
            run.steps.append(session.step)
            run.modes.append(stats.modes_captured)
            run.high_quality.append(stats.high_quality)
            run.d_accuracy.append(acc)

    started = time.perf_counter()
    with flush_denormals(), without_undo(session.step_fn):
        _train_chunks(session, schedule, steps, eval_every, score, progress, f"{method}: {len(runs)} runs at once")
    for run in runs:
        run.seconds = (time.perf_counter() - started) / len(runs)
    return runs


def _toy_runs_session(mixtures: GaussianMixture2D | Sequence[GaussianMixture2D], method: str, pack: int,
                      seeds: Sequence[int], batch_size: int, cfg: GANConfig | None,
                      knob_values: dict[str, Any],
                      betas: tuple[float, float] = (0.5, 0.999)) -> tuple[TrainingSession, list[ToyRun]]:
    """The untrained session of :func:`train_toy_runs` and its empty runs, mixture by mixture, seed by seed."""
    from ragteach.gan.batched import BatchedGANTrainer

    mixtures = [mixtures] if isinstance(mixtures, GaussianMixture2D) else list(mixtures)
    pairs = [(m, s) for m in mixtures for s in seeds]
    if not pairs:
        raise ValueError("give at least one mixture and one seed")
    cfg = cfg or toy_config(pack)
    if cfg.pack != pack:
        raise ValueError(f"cfg.pack={cfg.pack} but pack={pack}: give the same packing once")
    trainer = BatchedGANTrainer(cfg, [m.sample for m, _ in pairs], [s for _, s in pairs],
                                batch_size=batch_size * pack, betas=betas)
    session = TrainingSession(trainer, gan_knobs(**knob_values), state={"gan": trainer})
    return session, [ToyRun(method, m.name, s, session=session, index=i, data=m) for i, (m, s) in enumerate(pairs)]


def _toy_runs_in_worker(job: tuple[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """One job of :func:`train_toy_runs_side_by_side` in a worker process on one torch thread: its name and
    plain, picklable results."""
    name, kwargs = job
    torch.set_num_threads(1)
    runs = train_toy_runs(**kwargs, progress=False)
    return name, {"checkpoint": runs[0].session.checkpoint(),
                  "scores": [(r.steps, r.modes, r.high_quality, r.d_accuracy, r.seconds) for r in runs]}


def train_toy_runs_side_by_side(jobs: Mapping[str, dict[str, Any]], workers: int = 1,
                                progress: bool = False) -> dict[str, list[ToyRun]]:
    """Several independent :func:`train_toy_runs` calls, ``name -> its keyword arguments``, ``workers`` at a time.

    One batched step fills one core; two cores finish two jobs in about the time of one when each job has its
    own process with one torch thread (a second thread on a shared step mostly waits). With ``workers=1`` the
    jobs run here, one after the other. Every job's runs are exactly those ``train_toy_runs(**kwargs)`` gives
    in this process (same seeds, same draws); their session is rebuilt here from the worker's checkpoint,
    ready to sample. Jobs start in the order given: put the longest first.

    Interrupting (Ctrl-C, the notebook's stop button) stops every job still training and loses it; the jobs that
    had finished are kept, and the next call with the same job (name and arguments) takes them back instead of
    training them again."""
    check_positive_int("workers", workers)
    if not jobs:
        raise ValueError("give at least one job, e.g. {'GAN': dict(mixtures=[ring()], seeds=[0, 1])}")
    for name, kwargs in jobs.items():
        try:
            inspect.signature(train_toy_runs).bind(**kwargs)
        except TypeError as exc:
            raise ValueError(f"job {name!r} does not fit train_toy_runs: {exc}") from None
    keys = {name: _job_key(name, kwargs) for name, kwargs in jobs.items()}
    out = {name: _FINISHED_BEFORE_INTERRUPT.pop(key) for name, key in keys.items() if key in _FINISHED_BEFORE_INTERRUPT}
    if out:
        print(f"reusing {len(out)} job(s) that finished before the last interrupt: {', '.join(out)}")
    todo = {name: kwargs for name, kwargs in jobs.items() if name not in out}
    try:
        if workers == 1:
            for name, kwargs in todo.items():
                out[name] = train_toy_runs(**kwargs, progress=progress)
        else:
            _train_in_workers(todo, workers, progress, out)
    except KeyboardInterrupt:
        for name in out:
            _FINISHED_BEFORE_INTERRUPT[keys[name]] = out[name]
        others = ", ".join(n for n in jobs if n not in out)
        print(f"Interrupted: the finished jobs ({', '.join(out)}) are kept; run the same call again to train only "
              f"the others ({others})." if out else f"Interrupted: no job had finished ({others}).")
        raise
    return {name: out[name] for name in jobs}


# Jobs of train_toy_runs_side_by_side that finished before an interrupt, by job (name and arguments): the next
# call with the same job takes them back, once, so stopping a long cell loses only the jobs still training.
_FINISHED_BEFORE_INTERRUPT: dict[bytes, list[ToyRun]] = {}


def _job_key(name: str, kwargs: Mapping[str, Any]) -> bytes:
    return pickle.dumps((name, sorted(kwargs.items(), key=lambda item: item[0])))


def _train_in_workers(jobs: Mapping[str, dict[str, Any]], workers: int, progress: bool,
                      out: dict[str, list[ToyRun]]) -> None:
    """Train ``jobs`` in ``workers`` processes; put each job's runs into ``out`` as soon as it finishes."""
    import multiprocessing

    from ragteach.config import progress as progress_bar

    n = min(workers, len(jobs))
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked OpenMP state, works in notebooks
    # leaving the block, also by an interrupt (Ctrl-C, the notebook's stop button), terminates the workers at once
    with ctx.Pool(n) as pool:
        done = pool.imap_unordered(_toy_runs_in_worker, list(jobs.items()))
        for name, result in progress_bar(done, total=len(jobs), enabled=progress, desc=f"{len(jobs)} jobs on {n} processes"):
            out[name] = _runs_from_worker(jobs[name], result)


def _runs_from_worker(kwargs: Mapping[str, Any], result: Mapping[str, Any]) -> list[ToyRun]:
    """A worker's job as runs in this process: the session rebuilt from its checkpoint, the scores copied."""
    a = inspect.signature(train_toy_runs).bind(**kwargs)   # train_toy_runs' arguments, defaults filled in
    a.apply_defaults()
    args = a.arguments
    session, runs = _toy_runs_session(args["mixtures"], args["method"], args["pack"], args["seeds"],
                                      args["batch_size"], args["cfg"], args["knob_values"], args["betas"])
    session.restore(result["checkpoint"])
    for run, (steps, modes, hq, accuracy, seconds) in zip(runs, result["scores"]):
        run.steps, run.modes, run.high_quality, run.d_accuracy, run.seconds = steps, modes, hq, accuracy, seconds
    return runs


def _word(sign: int, higher: str, lower: str, same: str = "no clear difference") -> str:
    return higher if sign > 0 else lower if sign < 0 else same


# ----------------------------------------------------------------------------- tables
def _by_method_and_mixture(runs: Sequence[ToyRun]) -> dict[tuple[str, str], list[ToyRun]]:
    groups: dict[tuple[str, str], list[ToyRun]] = {}
    for r in runs:
        groups.setdefault((r.method, r.mixture), []).append(r)
    return groups


def summary_rows(runs: Sequence[ToyRun]) -> list[dict[str, Any]]:
    """One row per (method, mixture): final modes and high-quality %, mean ± 95 % t-interval over seeds."""
    groups = _by_method_and_mixture(runs)
    rows = []
    for (method, mixture), rs in groups.items():
        modes = [r.final[0] for r in rs]
        hq = [100 * r.final[1] for r in rs]
        rows.append({"method": method, "mixture": mixture, "runs": len(rs), "modes": format_interval(modes),
                     "high quality %": format_interval(hq), "modes_mean": interval(modes)[0],
                     "modes_ci": interval(modes)[1], "hq_mean": interval(hq)[0], "hq_ci": interval(hq)[1],
                     "seconds/run": f"{statistics.fmean(r.seconds for r in rs):.1f}"})
    return rows


def real_ceiling_rows(mixtures: Sequence[GaussianMixture2D], seeds: Sequence[int] = (0, 1, 2, 3, 4),
                      n: int = 2500) -> list[dict[str, Any]]:
    """The same score for ``n`` *real* samples: the best any generator can expect. With σ-wide Gaussians,
    a real point lies within 3σ of its centre with probability 1 − e^{−9/2} ≈ 98.9 % (2-d)."""
    rows = []
    for mix in mixtures:
        stats = [mode_stats(mix.sample(n, torch.Generator().manual_seed(s)), mix) for s in seeds]
        modes, hq = [s.modes_captured for s in stats], [100 * s.high_quality for s in stats]
        rows.append({"method": "real data (ceiling)", "mixture": mix.name, "runs": len(stats),
                     "modes": format_interval(modes), "high quality %": format_interval(hq),
                     "modes_mean": interval(modes)[0], "hq_mean": interval(hq)[0]})
    return rows


MISS_COLUMNS = ["method", "mixture", "runs", "within 3σ %", "3σ to 6σ %", "beyond 6σ %"]


def _miss_values(samples: Sequence[torch.Tensor], mixture: GaussianMixture2D) -> dict[str, list[float]]:
    shares = [miss_shares(x, mixture) for x in samples]
    return {"within 3σ %": [100 * m.near for m in shares], "3σ to 6σ %": [100 * m.loose for m in shares],
            "beyond 6σ %": [100 * m.between for m in shares]}


def miss_rows(runs: Sequence[ToyRun], seeds: Sequence[int] = (0, 1, 2, 3, 4), n: int = 2500,
              digits: int = 2) -> list[dict[str, Any]]:
    """Where the samples lie (see :func:`ragteach.metrics.modes.miss_shares`), one row per (method, mixture)
    of ``runs`` and one for ``n`` real samples per seed of each mixture: mean ± 95 % t-interval in %.
    Each row also keeps the per-run values under ``"values"`` for :func:`miss_verdict`."""
    groups = _by_method_and_mixture(runs)
    mixtures = {r.mixture: r.data for r in runs}
    rows = []
    for (method, mixture), rs in groups.items():
        rows.append((method, mixture, _miss_values([r.sample(n) for r in rs], mixtures[mixture])))
    for name, mix in mixtures.items():
        real = [mix.sample(n, torch.Generator().manual_seed(s)) for s in seeds]
        rows.append(("real data", name, _miss_values(real, mix)))
    return [{"method": method, "mixture": mixture, "runs": len(values["beyond 6σ %"]), "values": values,
             **{col: format_interval(v, digits) for col, v in values.items()}} for method, mixture, values in rows]


def miss_verdict(rows: Sequence[dict[str, Any]], method: str, mixture: str) -> str:
    """Do ``method``'s misses on ``mixture`` lie mostly between modes or just outside them? Read from the
    intervals of :func:`miss_rows`: Welch's interval for the difference of the two shares."""
    row = next((r for r in rows if r["method"] == method and r["mixture"] == mixture), None)
    real = next((r for r in rows if r["method"] == "real data" and r["mixture"] == mixture), None)
    if row is None or real is None:
        raise ValueError(f"rows hold no {method!r} or real-data row for the {mixture}; pass miss_rows(...) of "
                         f"runs that include {method} on the {mixture}")
    v = row["values"]
    d = difference(v["3σ to 6σ %"], v["beyond 6σ %"])
    reading = _word(d.sign, "more of its misses lie between the modes than just outside them",
                    "more of its misses lie just outside a mode than between the modes",
                    "inconclusive: as many misses lie between the modes as just outside them")
    wide = difference(real["values"]["3σ to 6σ %"], v["3σ to 6σ %"])
    modes = _word(wide.sign, "more than real data", "fewer than real data", "no clear difference from real data")
    return (f"{method} on the {mixture}: {format_interval([100 - x for x in v['within 3σ %']], 2)} % of the samples "
            f"miss (real data {format_interval([100 - x for x in real['values']['within 3σ %']], 2)} %); "
            f"{row['3σ to 6σ %']} % lie 3σ to 6σ from a mode (real data {real['3σ to 6σ %']} %: {modes}, "
            f"difference {wide.diff:+.2f} ± {wide.half:.2f} points), {row['beyond 6σ %']} % beyond 6σ (real data "
            f"{real['beyond 6σ %']} %): {reading} (difference {d.diff:+.2f} ± {d.half:.2f} points)")


def rejection_runs(runs: Sequence[ToyRun], n: int = 2500, bound_quantile: float = 1.0,
                   seed: int = 0) -> list[ToyRun]:
    """Each run's final G and D with discriminator rejection sampling (:mod:`ragteach.gan.rejection`): ``n``
    kept samples scored like the run's own, as a new run named ``"<method> + D rejection"``."""
    from ragteach.gan.rejection import rejection_sample

    out = []
    for run in runs:
        started = time.perf_counter()
        result = rejection_sample(*run.networks(), n=n, bound_quantile=bound_quantile, seed=seed)
        stats = mode_stats(result.samples, run.data)
        out.append(ToyRun(f"{run.method} + D rejection", run.mixture, run.seed, steps=[run.steps[-1]],
                          modes=[stats.modes_captured], high_quality=[stats.high_quality],
                          seconds=time.perf_counter() - started, data=run.data, kept=result.kept))
    return out


def rejection_rows(plain: Sequence[ToyRun], cleaned: Sequence[ToyRun]) -> list[dict[str, Any]]:
    """:func:`summary_rows` of the plain runs and their :func:`rejection_runs`, with the share D kept."""
    rows = summary_rows(list(plain) + list(cleaned))
    for row in rows:
        kept = [100 * r.kept for r in cleaned if r.method == row["method"] and r.mixture == row["mixture"]]
        row["D kept %"] = format_interval(kept) if kept else ""
    return rows


def rejection_verdict(plain: Sequence[ToyRun], cleaned: Sequence[ToyRun]) -> str:
    """Per mixture, what rejecting with D changed: the interval of the change in modes and high-quality share."""
    parts = []
    missing = "no plain run on the {} to compare the rejection runs with"
    for mixture, p, c in _paired_by_mixture(plain, cleaned, missing):
        (pm, ph), (cm, ch) = _final(p), _final(c)
        dm, dh = difference(pm, cm), difference(ph, ch)
        parts.append(f"{mixture}: D kept {format_interval([100 * r.kept for r in c])} % of G's draws; modes "
                     f"{_moved(dm)} ({format_interval(pm)} → {format_interval(cm)}), high-quality share "
                     f"{_moved(dh)} ({format_interval(ph)} → {format_interval(ch)} %, "
                     f"difference {dh.diff:+.2f} ± {dh.half:.2f} points)")
    return "; ".join(parts) + "."


def _paired_by_mixture(before: Sequence[ToyRun], after: Sequence[ToyRun],
                       missing: str) -> list[tuple[str, list[ToyRun], list[ToyRun]]]:
    """(mixture, its ``before`` runs, its ``after`` runs) for every mixture of ``after``, in order; a mixture
    without ``before`` runs raises ValueError(``missing`` formatted with the mixture's name)."""
    pairs = []
    for mixture in dict.fromkeys(r.mixture for r in after):
        b = [r for r in before if r.mixture == mixture]
        if not b:
            raise ValueError(missing.format(mixture))
        pairs.append((mixture, b, [r for r in after if r.mixture == mixture]))
    return pairs


def _moved(d: Difference) -> str:
    return _word(d.sign, "rose", "fell", "did not change clearly")


def wobble(run: ToyRun) -> float:
    """Coverage lost during training: the mean over consecutive evaluations of max(0, m_{i−1} − m_i),
    the modes lost between two evaluations. Gains are learning, not instability, so they count 0:
    [6, 7, 8] → 0; [3, 8, 2, 8] → (0 + 6 + 0) / 3 = 2."""
    m = run.modes
    return statistics.fmean(max(0, a - b) for a, b in zip(m[:-1], m[1:])) if len(m) > 1 else 0.0


def stability_rows(runs: Sequence[ToyRun]) -> list[dict[str, Any]]:
    """Per method: final modes and HQ and the wobble, each mean ± 95 % t-interval over seeds."""
    rows = summary_rows(runs)
    for row in rows:
        rs = [r for r in runs if r.method == row["method"] and r.mixture == row["mixture"]]
        row["wobble"] = format_interval([wobble(r) for r in rs], digits=2)
        row["wobble_mean"] = interval([wobble(r) for r in rs])[0]
    return rows


# ----------------------------------------------------------------------------- verdicts, computed
@dataclass(frozen=True)
class Verdict:
    """A verdict word ('holds', 'does not hold', 'mixed', 'inconclusive') and the measured reason."""

    word: str
    reason: str

    def __str__(self) -> str:
        return f"{self.word}: {self.reason}"


def _final(runs: Sequence[ToyRun]) -> tuple[list[float], list[float]]:
    return [r.final[0] for r in runs], [100 * r.final[1] for r in runs]


def stability_verdict(plain: Sequence[ToyRun], randomized: Sequence[ToyRun]) -> Verdict:
    """Is randomized training more stable? Three measures, each judged by the 95 % interval of its
    difference (randomized − plain): wobble (lower is better), final modes and final high-quality share
    (higher is better). 'holds' if some measure is clearly better and none clearly worse; 'does not
    hold' if some is clearly worse and none clearly better; 'mixed' if both; else 'inconclusive'."""
    (pm, ph), (rm, rh) = _final(plain), _final(randomized)
    d_wob = difference([wobble(r) for r in plain], [wobble(r) for r in randomized])
    d_modes, d_hq = difference(pm, rm), difference(ph, rh)
    signs = [-d_wob.sign, d_modes.sign, d_hq.sign]            # +1 = better for randomized training
    word = ("mixed" if 1 in signs and -1 in signs else "holds" if 1 in signs
            else "does not hold" if -1 in signs else "inconclusive")
    reason = (f"randomized − plain, {len(randomized)} vs {len(plain)} seeds: wobble {d_wob}, modes {d_modes}, "
              f"high quality {d_hq} points")
    if word == "inconclusive":
        reason += "; smaller differences than these ± cannot be told apart"
    return Verdict(word, reason)


def packing_verdict(gan: Sequence[ToyRun], pac: Sequence[ToyRun], pac_name: str = "PacGAN4",
                    base_name: str = "the GAN") -> str:
    """One sentence comparing packed runs (``pac``) with the runs ``base_name`` names (``gan``, plain by default)
    on one mixture: final modes and high-quality share, each "more"/"fewer" (or "higher"/"lower") only when the
    95 % interval of the difference excludes 0."""
    (gm, gh), (pm, ph) = _final(gan), _final(pac)
    d_modes, d_hq = difference(gm, pm), difference(gh, ph)
    mixture = gan[0].mixture if gan else "?"
    return (f"{pac_name} vs {base_name} ({mixture}, {len(pac)} and {len(gan)} seeds): modes {format_interval(pm)} vs "
            f"{format_interval(gm)}, {_word(d_modes.sign, 'more', 'fewer')}; high quality {format_interval(ph)} vs "
            f"{format_interval(gh)} %, {_word(d_hq.sign, 'higher', 'lower')}.")


def collapse_verdict(collapsing: Sequence[ToyRun], cured: Sequence[ToyRun], n_modes: int) -> str:
    """At most 25 words: did ``collapsing`` cover at most 3/8 of the ``n_modes`` modes (mode collapse), and did
    ``cured`` cover clearly more (the Welch interval of the difference excludes 0), within one mode of all
    (cured)? From the modes' intervals over seeds."""
    (cm, _), (um, _) = _final(collapsing), _final(cured)
    d = difference(cm, um)
    collapsed = statistics.fmean(cm) <= 3 * n_modes / 8
    word = (": cured" if collapsed and d.sign > 0 and statistics.fmean(um) >= n_modes - 1 else
            _word(d.sign, ": clearly more", ": clearly fewer", ": not clearly more"))
    return (f"{collapsing[0].mixture}: {collapsing[0].method} covers {format_interval(cm)} of {n_modes} modes"
            f"{' (mode collapse)' if collapsed else ''}; {cured[0].method} covers {format_interval(um)}{word}.")


def late_d_accuracy(run: ToyRun) -> float:
    """D's mean accuracy (in %) over the second half of a run's evaluations: where it settled."""
    if not run.d_accuracy:
        raise ValueError(f"run {run.method}/{run.mixture}/seed {run.seed} recorded no D accuracy")
    late = run.d_accuracy[len(run.d_accuracy) // 2:]
    return 100 * statistics.fmean(late)


#: The chance band, defined once: a D whose accuracy lies within 50 ± 5 % tells real from generated no better than
#: a coin that is right 55 % of the time, too little to give G a direction (each evaluation's own sampling error on
#: 2 x 2,500 samples is about 0.7 points, so the band is about learning, not noise).
CHANCE_BAND = 5.0


def discriminator_verdict(runs: Sequence[ToyRun], margin: float = CHANCE_BAND) -> str:
    """Whether D stayed at chance over the second half of training, from the interval over seeds, beside the
    generator's final high-quality share. "at chance": the interval lies within 50 ± ``margin`` %; "above
    chance": it lies above 50 + ``margin``; otherwise "inconclusive". A D at chance while G's samples are
    plainly wrong (low high-quality share) is a D that cannot see the difference, so G gets no direction."""
    if not runs:
        raise ValueError("need at least one run")
    acc = [late_d_accuracy(r) for r in runs]
    mean, half = interval(acc)
    if 50 - margin <= mean - half and mean + half <= 50 + margin:
        word = "at chance"
    elif mean - half > 50 + margin:
        word = "above chance"
    else:
        word = f"inconclusive (crosses 50 ± {margin:g} %)"
    _, hq = _final(runs)
    return (f"{runs[0].method} on the {runs[0].mixture}: D's late accuracy {format_interval(acc)} % is {word}; "
            f"G's high-quality share {format_interval(hq)} %.")


def target_verdict(runs: Sequence[ToyRun], min_modes: float, min_hq: float) -> str:
    """Whether the mean final modes and high-quality % reach the given targets, said with the numbers."""
    modes, hq = _final(runs)
    m, h = statistics.fmean(modes), statistics.fmean(hq)
    reached = "reaches" if m >= min_modes and h >= min_hq else "does not reach"
    return (f"{runs[0].method} on the {runs[0].mixture}: mean {m:.1f} modes and {h:.1f} % high quality over "
            f"{len(runs)} seeds {reached} the target of {min_modes:g} modes and {min_hq:g} %.")


def noise_verdict(samples: torch.Tensor, mixture: GaussianMixture2D, seed: int = 0) -> Verdict:
    """Did a GAN trained on N(0, I) 'data' learn the noise or the ``mixture`` it was never shown? Scores the
    samples' high-quality share on the mixture beside that of as many randn points and real mixture points:
    it imitates noise if its share is nearer randn's than the real points'."""
    g = torch.Generator().manual_seed(seed)
    hq = {name: mode_stats(x, mixture).high_quality
          for name, x in [("G", samples), ("randn", torch.randn(len(samples), 2, generator=g)),
                          ("real", mixture.sample(len(samples), g))]}
    mean, std = samples.mean(0), samples.std(0)
    reason = (f"high quality on the {mixture.name}: G {100 * hq['G']:.1f} %, randn {100 * hq['randn']:.1f} %, "
              f"real points {100 * hq['real']:.1f} %; G's mean {[round(v, 2) for v in mean.tolist()]}, "
              f"std {[round(v, 2) for v in std.tolist()]} (randn: 0, 1)")
    if abs(hq["G"] - hq["randn"]) < abs(hq["G"] - hq["real"]):
        return Verdict(f"it imitates the noise it was fed, not the {mixture.name}", reason)
    return Verdict(f"its samples score nearer the {mixture.name}'s points than noise does", reason)


def realtime_verdict(ms_per_1000: float, train_seconds: float, steps: int, frame_ms: float = 1000 / 30) -> Verdict:
    """Sampling counts as real time if 1,000 samples take less than one video frame (``frame_ms``)."""
    fast = ms_per_1000 < frame_ms
    return Verdict(f"sampling: {'real time' if fast else 'slower than real time'}; training: {train_seconds:.0f} s",
                   f"1,000 samples in {ms_per_1000:.1f} ms ({'under' if fast else 'over'} one {frame_ms:.0f} ms "
                   f"frame); {steps} training steps took {train_seconds:.0f} s")


def little_data_verdict(n_train: int, fake_confident: float, real_confident: float, margin: float = 0.1) -> Verdict:
    """Confident rate of generated vs held-out real digits: 'close to real' within ``margin``."""
    gap = real_confident - fake_confident
    word = "close to real digits" if gap <= margin else "below real digits"
    return Verdict(f"with {n_train:,} images: {word}",
                   f"{100 * fake_confident:.0f} % of samples judged confidently vs {100 * real_confident:.0f} % of "
                   f"real digits ({'within' if gap <= margin else 'more than'} {100 * margin:.0f} points); "
                   f"less data is tested in notebook 02")


# PacGAN paper (Lin et al. 2018), Table 1: mean over 10 runs, 400 epochs of 100,000 points each.
#: Notebook 01's recipe for the toy GAN, also notebook 06's (chosen on tuning seeds by benchmarks/toy_gan_recipes.py,
#: row "notebook 01"): lr 1e-3, falling geometrically to 1e-5 over the last 25 % of 5,000 steps; Adam betas (0.5, 0.9);
#: D judges 128 examples per step (notebook 01 trains the ring a fifth longer). Pass it to train_toy_runs with
#: ``cfg=toy_config(pack, TOY_D_HIDDEN)``.
TOY_RECIPE: dict[str, Any] = dict(steps=5000, batch_size=128, lr_g=1e-3, lr_d=1e-3, sharpen_lr=1e-5,
                                  sharpen_fraction=0.25, lr_decay="exp", betas=(0.5, 0.9))
TOY_D_HIDDEN = (256, 256)   # D's hidden layers in that recipe (G keeps three of 128)
#: The same recipe with a small D (one hidden layer of 128) and DCGAN's Adam betas (0.5, 0.999): it collapses on
#: the ring (benchmarks/toy_gan_recipes.py, row "collapse"). Pass ``cfg=toy_config(1, COLLAPSE_D_HIDDEN)``.
COLLAPSE_D_HIDDEN = (128,)
COLLAPSE_RECIPE: dict[str, Any] = {**TOY_RECIPE, "betas": (0.5, 0.999)}

PUBLISHED = [
    {"method": "GAN (PacGAN paper)", "mixture": "ring", "modes": "6.3", "high quality %": "98.2"},
    {"method": "PacGAN4 (PacGAN paper)", "mixture": "ring", "modes": "7.8", "high quality %": "95.9"},
    {"method": "GAN (PacGAN paper)", "mixture": "grid", "modes": "17.3", "high quality %": "94.8"},
    {"method": "PacGAN4 (PacGAN paper)", "mixture": "grid", "modes": "24.8", "high quality %": "93.6"},
]


# ----------------------------------------------------------------------------- digits (notebook 02)
def digits_config() -> GANConfig:
    """A small MLP GAN for 8x8 digits (32-dim noise; G 128-256, D 256-128): about 3x cheaper per step
    than the article's sizes, so that many fixed-seed runs fit in a few CPU minutes."""
    return GANConfig(z_dim=32, data_dim=64, g_hidden=(128, 256), d_hidden=(256, 128), g_out="tanh")


def digits_methods() -> dict[str, dict[str, Any]]:
    """The methods compared in notebook 02: GANTrainer arguments plus initial knob values."""
    from ragteach.gan import augment

    def diffaug(x, g):
        return augment.diff_augment(x, generator=g)

    def article_prep(x, g):
        return augment.article_preparation(x, generator=g)

    return {
        "GAN (non-saturating)": {},
        "article's loss, λ=0": {"g_loss": "article", "lam": 0.0},
        "article's loss, λ=0.01, random x": {"g_loss": "article", "lam": 0.01},
        "article's loss, λ=0.1, random x": {"g_loss": "article", "lam": 0.1},
        "article's loss, λ=0.1, nearest x": {"g_loss": "article", "lam": 0.1, "pairing": "nearest"},
        "RaSGAN": {"objective": "relativistic"},
        "DiffAugment": {"augment": diffaug},
        "article's real-only augmentation": {"real_transform": article_prep},
    }


def digits_gan(x_train: torch.Tensor, seed: int = 0, lr: float = 1e-3, batch_size: int = 64,
               lam: float | None = None, pairing: str = "random", **trainer_kw: Any) -> tuple[GANTrainer, TrainingSession]:
    """A digits GAN and its session; ``lam``/``pairing`` add article 001's distance term (with x_train)."""
    trainer = GANTrainer(digits_config(), tensor_sampler(x_train), batch_size=batch_size, seed=seed,
                         distance_data=x_train, **trainer_kw)
    session = TrainingSession(trainer, gan_knobs(lr_g=lr, lr_d=lr, lam=lam, pairing=pairing, lam_max=1.0),
                              state={"gan": trainer})
    return trainer, session


def digit_scores(samples: torch.Tensor, judge: Any, x_train: torch.Tensor, x_held_out: torch.Tensor,
                 real_diversity: float) -> dict[str, float]:
    """Confident rate, classes covered, diversity relative to real digits, data-copying score (higher: copying)."""
    from ragteach.metrics.samples import copying_score, diversity, score_samples

    s = score_samples(judge, samples)
    return {"confident %": 100 * s.confident_rate, "classes": float(s.classes_covered),
            "diversity / real": diversity(samples) / real_diversity,
            "copying": copying_score(samples, x_train, x_held_out)}
